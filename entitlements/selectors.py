"""Reads of entitlements, always scoped to the request's user (T1, T2)."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from accounts.models import User
from customers.models import Customer
from customers.scope import administered_customer, end_user_customer, is_msp_staff
from msp_portal.models import AuditEvent
from msp_portal.tenancy import visible_to

from .models import Marketplace, RequestAnswer, RequestStatus, ServiceRequest


def marketplace_list(*, user: User, customer: Customer) -> QuerySet[Marketplace]:
    """The marketplaces of one customer that user may see, by name."""
    return visible_to(user, Marketplace.objects.filter(customer=customer)).order_by("name", "id")


def request_list(*, user: User, customer: Customer | None = None) -> QuerySet[ServiceRequest]:
    """The requests user may see (customer.scope's rule), of one customer if given, newest first."""
    requests = ServiceRequest.objects.all() if customer is None else customer.requests.all()
    return (
        visible_to(user, requests)
        .select_related("service", "requester", "beneficiary", "customer__company")
        .order_by("-submitted_at", "-id")
    )


def request_list_for_requester(*, user: User) -> QuerySet[ServiceRequest]:
    """A person's own requests, those they made and those made for them by a colleague (R2),
    newest first (they stay visible after access is lost)."""
    return request_list(user=user).filter(Q(requester=user) | Q(beneficiary=user))


def request_reader_or_403(*, user: User) -> None:
    """Requests are read by requesters and handlers only: anyone else gets 403 before any lookup,
    so a 404 always means "not in your scope" (T1)."""
    if is_msp_staff(user) or administered_customer(user) is not None:
        return
    if end_user_customer(user) is not None:
        return
    if not request_list_for_requester(user=user).exists():
        raise PermissionDenied(
            "Requests are for the people of a customer and those who handle them."
        )


def request_answers(*, request: ServiceRequest) -> list[RequestAnswer]:
    """The answers kept with a request, in the order they were asked (the request is already in
    scope: its reader may read its answers)."""
    return list(RequestAnswer.objects.filter(request=request).order_by("position", "id"))


@dataclass
class HistoryEntry:
    """One moment of a request's timeline, as the audit trail and the ledger recorded it: its
    status after a change (empty when the status did not change) and the moment in words."""

    at: datetime
    actor: str
    acting_as: str
    status: str
    note: str
    what: str = ""


REFUND_STATUSES = {RequestStatus.CANCELLED, RequestStatus.REJECTED, RequestStatus.FAILED}
STEP_ROLES = {"customer_admin": "customer administrator", "msp": "MSP catalog administrator"}


def _audit_entry(event: AuditEvent) -> HistoryEntry:
    after = event.after or {}
    actor = event.actor.display_name if event.actor else event.actor_label
    note = after.get("note", "") or ""
    if event.action == "request.submit":
        status, what = after.get("status", RequestStatus.APPROVED), "Submitted"
    elif event.action.startswith("approval."):
        decided = "Approved" if after.get("status") == "approved" else "Rejected"
        role = STEP_ROLES.get(after.get("kind", ""), "approver")
        if after.get("routed_to_msp"):
            role = f"{STEP_ROLES['msp']}, in place of the customer's administrators"
        status, what = "", f"{decided} as {role} (approval step {after.get('step', '?')})"
        # An approval event that is no decision (a step routed to the MSP) says what it was.
        what = after.get("what") or what
    else:
        status, what = after.get("status", event.action.removeprefix("request.")), ""
    return HistoryEntry(
        at=event.at,
        actor=actor,
        acting_as=event.acting_as_label,
        status=status,
        note=note,
        what=what,
    )


def request_history(*, request: ServiceRequest) -> list[HistoryEntry]:
    """The request's timeline, oldest first: its submission, each approval decision, each status
    change and its credits charged and refunded (the request is already in scope)."""
    from credits.models import CreditEntry

    events = (
        AuditEvent.objects.filter(
            object_type=ServiceRequest._meta.label_lower, object_id=str(request.pk)
        )
        .select_related("actor")
        .order_by("at", "id")[:50]
    )
    entries = []
    for event in events:
        entry = _audit_entry(event)
        # A status change made by an approval repeats the decision's note: shown once.
        if entries and entry.what == "" and entries[-1].what and entries[-1].note == entry.note:
            entry.note = ""
        entries.append(entry)
    money = (
        CreditEntry.objects.filter(account__customer_id=request.customer_id, request_id=request.pk)
        .select_related("actor")
        .order_by("created_at", "id")[:10]
    )
    for credit in money:
        amount = f"{abs(credit.amount):.2f}".rstrip("0").rstrip(".")
        charged = credit.amount < 0
        entry = HistoryEntry(
            at=credit.created_at,
            actor=credit.actor.display_name if credit.actor else credit.actor_label,
            acting_as=credit.acting_as_label,
            status="",
            note="",
            what=f"Charged {amount} credits" if charged else f"Refunded {amount} credits",
        )
        # Shown after the change that made it (written in the same transaction, a moment before).
        owners = [
            i
            for i, e in enumerate(entries)
            if (e.what == "Submitted" if charged else e.status in REFUND_STATUSES)
        ]
        entries.insert(owners[-1] + 1 if owners else len(entries), entry)
    return entries
