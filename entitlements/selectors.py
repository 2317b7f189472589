"""Reads of entitlements, always scoped to the request's user (T1, T2)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User
from customers.models import Customer
from msp_portal.models import AuditEvent
from msp_portal.tenancy import visible_to

from .models import Marketplace, RequestStatus, ServiceRequest


def marketplace_list(*, user: User, customer: Customer) -> QuerySet[Marketplace]:
    """The marketplaces of one customer that user may see, by name."""
    return visible_to(user, Marketplace.objects.filter(customer=customer)).order_by("name", "id")


def request_list(*, user: User, customer: Customer | None = None) -> QuerySet[ServiceRequest]:
    """The requests user may see (customer.scope's rule), of one customer if given, newest first."""
    requests = ServiceRequest.objects.all() if customer is None else customer.requests.all()
    return (
        visible_to(user, requests)
        .select_related("service", "requester", "customer__company")
        .order_by("-submitted_at", "-id")
    )


def request_list_for_requester(*, user: User) -> QuerySet[ServiceRequest]:
    """A person's own requests, newest first (they stay visible after access is lost)."""
    return request_list(user=user).filter(requester=user)


@dataclass
class HistoryEntry:
    """One status change of a request, as the audit trail recorded it."""

    at: datetime
    actor: str
    acting_as: str
    status: str
    note: str


def request_history(*, request: ServiceRequest) -> list[HistoryEntry]:
    """The request's audited status changes, oldest first (the request is already in scope)."""
    events = (
        AuditEvent.objects.filter(
            object_type=ServiceRequest._meta.label_lower, object_id=str(request.pk)
        )
        .select_related("actor")
        .order_by("at", "id")[:50]
    )
    entries = []
    for event in events:
        after = event.after or {}
        status = (
            after.get("status", RequestStatus.APPROVED)
            if event.action == "request.submit"
            else after.get("status", event.action.removeprefix("request."))
        )
        entries.append(
            HistoryEntry(
                at=event.at,
                actor=event.actor.display_name if event.actor else event.actor_label,
                acting_as=event.acting_as_label,
                status=status,
                note=after.get("note", ""),
            )
        )
    return entries
