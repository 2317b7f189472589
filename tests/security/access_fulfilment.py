"""Who may open each URL of fulfilment; merged into tests/security/access.py's ACCESS.

The Fulfilment page, its retry and a service's fulfilment settings are the catalog
administrators'; "Check now" on a request is for whoever reads the request (its requester, A's
administrators, catalog administrators), and B's people get 404 on A's request.
"""

from .access import CATALOG_ADMIN, CUSTOMER_ADMIN, END_USER, POSTED, Access
from .access_portal import _eve_request


def _stuck_push(w) -> dict:
    from fulfilment.models import FulfilmentMode, PushState, TicketPush

    request_pk = _eve_request(w)["pk"]
    push = TicketPush.objects.create(
        request_id=request_pk,
        mode=FulfilmentMode.WORK_ORDER,
        reference=f"MSP-PORTAL-{request_pk}",
        state=PushState.STUCK,
        attempts=5,
        last_error="Planted",
    )
    return {"pk": push.pk}


ACCESS: dict[str, Access] = {
    "fulfilment:push_list": Access(frozenset({CATALOG_ADMIN})),
    "fulfilment:push_retry": Access(
        frozenset({CATALOG_ADMIN}), kwargs=_stuck_push, method="post", ok=POSTED
    ),
    "fulfilment:settings_edit": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda w: {"pk": w["service"].pk}
    ),
    "fulfilment:request_refresh": Access(
        frozenset({CUSTOMER_ADMIN, CATALOG_ADMIN, END_USER}),
        kwargs=_eve_request,
        method="post",
        owner="a",
        ok=POSTED,
    ),
}
