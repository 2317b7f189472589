"""Forms of the ITSM sync pages: starting and approving runs, and the directory filters."""

from __future__ import annotations

from django import forms

from msp_portal.fast_html import Select
from msp_portal.forms import PortalForm

from .models import CompanyType, RecordStatus, SyncKind, SyncRun, SyncStatus

ALL_KINDS = "all"
KIND_CHOICES = [(ALL_KINDS, "Companies, then people"), *SyncKind.choices]

# The selection values of the CTM:People "Client Type" field in AR System.
CLIENT_TYPES = (
    "Office-Based Employee",
    "Field-Based Employee",
    "Home-Based Employee",
    "Contractor",
    "Customer",
    "Prospect",
    "Vendor",
)

# "Present in source": the selectors' `active` argument (None = either).
PRESENT = {"": True, "gone": False, "all": None}
PRESENT_CHOICES = [
    ("", "In the source"),
    ("gone", "No longer in the source"),
    ("all", "Present or not"),
]

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


class _DirectoryFilterForm(PortalForm):
    query = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "class": "form-control", "autocomplete": "off"}
        ),
    )
    present = forms.ChoiceField(
        label="In the source",
        choices=PRESENT_CHOICES,
        required=False,
        widget=Select(attrs=SELECT),
    )

    def filters(self) -> dict:
        """The valid filters as selector arguments; a stale or crafted value is ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        result = {key: value for key, value in data.items() if value and key != "present"}
        if "query" in result:
            result["query"] = result["query"].strip()
        result["active"] = PRESENT.get(data.get("present") or "", True)
        return result


class CompanyFilterForm(_DirectoryFilterForm):
    company_type = forms.ChoiceField(
        label="Type",
        choices=[("", "All types"), *CompanyType.choices],
        required=False,
        widget=Select(attrs=SELECT),
    )
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *RecordStatus.choices],
        required=False,
        widget=Select(attrs=SELECT),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["query"].widget.attrs["placeholder"] = "Name, abbreviation or entry ID"


class PersonFilterForm(_DirectoryFilterForm):
    """People filters; organization and department options are those of the chosen company."""

    company = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, widget=Select(attrs=SELECT)
    )
    organization = forms.ChoiceField(required=False, widget=Select(attrs=SELECT))
    department = forms.ChoiceField(required=False, widget=Select(attrs=SELECT))
    client_type = forms.ChoiceField(
        label="Type",
        choices=[("", "All client types"), *((t, t) for t in CLIENT_TYPES)],
        required=False,
        widget=Select(attrs=SELECT),
    )
    profile_status = forms.ChoiceField(
        label="Status",
        choices=[("", "All statuses"), *RecordStatus.choices],
        required=False,
        widget=Select(attrs=SELECT),
    )

    def __init__(
        self,
        *args,
        companies: list[tuple[int, str]],
        places: list[tuple[str, str]] | None = None,
        **kwargs,
    ):
        """companies: (pk, name) to choose from; places: the chosen company's
        (organization, department) pairs, or None before a company is chosen."""
        super().__init__(*args, **kwargs)
        self.fields["query"].widget.attrs["placeholder"] = "Name, e-mail, login or Person ID"
        self.fields["company"].choices = [("", "All companies"), *companies]
        self.has_company = places is not None
        places = places or []
        organizations = sorted({org for org, _dept in places if org})
        organization = self.data.get("organization", "") if self.is_bound else ""
        if organization not in organizations:
            organization = ""
        departments = sorted(
            {dept for org, dept in places if dept and (not organization or org == organization)}
        )
        self.fields["organization"].choices = [
            ("", "All organizations" if self.has_company else "Choose a company first"),
            *((o, o) for o in organizations),
        ]
        self.fields["department"].choices = [
            ("", "All departments" if self.has_company else "Choose a company first"),
            *((d, d) for d in departments),
        ]
        if not self.has_company:
            for name in ("organization", "department"):
                self.fields[name].widget.attrs["disabled"] = True

    def filters(self) -> dict:
        result = super().filters()
        if "company" in result:
            result["company_id"] = result.pop("company")
        return result
