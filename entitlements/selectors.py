"""Reads of entitlements, always scoped to the request's user (T1, T2)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from customers.models import Customer
from msp_portal.models import AuditEvent

from .models import Marketplace, RequestStatus, ServiceRequest


def administered_customer(user: User) -> Customer | None:
    """The customer a person administers (one company at a time, so at most one)."""
    if not user.is_authenticated or not user.is_active or user.is_staff or user.company_id is None:
        return None  # MSP staff administer no customer; they act as one instead
    return (
        Customer.objects.select_related("company")
        .filter(company_id=user.company_id, administrators__user=user)
        .first()
    )


def managed_customer(request: HttpRequest) -> Customer | None:
    """The customer whose entitlements this request may manage.

    A customer administrator manages their own customer; MSP staff with the customers role
    manage the customer they act as (T2, chosen with "switch company"); anyone else, none.
    """
    user = request.user
    acting_as = getattr(request, "acting_as", None)
    if acting_as is not None and user.has_perm("customers.change_customer"):
        return Customer.objects.select_related("company").filter(pk=acting_as.customer_id).first()
    return administered_customer(user)


def marketplace_list(*, customer: Customer) -> QuerySet[Marketplace]:
    """The marketplaces of one customer (callers pass managed_customer(request))."""
    return Marketplace.objects.filter(customer=customer).order_by("name", "id")


def request_list_for_customer(*, customer: Customer) -> QuerySet[ServiceRequest]:
    """Every request of one customer, newest first."""
    return (
        ServiceRequest.objects.filter(customer=customer)
        .select_related("service", "requester", "customer__company")
        .order_by("-submitted_at", "-id")
    )


def request_list_for_requester(*, user: User) -> QuerySet[ServiceRequest]:
    """A person's own requests, newest first (they stay visible after access is lost)."""
    return (
        ServiceRequest.objects.filter(requester=user)
        .select_related("service", "customer__company")
        .order_by("-submitted_at", "-id")
    )


def request_list_for_staff(*, user: User) -> QuerySet[ServiceRequest]:
    """Every customer's requests, for catalog administrators only; nothing for anyone else."""
    if not user.has_perm("customers.view_customer"):
        return ServiceRequest.objects.none()
    return ServiceRequest.objects.select_related(
        "service", "requester", "customer__company"
    ).order_by("-submitted_at", "-id")


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
            RequestStatus.SUBMITTED
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
