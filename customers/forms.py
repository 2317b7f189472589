"""Use-case forms of customers."""

from django import forms

from msp_portal.forms import PortalForm

CONFIRMATION_PHRASE = "ENABLE MSP MODE"


class MspEnableForm(PortalForm):
    confirmation = forms.CharField(
        label=f"Type {CONFIRMATION_PHRASE} to confirm",
        max_length=40,
        help_text="MSP mode can't be switched off again.",
    )

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != CONFIRMATION_PHRASE:
            raise forms.ValidationError(
                f"Type {CONFIRMATION_PHRASE} exactly (in capitals) to switch MSP mode on."
            )
        return value


class MspRequestForm(PortalForm):
    note = forms.CharField(
        label="Note for the operator",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )
