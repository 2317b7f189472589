"""Form plumbing shared by every app: crispy helper without a form tag, and service errors on forms."""

from html import escape

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import mark_safe


class PortalForm(forms.Form):
    """A use-case form: the template owns <form>, csrf and hx-* attributes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


def form_add_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on its field where it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        for message in error.messages:
            form.add_error(None, message)


class Select(forms.Select):
    """forms.Select drawn in Python: the same HTML as Django's widget templates, which render
    each <option> through a template of its own (a hundred options cost milliseconds).

    Every name, value and label goes through html.escape; attributes follow Django's rules (True
    is a bare attribute, False and None leave it out).
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(str(widget["name"]))}"{_attrs(widget["attrs"])}>']
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(f'<optgroup label="{escape(str(group))}">')
            parts.extend(
                f'<option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
                f"{escape(str(option['label']))}</option>"
                for option in options
            )
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))


def _attrs(attrs: dict) -> str:
    return "".join(
        f" {escape(str(key))}" if value is True else f' {escape(str(key))}="{escape(str(value))}"'
        for key, value in attrs.items()
        if value is not False and value is not None
    )
