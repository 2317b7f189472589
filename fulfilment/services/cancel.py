"""Cancelling in the portal: the ticket in the ITSM first (R4, R3's refunds)."""

from __future__ import annotations

from django.utils import timezone

from entitlements.models import ServiceRequest
from itsm_sync.sources import SourceError
from msp_portal.errors import DomainError

from .. import itsm
from ..models import (
    UNSENT,
    FulfilmentMode,
    PushState,
    TicketPush,
)
from .common import (
    _forms,
    _ticket_entry_id,
    _ticket_lookup,
)


def ticket_cancel_for(*, request: ServiceRequest, note: str) -> None:
    """Before a request is cancelled in the portal (inside its transaction): cancel its ticket in
    the ITSM first; a refusal raises, so the request stays as it was and the person is told why.
    A push not sent yet is stopped; one tried already is looked up first, as an attempt whose
    answer was lost may have made its ticket."""
    push = TicketPush.objects.select_for_update().filter(request=request).first()
    if push is None:
        return
    if push.state in UNSENT and push.attempts and push.state != PushState.SENDING:
        _unsent_lookup(push)
    if push.state != PushState.CREATED:
        if push.state in UNSENT:
            # A push being sent right now finds the request cancelled and cancels its ticket.
            TicketPush.objects.filter(pk=push.pk).update(
                state=PushState.CANCELLED, updated_at=timezone.now()
            )
        return
    _create, form, _fields, _number = _forms(push.mode)
    reason_field = "Status_Reason" if push.mode == FulfilmentMode.INCIDENT else "Status Reason"
    try:
        with itsm.itsm_client() as client:
            entry = _ticket_entry_id(client, push)
            client.update_entry(
                form,
                entry,
                {"Status": "Cancelled", reason_field: (note or "Cancelled in the portal")[:200]},
            )
    except SourceError as exc:
        raise DomainError(
            f"The service desk did not cancel {push.form_label} {push.number}, so request "
            f"#{request.pk} stays open: {exc} Ask the service desk to stop the work, or try "
            "again later."
        ) from exc
    TicketPush.objects.filter(pk=push.pk).update(
        itsm_status="Cancelled", ticket_id=entry, updated_at=timezone.now()
    )


def _unsent_lookup(push: TicketPush) -> None:
    """Whether an attempt whose answer was lost made the push's ticket: if so the push is made
    created (and its ticket is cancelled as any other); if the ITSM can't be asked, the
    cancellation goes ahead and the push says what to check."""
    try:
        with itsm.itsm_client() as client:
            found = _ticket_lookup(client, push)
    except SourceError as exc:
        push.last_error = (
            f"Cancelled while the ITSM could not be asked whether an earlier attempt made "
            f"{push.reference} ({exc}); look for that reference there."
        )
        TicketPush.objects.filter(pk=push.pk).update(last_error=push.last_error)
        return
    if found is None:
        return
    _create, _form, fields, number_field = _forms(push.mode)
    push.state, push.number = PushState.CREATED, str(found.get(number_field) or "")
    push.ticket_id, push.itsm_status = (
        str(found.get(fields[0]) or ""),
        str(found.get("Status") or ""),
    )
    TicketPush.objects.filter(pk=push.pk).update(
        state=push.state,
        number=push.number,
        ticket_id=push.ticket_id,
        itsm_status=push.itsm_status,
        pushed_at=timezone.now(),
        claimed_until=None,
    )
