"""A service's fulfilment settings, checked with the ITSM when saved (R4)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.models import Service
from itsm_sync.sources import ARRestSource, SourceError
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError

from .. import itsm
from ..models import (
    FulfilmentMode,
    FulfilmentSettings,
)
from .common import (
    MAX_TYPE_FIELD,
    _require_catalog_admin,
)


def fulfilment_settings_for(service: Service) -> FulfilmentSettings:
    """The service's settings, or unsaved defaults (handled in the portal)."""
    found = FulfilmentSettings.objects.filter(service=service).first()
    return found or FulfilmentSettings(service=service)


def field_map_clean(rows: list[dict]) -> list[dict]:
    """The mapping rows, each a question label, a `WO Type Field` number and its label."""
    cleaned, used = [], set()
    for row in rows:
        question = str(row.get("question") or "").strip()
        label = str(row.get("label") or "").strip() or question
        try:
            number = int(row.get("field"))
        except (TypeError, ValueError):
            raise DomainError(
                f"Give the WO Type Field number for “{question}” (1 to {MAX_TYPE_FIELD})."
            ) from None
        if not question:
            raise DomainError(f"WO Type Field {number} is mapped to no question: name one.")
        if not 1 <= number <= MAX_TYPE_FIELD:
            raise DomainError(
                f"WO Type Field {number} does not exist: use a number from 1 to {MAX_TYPE_FIELD}."
            )
        if number in used:
            raise DomainError(f"WO Type Field {number} is mapped twice: map one question to it.")
        used.add(number)
        cleaned.append({"question": question, "field": number, "label": label[:100]})
    return cleaned


def _fields_missing(client: ARRestSource, form: str, names: list[str]) -> list[str]:
    """Which of names the ITSM form lacks: AR answers 314 naming the first unknown field."""
    missing, asked = [], list(names)
    while asked:
        try:
            client.find_entries(form, "'Request ID' = \"\"", asked, limit=1)
            return missing
        except SourceError as exc:
            if exc.ar_number != 314:
                raise
            # The longest name the message holds: "WO Type Field 11" holds "WO Type Field 1".
            named = [n for n in asked if n in str(exc)]
            name = max(named, key=len) if named else None
            if name is None:
                return missing + asked
            missing.append(name)
            asked.remove(name)
    return missing


@transaction.atomic
def fulfilment_settings_save(
    *,
    actor: User,
    service: Service,
    mode: str,
    work_order_type: str = "General",
    priority: str = "Medium",
    template_id: str = "",
    summary_pattern: str = "{service} for {beneficiary}",
    field_map: list[dict] | None = None,
    impact: str = "4-Minor/Localized",
    urgency: str = "4-Low",
    service_type: str = "User Service Request",
    reported_source: str = "Self Service",
    check_itsm: bool = True,
) -> FulfilmentSettings:
    """Say how a service's requests are fulfilled; every mapped work-order field must exist on
    the ITSM's work-order form (asked of the ITSM server, which answers 314 for an unknown one)."""
    _require_catalog_admin(actor)
    found = FulfilmentSettings.objects.select_for_update().filter(service=service).first()
    row = found or FulfilmentSettings(service=service)
    before = {"mode": row.mode, "field_map": row.field_map} if found else None
    try:
        summary_pattern.format(service="s", beneficiary="b", requester="r", request="1")
    except (KeyError, IndexError, ValueError):
        raise DomainError(
            "The summary pattern may use {service}, {beneficiary}, {requester} and {request} "
            "only, each in braces."
        ) from None
    row.mode = mode
    row.work_order_type, row.priority, row.template_id = work_order_type, priority, template_id
    row.summary_pattern = summary_pattern.strip()
    row.field_map = field_map_clean(field_map or [])
    row.impact, row.urgency = impact, urgency
    row.service_type, row.reported_source = service_type, reported_source
    row.updated_at, row.updated_by = timezone.now(), actor
    row.full_clean(exclude=["service"])
    asked = set(service.questions.values_list("label", flat=True))
    unknown = [entry["question"] for entry in row.field_map if entry["question"] not in asked]
    if unknown:
        raise DomainError(
            f"{service.name} asks no question “{unknown[0]}”: map its questions as they are "
            f"labelled ({', '.join(sorted(asked)) or 'it has none yet: add them first'})."
        )
    if check_itsm and mode == FulfilmentMode.WORK_ORDER and row.field_map:
        names = [
            name
            for entry in row.field_map
            for name in (f"WO Type Field {entry['field']}", f"WO Type Field {entry['field']} Label")
        ]
        try:
            with itsm.itsm_client() as client:
                missing = _fields_missing(client, itsm.WORK_ORDER_FORM, names)
        except SourceError as exc:
            raise DomainError(
                f"The mapped fields could not be checked with the ITSM: {exc} Try again once it "
                "answers."
            ) from exc
        if missing:
            raise DomainError(
                f"The ITSM's work-order form has no field {', '.join(missing)} (AR 314): map the "
                "questions to fields the form has."
            )
    row.save()
    audit_record(
        actor=actor,
        action="fulfilment.settings",
        obj=service,
        before=before,
        after={"mode": row.mode, "field_map": row.field_map},
    )
    return row
