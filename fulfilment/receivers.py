"""Fulfilment follows requests through the entitlements signals, inside their transaction."""

from entitlements.models import RequestStatus

from . import services


def on_request_submitted(sender, *, request, actor=None, **kwargs) -> None:
    """A request of a service that needs no approval is approved at submission: queue its ticket."""
    if request.status == RequestStatus.APPROVED:
        services.ticket_push_queue(request=request)


def on_request_status_changed(
    sender, *, request, old_status, new_status, actor=None, note="", **kwargs
) -> None:
    """Approved: queue the ticket. Cancelled by a person: cancel the ticket in the ITSM first
    (a refusal raises and rolls the cancellation, and its refund, back). Changes the ITSM made
    (actor None) need nothing more."""
    if new_status == RequestStatus.APPROVED:
        services.ticket_push_queue(request=request)
    elif new_status == RequestStatus.CANCELLED and actor is not None:
        services.ticket_cancel_for(request=request, note=note)
