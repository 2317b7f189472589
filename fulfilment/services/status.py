"""Status and public notes back from the ITSM (R4), through the request transition service."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from entitlements.models import REQUEST_TRANSITIONS, RequestStatus, ServiceRequest
from entitlements.services import request_transition
from itsm_sync.sources import ARRestSource, SourceError, parse_ar_datetime
from msp_portal.errors import DomainError

from .. import itsm
from ..models import (
    FulfilmentMode,
    PollCursor,
    PushState,
    TicketNote,
    TicketPush,
)
from ..notify import request_news_send
from ..signals import public_note_added
from .common import (
    CLOSED,
    INCIDENT_STATUS_MAP,
    NOTE_FORMS,
    WORK_ORDER_STATUS_MAP,
    _forms,
)


def _target_status(push: TicketPush, itsm_status: str, current: str) -> str | None:
    mapping = INCIDENT_STATUS_MAP if push.mode == FulfilmentMode.INCIDENT else WORK_ORDER_STATUS_MAP
    if itsm_status == CLOSED:
        # Closed follows a final state; one missed between two reads was a completion.
        return (
            RequestStatus.FULFILLED
            if current
            in (
                RequestStatus.APPROVED,
                RequestStatus.IN_PROGRESS,
            )
            else None
        )
    return mapping.get(itsm_status)


def ticket_apply(
    *, push: TicketPush, itsm_status: str, reason: str = "", ticket_id: str = ""
) -> str:
    """Bring one ticket's status to its request through the request transition service (which
    refunds and audits, once: a status read twice, or met by a cancellation in the portal, is
    refused by the request's own transitions). Returns the request's status."""
    reason = reason or ""
    if (push.itsm_status, push.itsm_status_reason, push.ticket_id) == (
        itsm_status,
        reason[:200],
        ticket_id or push.ticket_id,
    ) and push.request.status not in (RequestStatus.APPROVED,):
        # Read again unchanged (the same second read twice, a redelivered poll): applied already.
        return push.request.status
    with transaction.atomic():
        request = ServiceRequest.objects.select_for_update().get(pk=push.request_id)
        TicketPush.objects.filter(pk=push.pk).update(
            itsm_status=itsm_status[:40],
            itsm_status_reason=(reason or "")[:200],
            ticket_id=ticket_id or push.ticket_id,
            updated_at=timezone.now(),
        )
        target = _target_status(push, itsm_status, request.status)
        if target is None or target == request.status:
            return request.status
        steps = [target]
        if target not in REQUEST_TRANSITIONS.get(request.status, set()):
            if (
                request.status == RequestStatus.APPROVED
                and target in REQUEST_TRANSITIONS[RequestStatus.IN_PROGRESS]
            ):
                steps = [RequestStatus.IN_PROGRESS, target]
            else:
                return request.status
        note = f"The service desk set {push.form_label} {push.number} to {itsm_status}" + (
            f": {reason}" if reason else "."
        )
        for step in steps:
            request = request_transition(actor=None, request=request, status=step, note=note)
    request_news_send(request=request, key=request.status)
    return request.status


def _note_apply(*, push: TicketPush, values: dict) -> bool:
    """Keep one public note (internal ones never reach the portal); True when it is new."""
    if values.get("View Access") != "Public":
        return False
    submitted = values.get("Submit Date") or values.get(itsm.LAST_MODIFIED)
    try:
        at = parse_ar_datetime(submitted) if submitted else timezone.now()
    except ValueError:
        at = timezone.now()
    with transaction.atomic():
        note, created = TicketNote.objects.get_or_create(
            work_info_id=str(values[NOTE_FORMS[push.mode][2]]),
            defaults={
                "push": push,
                "text": str(values.get("Detailed Description") or ""),
                "submitted_at": at,
            },
        )
        if created:
            public_note_added.send(sender=TicketNote, request=push.request, note=note, actor=None)
    return created


def _cursor(form: str) -> tuple[PollCursor, datetime | None]:
    """The form's cursor row and the latest Last Modified Date read so far (None: never read)."""
    row = PollCursor.objects.get_or_create(form=form)[0]
    try:
        return row, parse_ar_datetime(row.cursor) if row.cursor else None
    except ValueError:
        return row, None


def _cursor_advance(row: PollCursor, page: list[dict], since: datetime | None) -> datetime | None:
    """Keep the latest Last Modified Date of the page: the next read starts there, less the
    ITSM overlap, and reads that second again, as a change made within the second a read ended
    in is otherwise missed; reading a ticket again unchanged costs nothing (ticket_apply)."""
    latest = since
    for values in page:
        try:
            at = parse_ar_datetime(str(values.get(itsm.LAST_MODIFIED)))
        except ValueError:
            continue
        latest = at if latest is None or at > latest else latest
    if latest is not None:
        PollCursor.objects.filter(pk=row.pk).update(
            cursor=latest.isoformat(), polled_at=timezone.now()
        )
    return latest


def ticket_status_poll() -> dict[str, int]:
    """Read the tickets and public notes changed since the last read (the sync's keyset paging,
    its client) and bring them to their requests. Returns counts of what was read and changed."""
    counts = {"tickets": 0, "changed": 0, "notes": 0}
    if not TicketPush.objects.filter(state=PushState.CREATED).exists():
        return counts
    prefix = settings.FULFILMENT_REFERENCE_PREFIX
    where = f"'{itsm.reference_field()}' LIKE \"{prefix}%\""
    with itsm.itsm_client() as client:
        for mode in (FulfilmentMode.WORK_ORDER, FulfilmentMode.INCIDENT):
            if not TicketPush.objects.filter(state=PushState.CREATED, mode=mode).exists():
                continue
            _create, form, fields, number_field = _forms(mode)
            cursor, since = _cursor(form)
            for page in client.iter_pages(form, fields, since=since, where=where):
                by_number = {
                    p.number: p
                    for p in TicketPush.objects.filter(
                        mode=mode, number__in=[v.get(number_field) for v in page]
                    ).select_related("request")
                }
                for values in page:
                    push = by_number.get(values.get(number_field))
                    if push is None:
                        continue
                    counts["tickets"] += 1
                    before = push.request.status
                    after = ticket_apply(
                        push=push,
                        itsm_status=str(values.get("Status") or ""),
                        reason=str(
                            values.get("Status Reason") or values.get("Status_Reason") or ""
                        ),
                        ticket_id=str(values.get(fields[0]) or ""),
                    )
                    counts["changed"] += after != before
                since = _cursor_advance(cursor, page, since)
        counts["notes"] = _notes_poll(client)
    return counts


def _notes_poll(client: ARRestSource) -> int:
    new = 0
    where = "'View Access' = \"Public\""
    for mode, (form, number_field, id_field, fields) in NOTE_FORMS.items():
        if not TicketPush.objects.filter(state=PushState.CREATED, mode=mode).exists():
            continue
        cursor, since = _cursor(form)
        for page in client.iter_pages(form, fields, since=since, where=where):
            pushes = {
                p.number: p
                for p in TicketPush.objects.filter(
                    mode=mode, number__in=[v.get(number_field) for v in page]
                ).select_related("request")
            }
            for values in page:
                push = pushes.get(values.get(number_field))
                if push is not None and _note_apply(push=push, values=values):
                    new += 1
                    request_news_send(
                        request=push.request,
                        key=f"note:{values[id_field]}",
                        note=str(values.get("Detailed Description") or ""),
                    )
            since = _cursor_advance(cursor, page, since)
    return new


def ticket_refresh(*, actor: User, request: ServiceRequest) -> str:
    """Read this request's ticket and public notes now (the request page's "Check now")."""
    push = TicketPush.objects.filter(request=request, state=PushState.CREATED).first()
    if push is None:
        raise DomainError(f"Request #{request.pk} has no ticket in the ITSM yet.")
    _create, form, fields, number_field = _forms(push.mode)
    try:
        with itsm.itsm_client() as client:
            found = client.find_entries(
                form, f"'{number_field}' = \"{push.number}\"", fields, limit=1
            )
            note_form, note_number, _id, note_fields = NOTE_FORMS[push.mode]
            notes = client.find_entries(
                note_form,
                f"'{note_number}' = \"{push.number}\" AND 'View Access' = \"Public\"",
                note_fields,
                limit=100,
            )
    except SourceError as exc:
        raise DomainError(
            f"The service desk could not be reached ({exc}). Try again later."
        ) from exc
    for values in notes:
        if _note_apply(push=push, values=values):
            request_news_send(
                request=request,
                key=f"note:{values[NOTE_FORMS[push.mode][2]]}",
                note=str(values.get("Detailed Description") or ""),
            )
    if not found:
        return request.status
    values = found[0]
    return ticket_apply(
        push=push,
        itsm_status=str(values.get("Status") or ""),
        reason=str(values.get("Status Reason") or values.get("Status_Reason") or ""),
        ticket_id=str(values.get(fields[0]) or ""),
    )
