"""Form plumbing: a refused form's errors told as one message."""

from django import forms
from django.core.exceptions import ValidationError

from msp_portal.forms import form_errors_text


class _Form(forms.Form):
    name = forms.CharField(error_messages={"required": "Give it a name."})
    count = forms.IntegerField(error_messages={"invalid": "Enter a whole number."})

    def clean(self):
        raise ValidationError("Nothing was changed; try again.")


def test_every_error_of_the_form_is_in_the_message_field_by_field():
    form = _Form({"count": "many"})
    assert not form.is_valid()
    assert form_errors_text(form) == (
        "Give it a name. Enter a whole number. Nothing was changed; try again."
    )


def test_a_valid_form_says_nothing():
    form = forms.Form({})
    assert form.is_valid()
    assert form_errors_text(form) == ""
