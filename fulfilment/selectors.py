"""Reads of fulfilment, scoped to the user (T1)."""

from django.db.models import QuerySet

from accounts.models import User
from entitlements.models import ServiceRequest
from msp_portal.tenancy import visible_to

from .models import PushState, TicketNote, TicketPush

ATTENTION = (PushState.STUCK, PushState.FAILED, PushState.WAITING)


def push_list(*, user: User, state: str = "") -> QuerySet[TicketPush]:
    """The pushes user may see, with their request, newest change first; `attention` narrows
    them to the stuck, failed and waiting ones."""
    pushes = visible_to(user, TicketPush).select_related(
        "request__service", "request__customer__company", "request__requester"
    )
    if state == "attention":
        pushes = pushes.filter(state__in=ATTENTION)
    elif state:
        pushes = pushes.filter(state=state)
    return pushes


def request_ticket(*, user: User, request: ServiceRequest) -> tuple[TicketPush | None, list]:
    """The request's ticket and its public notes, as this user may see them."""
    push = visible_to(user, TicketPush).filter(request=request).first()
    if push is None:
        return None, []
    notes = list(visible_to(user, TicketNote).filter(push=push).order_by("submitted_at", "id"))
    return push, notes
