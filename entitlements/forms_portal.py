"""Forms of the end-user portal and of request handling; cleaned_data keys are service arguments."""

import re
import secrets
from decimal import Decimal

from crispy_forms.layout import Layout
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from accounts.models import User
from catalog.models import Question, Service
from catalog.questions import answers_from_post
from msp_portal.forms import PortalForm
from msp_portal.limits import people_limits

from .models import RequestStatus

# Far above any real order; it keeps a typo like 1000000 from reaching the database.
QUANTITY_CEILING = 10_000
JUSTIFICATION_MAX = 2_000


class RequestForm(PortalForm):
    """A request for one service: a quantity within its limits and, when it costs credits, a reason.

    The bounds mirror the service's own check so that bad input is refused before anything is
    written; request_submit checks them again inside its transaction. A one-time key drawn with
    the page goes along, so posting the same form twice makes one request.
    """

    quantity = forms.IntegerField(label="Quantity")
    justification = forms.CharField(
        label="Justification",
        required=False,
        max_length=JUSTIFICATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # A plain Field: a crafted value (NUL bytes, any length) is dropped by the clean, not an error.
    submission_key = forms.Field(widget=forms.HiddenInput, required=False)
    # Whom the request is for: empty for the requester, else a colleague picked with the search
    # (drawn by the template, not by crispy); the queryset is the requester's own customer's.
    beneficiary = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": "Pick the colleague the request is for from the search: only active "
            "people of your own company can be chosen.",
        },
    )

    def __init__(
        self,
        *args,
        service: Service,
        questions: list[Question] | None = None,
        colleagues=None,
        **kwargs,
    ):
        kwargs.setdefault("initial", {}).setdefault("submission_key", secrets.token_urlsafe(24))
        super().__init__(*args, **kwargs)
        self.service = service
        self.questions = questions or []
        self.answer_errors: dict[str, str] = {}
        self.answers_problem = ""
        if colleagues is not None:
            self.fields["beneficiary"].queryset = colleagues
        # The colleague picker is drawn by the template; crispy draws the rest.
        self.helper.layout = Layout("quantity", "justification", "submission_key")
        low = max(service.min_quantity or 1, 1)
        high = service.max_quantity or QUANTITY_CEILING
        self.fields["quantity"] = forms.IntegerField(
            label="Quantity",
            min_value=low,
            max_value=high,
            initial=low,
            help_text=_quantity_help(service),
            error_messages={
                "required": "Enter how many you need.",
                "invalid": "Enter a whole number, such as 1 or 2.",
                "min_value": (
                    f"Request at least {low} of {service.name}."
                    if low > 1
                    else "Request at least 1."
                ),
                "max_value": (
                    f"You can request at most {high} of {service.name}."
                    if service.max_quantity
                    else f"You can request at most {QUANTITY_CEILING:,} at a time; ask your "
                    "administrator for larger orders."
                ),
            },
            widget=forms.NumberInput(attrs={"min": low, "max": high, "inputmode": "numeric"}),
        )
        people_limits(self.fields["quantity"])
        justification = self.fields["justification"]
        justification.required = self.justification_required
        justification.error_messages["required"] = (
            "Say why you need it: this service costs credits, and your administrator reads this "
            "when deciding."
        )
        justification.help_text = (
            "Required: this service costs credits. Your administrator reads it when deciding."
            if self.justification_required
            else "Optional: anything your administrator should know."
        ) + f" At most {JUSTIFICATION_MAX:,} characters."

    def clean(self) -> dict:
        data = super().clean()
        # The answers go to request_submit as plain data; it checks them against the service's
        # questions (catalog.questions.answers_clean) and refuses what doesn't fit.
        data["answers"] = answers_from_post(self.data, self.questions) if self.is_bound else {}
        return data

    def add_submit_error(self, error: ValidationError) -> None:
        """Show request_submit's refusal: an answer's problem next to its question, the rest on
        its field or on top."""
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for key, messages in error.message_dict.items():
            if key.startswith("q_"):
                self.answer_errors[key] = " ".join(messages)
            else:
                self.add_error(
                    key if key in self.fields and key != NON_FIELD_ERRORS else None, messages
                )
        if self.answer_errors:
            # Said once at the top of the form (not a non-field error, which crispy repeats).
            self.answers_problem = (
                "Some answers need your attention: see the questions marked below."
            )

    def clean_submission_key(self) -> str:
        # Only what the page draws (URL-safe base64); anything else counts as no key.
        key = self.cleaned_data["submission_key"]
        return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key) else ""

    @property
    def justification_required(self) -> bool:
        """A service that costs credits needs a reason; a free one doesn't."""
        return self.service.price > 0

    def total(self) -> Decimal | None:
        """price × quantity for the quantity entered (or the initial one), None if unreadable."""
        quantity = self.data.get("quantity") if self.is_bound else self.fields["quantity"].initial
        try:
            quantity = int(str(quantity).strip())
        except (TypeError, ValueError):
            return None
        if quantity < 1 or quantity > QUANTITY_CEILING:
            return None
        return (self.service.price * quantity).quantize(Decimal("0.01"))


def _quantity_help(service: Service) -> str:
    low, high = service.min_quantity, service.max_quantity
    if low and high:
        return f"Between {low} and {high}." if low != high else f"Exactly {low}."
    if low:
        return f"At least {low}."
    if high:
        return f"Up to {high}."
    return "As many as you need."


class TransitionForm(PortalForm):
    """Move a request to another status, with a note the requester will read."""

    status = forms.ChoiceField(
        choices=RequestStatus.choices,
        error_messages={
            "required": "Choose what happens to the request.",
            "invalid_choice": "That status does not exist; use one of the buttons.",
        },
    )
    note = forms.CharField(
        required=False,
        max_length=JUSTIFICATION_MAX,
        error_messages={
            "max_length": f"Keep the note to at most {JUSTIFICATION_MAX:,} characters; this one "
            "has %(show_value)d. Nothing was changed."
        },
    )
