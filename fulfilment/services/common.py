"""What the fulfilment use cases share: the ITSM forms of each mode, the status maps, and
the small steps on a push and its ticket."""

from __future__ import annotations

import logging

from django.utils import timezone

from accounts.models import User
from customers.scope import is_msp_staff
from entitlements.models import RequestStatus
from itsm_sync.sources import ARRestSource, SourceError
from msp_portal.errors import NotAllowed
from msp_portal.tenancy import CHANGE

from .. import itsm
from ..models import (
    FulfilmentMode,
    TicketPush,
)

logger = logging.getLogger(__name__)


# ITSM statuses -> the status the requester sees; Closed keeps whatever final state came before.
WORK_ORDER_STATUS_MAP = {
    "Assigned": RequestStatus.IN_PROGRESS,
    "Pending": RequestStatus.IN_PROGRESS,
    "Waiting Approval": RequestStatus.IN_PROGRESS,
    "Planning": RequestStatus.IN_PROGRESS,
    "In Progress": RequestStatus.IN_PROGRESS,
    "Completed": RequestStatus.FULFILLED,
    "Rejected": RequestStatus.REJECTED,
    "Cancelled": RequestStatus.CANCELLED,
}
INCIDENT_STATUS_MAP = {
    "New": RequestStatus.IN_PROGRESS,
    "Assigned": RequestStatus.IN_PROGRESS,
    "In Progress": RequestStatus.IN_PROGRESS,
    "Pending": RequestStatus.IN_PROGRESS,
    "Resolved": RequestStatus.FULFILLED,
    "Cancelled": RequestStatus.CANCELLED,
}
CLOSED = "Closed"
# A ticket's notes: (form, the field naming the ticket's number, the note's id field, fields).
NOTE_FORMS = {
    FulfilmentMode.WORK_ORDER: (
        itsm.WORK_INFO_FORM,
        "Work Order ID",
        "Work Info ID",
        itsm.WORK_INFO_FIELDS,
    ),
    FulfilmentMode.INCIDENT: (
        itsm.WORK_LOG_FORM,
        "Incident Number",
        "Work Log ID",
        itsm.WORK_LOG_FIELDS,
    ),
}
# The interface form's field that answers the ticket's number.
ANSWER_FIELDS = {
    FulfilmentMode.WORK_ORDER: "WorkOrder_ID",
    FulfilmentMode.INCIDENT: "Incident Number",
}
MAX_TYPE_FIELD = 30


def _require_catalog_admin(actor: User) -> None:
    if not is_msp_staff(actor, CHANGE) or not actor.has_perm("catalog.change_service"):
        raise NotAllowed("Only catalog administrators change how a service is fulfilled.")


def _forms(mode: str) -> tuple[str, str, tuple[str, ...], str]:
    """(interface form, ticket form, fields read back, the ticket's number field)."""
    if mode == FulfilmentMode.INCIDENT:
        return (
            itsm.INCIDENT_CREATE_FORM,
            itsm.INCIDENT_FORM,
            itsm.INCIDENT_FIELDS,
            "Incident Number",
        )
    return (
        itsm.WORK_ORDER_CREATE_FORM,
        itsm.WORK_ORDER_FORM,
        itsm.WORK_ORDER_FIELDS,
        "Work Order ID",
    )


def _ticket_lookup(client: ARRestSource, push: TicketPush) -> dict | None:
    """The ticket carrying this push's reference, if an earlier attempt made it."""
    _create, form, fields, _number = _forms(push.mode)
    q = f"'{itsm.reference_field()}' = \"{push.reference}\""
    found = client.find_entries(form, q, fields, limit=2)
    return found[0] if found else None


def _release(push: TicketPush, *, state: str, error: str, **fields) -> None:
    now = timezone.now()
    values = {"state": state, "last_error": error, "claimed_until": None, "updated_at": now}
    values.update(fields)
    TicketPush.objects.filter(pk=push.pk).update(**values)
    for name, value in values.items():
        setattr(push, name, value)


def _ticket_entry_id(client: ARRestSource, push: TicketPush) -> str:
    if push.ticket_id:
        return push.ticket_id
    _create, form, fields, number_field = _forms(push.mode)
    found = client.find_entries(form, f"'{number_field}' = \"{push.number}\"", fields, limit=1)
    if not found:
        raise SourceError(f"The ITSM has no {push.form_label} {push.number}.")
    return str(found[0].get(fields[0]))


def _ticket_cancel_quietly(push: TicketPush) -> None:
    try:
        with itsm.itsm_client() as client:
            _create, form, _fields, _number = _forms(push.mode)
            client.update_entry(form, _ticket_entry_id(client, push), {"Status": "Cancelled"})
    except SourceError as exc:
        logger.warning("Could not cancel %s of cancelled request: %s", push, exc)
