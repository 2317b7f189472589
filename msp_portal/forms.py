"""Form plumbing shared by every app: crispy helper without a form tag, and service errors on forms."""

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError

from .limits import people_limits


class PortalForm(forms.Form):
    """A use-case form: the template owns <form>, csrf and hx-* attributes; the server, not the
    browser, says each field's limits (msp_portal.limits)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            people_limits(field)
        self.helper = FormHelper()
        self.helper.form_tag = False
        # The template's {% csrf_token %} is the form's one token; crispy would add a second.
        self.helper.disable_csrf = True


def form_add_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's refusal on the form: on its field where it names one, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        for message in error.messages:
            form.add_error(None, message)


def form_errors_text(form: forms.Form) -> str:
    """A refused form's errors as one message, for a page that shows the form's result elsewhere."""
    return " ".join(message for messages in form.errors.values() for message in messages)
