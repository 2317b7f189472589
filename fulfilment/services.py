"""Fulfilment use cases: push approved requests to the ITSM exactly once, bring status and
public notes back, cancel in the ITSM first (R4, R3's refunds)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from accounts.models import User
from catalog.models import Service
from customers.scope import is_msp_staff
from entitlements.models import REQUEST_TRANSITIONS, RequestStatus, ServiceRequest
from entitlements.services import request_transition
from itsm_sync.sources import ARRestSource, SourceError, parse_ar_datetime
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.outbox import enqueue_on_commit
from msp_portal.tenancy import CHANGE

from . import itsm
from .models import (
    SENDABLE,
    UNSENT,
    FulfilmentMode,
    FulfilmentSettings,
    PollCursor,
    PushState,
    TicketNote,
    TicketPush,
)
from .notify import request_news_send
from .signals import public_note_added

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


# ---------------------------------------------------------------------------------------------
# Settings per service
# ---------------------------------------------------------------------------------------------


def fulfilment_settings_for(service: Service) -> FulfilmentSettings:
    """The service's settings, or unsaved defaults (handled in the portal)."""
    found = FulfilmentSettings.objects.filter(service=service).first()
    return found or FulfilmentSettings(service=service)


def _require_catalog_admin(actor: User) -> None:
    if not is_msp_staff(actor, CHANGE) or not actor.has_perm("catalog.change_service"):
        raise NotAllowed("Only catalog administrators change how a service is fulfilled.")


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


# ---------------------------------------------------------------------------------------------
# The outbox: approved requests become ticket pushes (receivers.py calls this in the transaction)
# ---------------------------------------------------------------------------------------------


def ticket_push_queue(*, request: ServiceRequest) -> TicketPush | None:
    """Write the request's push, once, if its service is fulfilled in the ITSM; the push task
    is sent when the transaction commits (nothing is sent for a rolled-back approval)."""
    fulfilment = FulfilmentSettings.objects.filter(service_id=request.service_id).first()
    if fulfilment is None or not fulfilment.in_itsm:
        return None
    push, created = TicketPush.objects.get_or_create(
        request=request,
        defaults={"mode": fulfilment.mode, "reference": itsm.reference_for(request.pk)},
    )
    if created:
        from .tasks import push as push_task

        enqueue_on_commit(push_task, push.pk)
    return push


def _beneficiary(request: ServiceRequest) -> User:
    return getattr(request, "beneficiary", None) or request.requester


def _answers(request: ServiceRequest) -> list[tuple[str, str]]:
    """The request's answers as asked: (label, display text)."""
    related = getattr(request, "answers", None)
    if related is None:
        return []
    rows = []
    for answer in related.all():
        label = getattr(answer, "label", "")
        text = getattr(answer, "display", None) or getattr(answer, "text", "") or ""
        rows.append((str(label), str(text)))
    return rows


def _person_values(user: User) -> tuple[str, str, str]:
    person = getattr(user, "person", None)
    if person is not None:
        return person.person_id, person.first_name, person.last_name
    return "", user.first_name, user.last_name


def ticket_values(*, push: TicketPush, fulfilment: FulfilmentSettings) -> dict:
    """What the interface form is given: the customer's company, the beneficiary's ITSM
    person, the answers in the description and mapped fields, and the reference."""
    request = push.request
    company = request.customer.company.name
    beneficiary = _beneficiary(request)
    person_id, first, last = _person_values(beneficiary)
    answers = _answers(request)
    lines = [
        f"Requested in the MSP portal: request #{request.pk}, {request.quantity} × "
        f"{request.service.name}.",
        f"Requested by {request.requester.display_name} for {beneficiary.display_name}.",
    ]
    if request.justification:
        lines.append(f"Justification: {request.justification}")
    lines += [f"{label}: {text}" for label, text in answers]
    description = "\n".join(lines)
    reference = {itsm.reference_field(): push.reference}
    if push.mode == FulfilmentMode.INCIDENT:
        return {
            "z1D_Action": "CREATE",
            "First_Name": first,
            "Last_Name": last,
            "Customer Person ID": person_id,
            "Company": company,
            "Description": _summary(fulfilment, request, beneficiary)[:100],
            "Detailed_Decription": description,
            "Impact": fulfilment.impact,
            "Urgency": fulfilment.urgency,
            "Status": "New",
            "Reported Source": fulfilment.reported_source,
            "Service_Type": fulfilment.service_type,
            **reference,
        }
    values = {
        "z1D_Action": "CREATE",
        "First Name": first,
        "Last Name": last,
        "Customer Person ID": person_id,
        "Customer First Name": first,
        "Customer Last Name": last,
        "Customer Company": company,
        "Location Company": company,
        "Summary": _summary(fulfilment, request, beneficiary)[:100],
        "Detailed Description": description,
        "Status": "Assigned",
        "Priority": fulfilment.priority,
        "Work Order Type": fulfilment.work_order_type,
        **reference,
    }
    if fulfilment.template_id:
        values["TemplateID"] = fulfilment.template_id
    by_label = dict(answers)
    for entry in fulfilment.field_map:
        if entry["question"] in by_label:
            values[f"WO Type Field {entry['field']}"] = by_label[entry["question"]]
            values[f"WO Type Field {entry['field']} Label"] = entry["label"]
    return values


def _summary(fulfilment: FulfilmentSettings, request: ServiceRequest, beneficiary: User) -> str:
    return fulfilment.summary_pattern.format(
        service=request.service.name,
        beneficiary=beneficiary.display_name,
        requester=request.requester.display_name,
        request=request.pk,
    )


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


def _claim(push_id: int) -> bool:
    """Take the push for one attempt (a conditional UPDATE that must touch its row): no other
    worker sends it meanwhile; a worker that dies lets go when the claim runs out."""
    now = timezone.now()
    lease = timedelta(seconds=settings.FULFILMENT_PUSH_LEASE_SECONDS)
    return bool(
        TicketPush.objects.filter(pk=push_id, state__in=SENDABLE)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            state=PushState.SENDING,
            attempts=F("attempts") + 1,
            claimed_until=now + lease,
            updated_at=now,
        )
    )


def ticket_push(*, push_id: int) -> TicketPush:
    """One attempt to create the request's ticket, never a second ticket: the attempt is counted
    (committed) before the create, and any attempt after the first looks the ticket up by its
    reference before creating, so a lost answer, a timeout or a worker killed after the create
    finds the ticket instead of making another (R4)."""
    if not _claim(push_id):
        return TicketPush.objects.get(pk=push_id)
    # Two short joins plan far faster than one of nine tables (10 ms of planning on PostgreSQL).
    push = (
        TicketPush.objects.select_related("request__customer__company", "request__service")
        .prefetch_related(
            "request__answers",
            Prefetch("request__beneficiary", User.objects.select_related("person")),
            "request__requester",
            "request__service__fulfilment",
        )
        .order_by()
        .get(pk=push_id)
    )
    request = push.request
    if request.status not in (RequestStatus.APPROVED, RequestStatus.IN_PROGRESS):
        # Cancelled (or decided) in the portal before the ticket was made: nothing to send.
        _release(push, state=PushState.CANCELLED, error="")
        return push
    fulfilment = getattr(request.service, "fulfilment", None) or fulfilment_settings_for(
        request.service
    )
    create_form, _form, fields, number_field = _forms(push.mode)
    try:
        with itsm.itsm_client() as client:
            found = _ticket_lookup(client, push) if push.attempts > 1 else None
            if found is not None:
                interface_id, ticket_id = "", found.get(fields[0]) or ""
                number, status = found.get(number_field) or "", found.get("Status") or ""
            else:
                answer_field = ANSWER_FIELDS[push.mode]
                created = client.create_entry(
                    create_form,
                    ticket_values(push=push, fulfilment=fulfilment),
                    answer=("Request ID", answer_field),
                )
                interface_id, ticket_id = created.get("Request ID") or "", ""
                number, status = created.get(answer_field) or "", ""
    except SourceError as exc:
        return _push_failed(push, exc)
    if not number:
        return _push_failed(
            push, SourceError("The ITSM answered without the ticket's number.", retryable=True)
        )
    return _push_created(
        push, interface_id=interface_id, ticket_id=ticket_id, number=number, status=status
    )


def _release(push: TicketPush, *, state: str, error: str, **fields) -> None:
    now = timezone.now()
    values = {"state": state, "last_error": error, "claimed_until": None, "updated_at": now}
    values.update(fields)
    TicketPush.objects.filter(pk=push.pk).update(**values)
    for name, value in values.items():
        setattr(push, name, value)


def _push_created(
    push: TicketPush, *, interface_id: str, ticket_id: str, number: str, status: str
) -> TicketPush:
    # The request stays approved until the ticket's status is read back (Assigned: in
    # progress), so its requester may still cancel it, in the ITSM first.
    _release(
        push,
        state=PushState.CREATED,
        error="",
        interface_id=interface_id,
        ticket_id=ticket_id,
        number=number,
        itsm_status=status or ("Assigned" if push.mode == FulfilmentMode.WORK_ORDER else "New"),
        pushed_at=timezone.now(),
    )
    status_now = ServiceRequest.objects.filter(pk=push.request_id).values_list("status", flat=True)
    if status_now.first() == RequestStatus.CANCELLED:
        # Cancelled in the portal while this attempt was creating the ticket: cancel it too.
        _ticket_cancel_quietly(push)
    return push


def _push_failed(push: TicketPush, exc: SourceError) -> TicketPush:
    # Final: AR refused this ticket's values (400 with an AR error: 314 unknown field, 306 value
    # out of range, 307 required field). A refused login, a missing form or a proxy's 4xx is the
    # set-up's fault, not the request's: those wait, and get stuck, until someone mends it.
    if not exc.retryable and exc.status == 400 and exc.ar_number is not None:
        return _push_refused(push, exc)
    attempts = push.attempts
    if attempts >= settings.FULFILMENT_MAX_ATTEMPTS:
        _release(push, state=PushState.STUCK, error=str(exc))
        logger.warning("Ticket push #%s is stuck after %s attempts: %s", push.pk, attempts, exc)
        return push
    delay = settings.FULFILMENT_BACKOFF_SECONDS * 2 ** (attempts - 1)
    _release(
        push,
        state=PushState.WAITING,
        error=str(exc),
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    return push


def _push_refused(push: TicketPush, exc: SourceError) -> TicketPush:
    """A refusal no retry changes (a mapped field the form lacks, a value out of range): the
    request fails with its refund, and says why."""
    with transaction.atomic():
        _release(push, state=PushState.FAILED, error=str(exc))
        request = ServiceRequest.objects.select_for_update().get(pk=push.request_id)
        if request.status in (RequestStatus.APPROVED, RequestStatus.IN_PROGRESS):
            request_transition(
                actor=None,
                request=request,
                status=RequestStatus.FAILED,
                note=(
                    f"The service desk refused the {push.form_label} ({exc}). Your credits are "
                    "given back; a catalog administrator has to correct how this service is "
                    "fulfilled before it can be requested again."
                ),
            )
    request_news_send(request=request, key="failed")
    return push


def pushes_due_send(*, limit: int = 500) -> int:
    """Send again the pushes whose wait is over (and any whose task was lost)."""
    now = timezone.now()
    due = list(
        TicketPush.objects.filter(
            state__in=(PushState.QUEUED, PushState.WAITING, PushState.SENDING),
            next_attempt_at__lte=now,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    from .tasks import push as push_task

    for pk in due:
        enqueue_on_commit(push_task, pk)
    return len(due)


@transaction.atomic
def ticket_push_retry(*, actor: User, push: TicketPush) -> TicketPush:
    """A catalog administrator sends a stuck push again (its count starts over)."""
    _require_catalog_admin(actor)
    push = TicketPush.objects.select_for_update().get(pk=push.pk)
    if push.state not in (PushState.STUCK, PushState.WAITING):
        raise DomainError(
            f"The {push.form_label} of request #{push.request_id} is {push.get_state_display().lower()}: "
            "only a stuck or waiting one is sent again."
        )
    # attempts stays above 0: the next attempt looks the ticket up before creating.
    TicketPush.objects.filter(pk=push.pk).update(
        state=PushState.WAITING, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    audit_record(actor=actor, action="fulfilment.retry", obj=push.request)
    from .tasks import push as push_task

    enqueue_on_commit(push_task, push.pk)
    push.refresh_from_db()
    return push


# ---------------------------------------------------------------------------------------------
# Status and notes back
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Cancelling in the portal: the ITSM first
# ---------------------------------------------------------------------------------------------


def _ticket_entry_id(client: ARRestSource, push: TicketPush) -> str:
    if push.ticket_id:
        return push.ticket_id
    _create, form, fields, number_field = _forms(push.mode)
    found = client.find_entries(form, f"'{number_field}' = \"{push.number}\"", fields, limit=1)
    if not found:
        raise SourceError(f"The ITSM has no {push.form_label} {push.number}.")
    return str(found[0].get(fields[0]))


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


def _ticket_cancel_quietly(push: TicketPush) -> None:
    try:
        with itsm.itsm_client() as client:
            _create, form, _fields, _number = _forms(push.mode)
            client.update_entry(form, _ticket_entry_id(client, push), {"Status": "Cancelled"})
    except SourceError as exc:
        logger.warning("Could not cancel %s of cancelled request: %s", push, exc)
