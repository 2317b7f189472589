"""The token page's form: its cleaned_data keys are api_token_create's arguments."""

from django import forms

from msp_portal.forms import PortalForm

from .services import EXPIRY_DAYS, NAME_MAX


class TokenCreateForm(PortalForm):
    name = forms.CharField(
        max_length=NAME_MAX,
        help_text="What will use it, such as “CRM sync” or “billing”.",
        error_messages={"required": "Name the token after what will use it."},
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        choices=[(d, f"{d} days") for d in EXPIRY_DAYS],
        initial=90,
        error_messages={"invalid_choice": "Choose one of the expiry periods listed."},
    )
    read_only = forms.TypedChoiceField(
        label="Access",
        coerce=lambda v: v == "read",
        choices=[("read", "Read only"), ("write", "Read and write")],
        initial="read",
        widget=forms.RadioSelect,
        help_text="A read-only token can list and read; only a read-write token makes changes.",
    )
    code = forms.CharField(
        label="Code from your authenticator app",
        required=False,
        max_length=40,
        help_text="Staff tokens need your second factor: the current 6-digit code (or a recovery code).",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not staff:
            del self.fields["code"]
