"""Form limits said by the server, in words (issue 19): a browser left to enforce a limit does it
silently or in its own words.

- Text: no maxlength attribute, at which a browser cuts pasted text without a word; a text too
  long is refused with the limit and its length.
- Numbers: a text input with a numeric keyboard instead of <input type="number">, which drops
  letters and posts an empty value (saved as "nothing") and refuses min, max and step in the
  browser's words; each limit is refused with what to type instead.

PortalForm applies people_limits to every field; a form adding a field later applies it too.
"""

from decimal import Decimal

from django import forms


def _default(field: forms.Field, code: str) -> bool:
    """Whether the field's message for code is Django's own (the form set none of its own)."""
    for cls in type(field).__mro__:
        default = getattr(cls, "default_error_messages", {}).get(code)
        if default is not None:
            return field.error_messages.get(code) == default
    return code not in field.error_messages


def _plain(value) -> str:
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:,f}"
    return f"{value:,}"


def people_limits(field: forms.Field) -> forms.Field:
    """Take field's limits from the browser and give them messages that say what to do."""
    if isinstance(field, forms.CharField) and field.max_length is not None:
        field.widget.attrs.pop("maxlength", None)
        if _default(field, "max_length"):
            field.error_messages["max_length"] = (
                f"Keep it to at most {field.max_length:,} characters; this has %(show_value)d."
            )
        if isinstance(field.widget, forms.Textarea) and "characters" not in str(field.help_text):
            limit = f"At most {field.max_length:,} characters."
            field.help_text = f"{field.help_text} {limit}".strip()
    if isinstance(field, forms.IntegerField):  # DecimalField is one too
        _number(field)
    return field


def _number(field: forms.IntegerField) -> None:
    decimal = isinstance(field, forms.DecimalField)
    if isinstance(field.widget, forms.NumberInput):
        attrs = {k: v for k, v in field.widget.attrs.items() if k not in ("min", "max", "step")}
        attrs.setdefault("inputmode", "decimal" if decimal else "numeric")
        attrs.setdefault("autocomplete", "off")
        widget = forms.TextInput(attrs=attrs)
        widget.is_required = field.required
        field.widget = widget
    messages = {
        "invalid": "Enter a number, such as 100 or 12.50."
        if decimal
        else "Enter a whole number, such as 1 or 25.",
    }
    if field.min_value is not None:
        messages["min_value"] = f"Enter {_plain(field.min_value)} or more."
    if field.max_value is not None:
        messages["max_value"] = f"Enter {_plain(field.max_value)} or less."
    if decimal and field.max_digits is not None:
        whole = field.max_digits - (field.decimal_places or 0)
        below = f"Enter a number below {10**whole:,}."
        messages["max_digits"] = messages["max_whole_digits"] = below
    if decimal and field.decimal_places is not None:
        example = ", such as 12.50" if field.decimal_places == 2 else ""
        messages["max_decimal_places"] = (
            f"Use at most {field.decimal_places} decimal places{example}."
        )
    for code, message in messages.items():
        if _default(field, code):
            field.error_messages[code] = message
