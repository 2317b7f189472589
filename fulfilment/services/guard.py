"""While the ITSM fulfils a request, the ITSM owns its status (entitlements' transition guard)."""

from __future__ import annotations

from accounts.models import User
from entitlements.models import RequestStatus, ServiceRequest

from ..models import TicketPush


def transition_guard(request: ServiceRequest, status: str, actor: User | None) -> str | None:
    """A request with a ticket push is moved by the ITSM's status read back (actor None, the
    poll) or cancelled (its ticket cancelled in the ITSM first); nobody starts, fulfils,
    rejects or fails it by hand, which the service desk would never see."""
    if actor is None or status == RequestStatus.CANCELLED:
        return None
    # The request's own accessor: one query for every status asked of the same request, and the
    # request page's ticket panel reads the same push.
    push: TicketPush | None = getattr(request, "ticket", None)
    if push is None:
        return None
    ticket = f"{push.form_label} {push.number}" if push.number else f"its {push.form_label}"
    return (
        f"Request #{request.pk} is fulfilled in the ITSM: the service desk works on {ticket} and "
        "its status comes back to the portal by itself. Change it in the ITSM (or cancel the "
        "request here, which cancels the ticket there first)."
    )
