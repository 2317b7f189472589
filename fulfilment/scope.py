"""Who sees a ticket and its notes: whoever sees its request (T1)."""

from django.db.models import Q

from entitlements.models import ServiceRequest
from msp_portal.tenancy import scope_register, visible_to


def _tickets(user, action: str) -> Q:
    return Q(request__in=visible_to(user, ServiceRequest, action).values("pk"))


def _notes(user, action: str) -> Q:
    return Q(push__request__in=visible_to(user, ServiceRequest, action).values("pk"))


def register() -> None:
    from .models import TicketNote, TicketPush

    scope_register(TicketPush, _tickets)
    scope_register(TicketNote, _notes)
