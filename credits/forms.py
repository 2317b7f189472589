"""Use-case forms of credits: their cleaned_data keys are the services' arguments."""

import uuid
from decimal import Decimal

from django import forms

from msp_portal.forms import PortalForm

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class _OnceForm(PortalForm):
    """A write form carrying a key minted when the page was drawn: submitting twice grants once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def clean_idempotency_key(self) -> str:
        key = "".join(c for c in self.cleaned_data["idempotency_key"] if c.isalnum())
        return f"web:{self.prefix}:{key}" if key else ""


class CreditGrantForm(_OnceForm):
    amount = forms.DecimalField(
        label="Credits to grant",
        min_value=Decimal("0.01"),
        **AMOUNT,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        help_text="For example the purchase order; customer administrators see it in the history.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "grant")
        super().__init__(*args, **kwargs)


class CreditAdjustForm(_OnceForm):
    amount = forms.DecimalField(
        label="Adjustment (+ or −)",
        **AMOUNT,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        help_text="Negative takes credits away; the ledger keeps both entries.",
    )
    reason = forms.CharField(label="Reason", max_length=500)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "adjust")
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(
                "An adjustment of 0 changes nothing; enter a positive or negative amount."
            )
        return amount


class HardLimitForm(PortalForm):
    hard_limit = forms.BooleanField(required=False)
