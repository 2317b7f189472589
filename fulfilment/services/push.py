"""The outbox and exactly-once creation of tickets (R4): pushes written with the approval,
sent until the ticket exists, looked up by their reference before any retry."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from accounts.models import User
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_transition
from itsm_sync.sources import SourceError
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError
from msp_portal.outbox import enqueue_on_commit

from .. import itsm
from ..models import (
    SENDABLE,
    FulfilmentMode,
    FulfilmentSettings,
    PushState,
    TicketPush,
)
from ..notify import request_news_send
from .common import (
    ANSWER_FIELDS,
    _forms,
    _release,
    _require_catalog_admin,
    _ticket_cancel_quietly,
    _ticket_lookup,
)
from .service_settings import fulfilment_settings_for

logger = logging.getLogger(__name__)


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
        from ..tasks import push as push_task

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


# Sendable rows that no live worker holds. The row sent to this task goes first; a task that
# drains takes the due ones with it. FOR UPDATE SKIP LOCKED: two workers draining at once take
# different rows and neither waits for the other; the locked rows are re-checked by PostgreSQL
# before the UPDATE, which counts each attempt and sets its lease in the same statement.
_CLAIM = """
WITH picked AS (
    SELECT id FROM {table}
    WHERE state = ANY(%(sendable)s)
      AND (claimed_until IS NULL OR claimed_until < %(now)s)
      AND (id = %(first)s OR (%(drain)s AND next_attempt_at <= %(now)s))
    ORDER BY id = %(first)s DESC, next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {table} AS push
SET state = %(sending)s, attempts = push.attempts + 1, claimed_until = %(until)s,
    updated_at = %(now)s
FROM picked WHERE push.id = picked.id
RETURNING push.id
"""


def _claim(*, first: int | None, limit: int, drain: bool) -> tuple[list[int], object]:
    """Take pushes for one attempt each (committed before any create is sent): `first` if no
    one holds it and, when draining, up to `limit` in all with the due ones; no other worker
    sends them meanwhile, and a worker that dies lets go when their lease runs out."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.FULFILMENT_PUSH_LEASE_SECONDS)
    if connection.vendor != "postgresql":
        return _claim_portable(first=first, limit=limit, drain=drain, now=now, until=until), until
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM.format(table=TicketPush._meta.db_table),
            {
                "sendable": [str(state) for state in SENDABLE],
                "now": now,
                "first": first if first is not None else -1,
                "drain": drain,
                "limit": limit,
                "sending": str(PushState.SENDING),
                "until": until,
            },
        )
        return [row[0] for row in cursor.fetchall()], until


def _claim_portable(*, first: int | None, limit: int, drain: bool, now, until) -> list[int]:
    """The same claim on a database without SKIP LOCKED (the demo's SQLite, which writes one
    at a time anyway): one conditional UPDATE per candidate, which must touch its row."""
    free = TicketPush.objects.filter(state__in=SENDABLE).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    candidates = [first] if first is not None else []
    if drain:
        due = free.filter(next_attempt_at__lte=now).exclude(pk=first)
        candidates += list(
            due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
        )
    claimed = []
    for pk in candidates[:limit]:
        if free.filter(pk=pk).update(
            state=PushState.SENDING, attempts=F("attempts") + 1, claimed_until=until, updated_at=now
        ):
            claimed.append(pk)
    return claimed


def _loaded(ids: list[int]) -> list[TicketPush]:
    """The claimed pushes with all a ticket's values need, in a fixed number of queries
    whatever their count (two short joins plan far faster than one of nine tables)."""
    people = User.objects.select_related("person")
    pushes = {
        push.pk: push
        for push in TicketPush.objects.filter(pk__in=ids)
        .select_related("request__customer__company", "request__service")
        .prefetch_related(
            "request__answers",
            Prefetch("request__beneficiary", people),
            Prefetch("request__requester", people),
            "request__service__fulfilment",
        )
        .order_by()
    }
    return [pushes[pk] for pk in ids if pk in pushes]


def ticket_push(*, push_id: int) -> TicketPush:
    """One attempt to create this request's ticket, never a second ticket (see ticket_pushes_send);
    a push someone else holds, or that is done, is returned as it is."""
    sent = ticket_pushes_send(first=push_id, limit=1, drain=False)
    return sent[0] if sent else TicketPush.objects.get(pk=push_id)


def ticket_pushes_send(
    *, first: int | None = None, limit: int | None = None, drain: bool = True
) -> list[TicketPush]:
    """One attempt for each of a batch of pushes (`first`, then the due ones, up to `limit`,
    FULFILMENT_PUSH_BATCH): claimed together, loaded together, created over this worker's one
    ITSM session and recorded together. Never a second ticket: every attempt is counted
    (committed) before its create, and any attempt after the first looks the ticket up by its
    reference before creating, so a lost answer, a timeout or a worker killed after the create
    (the whole batch's leases run out) finds the ticket instead of making another (R4)."""
    limit = limit or settings.FULFILMENT_PUSH_BATCH
    ids, until = _claim(first=first, limit=limit, drain=drain)
    if not ids:
        return []
    pushes = _loaded(ids)
    lease = timedelta(seconds=settings.FULFILMENT_PUSH_LEASE_SECONDS)
    # Everything from the database first, here: the sending threads only talk to the ITSM.
    sendable: list[tuple[TicketPush, dict]] = []
    for push in pushes:
        request = push.request
        if request.status not in (RequestStatus.APPROVED, RequestStatus.IN_PROGRESS):
            # Cancelled (or decided) in the portal before the ticket was made: nothing to send.
            _release(push, state=PushState.CANCELLED, error="")
            continue
        fulfilment = getattr(request.service, "fulfilment", None) or fulfilment_settings_for(
            request.service
        )
        sendable.append((push, ticket_values(push=push, fulfilment=fulfilment)))
    created: list[tuple[TicketPush, dict]] = []
    width = max(1, settings.FULFILMENT_PUSH_THREADS)
    for start in range(0, len(sendable), width):
        chunk = sendable[start : start + width]
        if timezone.now() > until - lease / 2:
            # A long batch keeps the rest of its pushes: a lease never runs out under a create.
            until = _renew([push.pk for push, _values in sendable[start:]], until, lease)
        failed = 0
        for (push, _values), outcome in zip(chunk, _send_all(chunk), strict=True):
            if isinstance(outcome, SourceError):
                _push_failed(push, outcome)
                failed += outcome.retryable
            else:
                created.append((push, outcome))
        rest = [push for push, _values in sendable[start + width :]]
        if rest and failed >= min(2, len(chunk)) and failed == len(chunk):
            # The ITSM is down, not one ticket refused: the rest wait with the last one, their
            # attempt not counted, rather than each wait for a timeout now.
            _unclaim(rest, until, after=chunk[-1][0])
            break
    _record_created(created)
    return pushes


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _send_all(chunk: list[tuple[TicketPush, dict]]) -> list[dict | SourceError]:
    """Each push's ticket, made at the same time on FULFILMENT_PUSH_THREADS threads of this
    process (each its own ITSM session, logged in once and kept): an ITSM answers several
    creates at once, as the bare client finds."""
    if len(chunk) == 1:
        return [_create_once(*chunk[0])]
    global _executor
    with _executor_lock:
        if _executor is None or _executor._max_workers < len(chunk):
            _executor = ThreadPoolExecutor(len(chunk), thread_name_prefix="fulfilment-push")
    return list(_executor.map(lambda item: _create_once(*item), chunk))


def _renew(ids: list[int], until, lease: timedelta):
    renewed = timezone.now() + lease
    TicketPush.objects.filter(pk__in=ids, state=PushState.SENDING, claimed_until=until).update(
        claimed_until=renewed
    )
    return renewed


def _unclaim(pushes: list[TicketPush], until, *, after: TicketPush) -> None:
    ids = [push.pk for push in pushes if push.state == PushState.SENDING]
    error = f"Not sent yet: the ITSM failed the attempts before it ({after.last_error})"
    TicketPush.objects.filter(pk__in=ids, state=PushState.SENDING, claimed_until=until).update(
        state=PushState.WAITING,
        attempts=F("attempts") - 1,
        claimed_until=None,
        next_attempt_at=after.next_attempt_at,
        last_error=error,
        updated_at=timezone.now(),
    )
    for push in pushes:
        if push.pk in ids:
            push.state, push.attempts, push.claimed_until = (
                PushState.WAITING,
                push.attempts - 1,
                None,
            )
            push.next_attempt_at, push.last_error = after.next_attempt_at, error


def _create_once(push: TicketPush, values: dict) -> dict | SourceError:
    """The ticket of one claimed push: the one an earlier attempt made, or a new one; the
    SourceError when the ITSM failed this attempt. No database here (it runs on a thread)."""
    create_form, _form, fields, number_field = _forms(push.mode)
    try:
        with itsm.itsm_client() as client:  # this thread's session, logged in once
            found = _ticket_lookup(client, push) if push.attempts > 1 else None
            if found is not None:
                outcome = {
                    "interface_id": "",
                    "ticket_id": found.get(fields[0]) or "",
                    "number": found.get(number_field) or "",
                    "status": found.get("Status") or "",
                }
            else:
                answer_field = ANSWER_FIELDS[push.mode]
                made = client.create_entry(create_form, values, answer=("Request ID", answer_field))
                outcome = {
                    "interface_id": made.get("Request ID") or "",
                    "ticket_id": "",
                    "number": made.get(answer_field) or "",
                    "status": "",
                }
    except SourceError as exc:
        return exc
    if not outcome["number"]:
        return SourceError("The ITSM answered without the ticket's number.", retryable=True)
    outcome["pushed_at"] = timezone.now()
    return outcome


_RECORD = """
UPDATE {table} AS push
SET state = %s, last_error = '', claimed_until = NULL, updated_at = %s,
    interface_id = v.interface_id, ticket_id = v.ticket_id, number = v.number,
    itsm_status = v.itsm_status, pushed_at = v.pushed_at
FROM (VALUES {rows}) AS v (id, interface_id, ticket_id, number, itsm_status, pushed_at)
WHERE push.id = v.id
"""


def _record_rows(pushes: list[TicketPush], now) -> None:
    """One UPDATE from a VALUES list on PostgreSQL: Django's bulk_update (a CASE per field and
    row) cost more than the creates themselves. Elsewhere (the demo's SQLite) one per row."""
    if connection.vendor != "postgresql":
        for push in pushes:
            TicketPush.objects.filter(pk=push.pk).update(
                state=push.state,
                last_error="",
                claimed_until=None,
                updated_at=now,
                interface_id=push.interface_id,
                ticket_id=push.ticket_id,
                number=push.number,
                itsm_status=push.itsm_status,
                pushed_at=push.pushed_at,
            )
        return
    row = "(%s::bigint, %s::text, %s::text, %s::text, %s::text, %s::timestamptz)"
    params: list = []
    for push in pushes:
        params += [push.pk, push.interface_id, push.ticket_id, push.number, push.itsm_status]
        params.append(push.pushed_at)
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD.format(table=TicketPush._meta.db_table, rows=", ".join([row] * len(pushes))),
            [str(PushState.CREATED), now, *params],
        )


def _record_created(created: list[tuple[TicketPush, dict]]) -> None:
    """Record a batch's tickets in one UPDATE; a request cancelled in the portal while its
    ticket was being made has that ticket cancelled too."""
    if not created:
        return
    now = timezone.now()
    for push, outcome in created:
        # The request stays approved until the ticket's status is read back (Assigned: in
        # progress), so its requester may still cancel it, in the ITSM first.
        default = "Assigned" if push.mode == FulfilmentMode.WORK_ORDER else "New"
        push.state, push.last_error, push.claimed_until, push.updated_at = (
            PushState.CREATED,
            "",
            None,
            now,
        )
        push.interface_id, push.ticket_id = outcome["interface_id"], outcome["ticket_id"]
        push.number, push.itsm_status = outcome["number"], outcome["status"] or default
        push.pushed_at = outcome["pushed_at"]
    _record_rows([push for push, _outcome in created], now)
    cancelled = set(
        ServiceRequest.objects.filter(
            pk__in=[push.request_id for push, _outcome in created],
            status=RequestStatus.CANCELLED,
        ).values_list("pk", flat=True)
    )
    for push, _outcome in created:
        if push.request_id in cancelled:
            # Cancelled in the portal while this attempt was creating the ticket: cancel it too.
            _ticket_cancel_quietly(push)


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
    """Send again the pushes whose wait is over (and any whose task was lost), a task a batch."""
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
    from ..tasks import push as push_task

    # Each task drains a batch of the due pushes, its own first: one task per batch is enough.
    for pk in due[:: settings.FULFILMENT_PUSH_BATCH]:
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
    from ..tasks import push as push_task

    enqueue_on_commit(push_task, push.pk)
    push.refresh_from_db()
    return push
