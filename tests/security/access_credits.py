"""Who may open each URL of credits; merged into tests/security/access.py's ACCESS.

Catalog administrators see and manage every customer's credits; customer A's administrator
reads A's account (B's administrator gets 404 on it); everyone signed in has their own
notifications, and someone else's notification is a 404.
"""

from msp_portal.models import Notification

from .access import CATALOG_ADMIN, CUSTOMER_ADMIN, POSTED, SIGNED_IN, Access

STAFF = frozenset({CATALOG_ADMIN})
READERS = frozenset({CATALOG_ADMIN, CUSTOMER_ADMIN})


def _customer(w) -> dict:
    return {"pk": w["a"]["customer"].pk}


def _notification_of_a_admin(w) -> dict:
    notification = Notification.objects.create(user=w["a"]["admin"], title="Planted alert")
    return {"pk": notification.pk}


ACCESS: dict[str, Access] = {
    "credits:account_list": Access(STAFF),
    "credits:account_detail": Access(READERS, kwargs=_customer, owner="a"),
    "credits:ledger_export": Access(READERS, kwargs=_customer, owner="a"),
    "credits:grant": Access(STAFF, kwargs=_customer, method="post", owner="a", ok=POSTED),
    "credits:adjust": Access(STAFF, kwargs=_customer, method="post", owner="a", ok=POSTED),
    "credits:hard_limit": Access(STAFF, kwargs=_customer, method="post", owner="a", ok=POSTED),
    "credits:notification_list": Access(SIGNED_IN),
    "credits:notification_menu": Access(SIGNED_IN),
    "credits:notification_read_all": Access(SIGNED_IN, method="post", ok=POSTED),
    "credits:notification_read": Access(
        frozenset({CUSTOMER_ADMIN}),
        kwargs=_notification_of_a_admin,
        method="post",
        owner="a",
        ok=POSTED,
        others_get=404,
    ),
}
