"""The fulfilment settings form of one service."""

from django import forms

from itsm_sync.sources import (
    IMPACTS,
    PRIORITIES,
    REPORTED_SOURCES,
    SERVICE_TYPES,
    URGENCIES,
)
from msp_portal.forms import PortalForm

from .models import FulfilmentMode


def _choices(values):
    return [(v, v) for v in values]


class FulfilmentSettingsForm(PortalForm):
    mode = forms.ChoiceField(label="Fulfilled as", choices=FulfilmentMode.choices)
    work_order_type = forms.ChoiceField(
        label="Work order type", choices=_choices(("General", "Project")), initial="General"
    )
    priority = forms.ChoiceField(choices=_choices(PRIORITIES), initial="Medium")
    template_id = forms.CharField(
        label="Remedy template id", required=False, max_length=60, help_text="Optional."
    )
    summary_pattern = forms.CharField(
        max_length=200,
        initial="{service} for {beneficiary}",
        help_text="The work order's summary: {service}, {beneficiary}, {requester}, {request}.",
    )
    field_map = forms.CharField(
        label="Questions in work-order fields",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "One per line: question | WO Type Field number | label in Remedy, e.g. "
            "“Cost centre | 1 | Cost centre”. Every answer is in the description as well."
        ),
    )
    impact = forms.ChoiceField(choices=_choices(IMPACTS), initial="4-Minor/Localized")
    urgency = forms.ChoiceField(choices=_choices(URGENCIES), initial="4-Low")
    service_type = forms.ChoiceField(
        choices=_choices(SERVICE_TYPES), initial="User Service Request"
    )
    reported_source = forms.ChoiceField(choices=_choices(REPORTED_SOURCES), initial="Self Service")

    def clean_field_map(self) -> list[dict]:
        rows = []
        for number, line in enumerate(self.cleaned_data["field_map"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) not in (2, 3) or not parts[1].isdigit():
                raise forms.ValidationError(
                    f"Line {number} (“{line.strip()}”) is not “question | field number | label”: "
                    "write the question, a bar, the WO Type Field number, and optionally a bar "
                    "and its label."
                )
            rows.append(
                {
                    "question": parts[0],
                    "field": int(parts[1]),
                    "label": parts[2] if len(parts) == 3 else "",
                }
            )
        return rows


def field_map_text(rows: list[dict]) -> str:
    return "\n".join(f"{r['question']} | {r['field']} | {r['label']}" for r in rows)
