"""Forms of the ITSM sync pages: starting and approving runs, and the directory filters."""

from __future__ import annotations

from django import forms

from msp_portal.fast_html import Select
from msp_portal.forms import PortalForm

from .models import SyncKind, SyncRun, SyncStatus

ALL_KINDS = "all"
KIND_CHOICES = [(ALL_KINDS, "Companies, then people"), *SyncKind.choices]

SELECT = {"class": "form-select"}


class RunStartForm(PortalForm):
    kind = forms.ChoiceField(
        choices=KIND_CHOICES,
        error_messages={
            "required": "Choose what to sync: companies, people, or both.",
            "invalid_choice": "Choose what to sync: companies, people, or both.",
        },
    )
    full = forms.BooleanField(
        label="Full reconcile",
        required=False,
        help_text="Read everything and deactivate what the source no longer lists.",
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        help_text="Only work out the plan; change nothing.",
    )


NOUNS = {SyncKind.COMPANIES: ("company", "companies"), SyncKind.PEOPLE: ("person", "people")}


def records(kind: str, count: int) -> str:
    """'1 person', '612 people', '3 companies'."""
    one, many = NOUNS.get(kind, ("record", "records"))
    return f"{count} {one if count == 1 else many}"


class RunFilterForm(PortalForm):
    kind = forms.ChoiceField(
        choices=[("", "Companies and people"), *SyncKind.choices],
        required=False,
        widget=Select(attrs=SELECT),
    )
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *SyncStatus.choices],
        required=False,
        widget=Select(attrs=SELECT),
    )

    def filters(self) -> dict:
        """The valid filters as sync_run_list arguments; a crafted value is ignored."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v}


class RunApproveForm(PortalForm):
    """The typed-out consent to a plan's deactivations: the box says how many there are."""

    confirm = forms.BooleanField(required=True)

    def __init__(self, *args, run: SyncRun, **kwargs):
        super().__init__(*args, **kwargs)
        deactivations = records(run.kind, run.planned_deactivations)
        confirm = self.fields["confirm"]
        confirm.label = f"Yes, deactivate {deactivations} that the source no longer lists"
        confirm.error_messages["required"] = (
            f"Tick the box to confirm that {deactivations} are to be deactivated. "
            "Nothing was changed."
        )
