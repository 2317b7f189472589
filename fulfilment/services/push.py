"""The outbox and exactly-once creation of tickets (R4): pushes written with the approval,
sent until the ticket exists, looked up by their reference before any retry."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
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
    from ..tasks import push as push_task

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
    from ..tasks import push as push_task

    enqueue_on_commit(push_task, push.pk)
    push.refresh_from_db()
    return push
