"""Forms of approvals: a decision, with its note."""

from django import forms

from msp_portal.forms import PortalForm

from .models import LinkDecision
from .services import NOTE_MAX


class DecisionForm(PortalForm):
    decision = forms.ChoiceField(
        choices=LinkDecision.choices,
        error_messages={
            "required": "Choose Approve or Reject.",
            "invalid_choice": "Choose Approve or Reject.",
        },
    )
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": f"Keep the note to {NOTE_MAX:,} characters."},
    )


class LinkNoteForm(PortalForm):
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": f"Keep the note to {NOTE_MAX:,} characters."},
    )
