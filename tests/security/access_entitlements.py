"""Who may open each URL of this area; merged into tests/security/access.py's ACCESS.

The customer-administrator pages serve the customer a person administers: customer A's and
customer B's administrators both reach the pages without arguments (each sees their own), and
B's administrator gets 404 on every URL naming one of A's objects. Catalog administrators reach
them only while acting as a customer ("switch company"); without it they get a 403 page saying
so, which tests/entitlements/test_manage_views.py covers together with acting-as.
"""

from .access import CUSTOMER_ADMIN, OUTSIDER, POSTED, Access

ADMINS = frozenset({CUSTOMER_ADMIN, OUTSIDER})
A_ADMIN = frozenset({CUSTOMER_ADMIN})


def _marketplace(w) -> dict:
    return {"pk": w["a"]["marketplace"].pk}


ACCESS: dict[str, Access] = {
    "entitlements:home": Access(ADMINS),
    "entitlements:marketplace_list": Access(ADMINS),
    "entitlements:marketplace_create": Access(ADMINS, method="post", ok=POSTED),
    "entitlements:end_user_options": Access(ADMINS),
    "entitlements:department_options": Access(ADMINS),
    "entitlements:access_by_user": Access(ADMINS),
    "entitlements:explain": Access(ADMINS),
    "entitlements:marketplace_detail": Access(A_ADMIN, kwargs=_marketplace, owner="a"),
    "entitlements:marketplace_rename": Access(
        A_ADMIN, kwargs=_marketplace, method="post", owner="a", ok=POSTED
    ),
    "entitlements:marketplace_delete": Access(A_ADMIN, kwargs=_marketplace, owner="a"),
    "entitlements:marketplace_service_options": Access(A_ADMIN, kwargs=_marketplace, owner="a"),
    "entitlements:marketplace_services_add": Access(
        A_ADMIN, kwargs=_marketplace, method="post", owner="a", ok=POSTED
    ),
    "entitlements:marketplace_service_remove": Access(
        A_ADMIN,
        kwargs=lambda w: {"pk": w["a"]["marketplace"].pk, "service_pk": w["a"]["service"].pk},
        owner="a",
    ),
    "entitlements:audience_rule_add": Access(
        A_ADMIN, kwargs=_marketplace, method="post", owner="a", ok=POSTED
    ),
    "entitlements:audience_rule_remove": Access(
        A_ADMIN,
        kwargs=lambda w: {
            "pk": w["a"]["marketplace"].pk,
            "rule_pk": w["a"]["marketplace"].rules.get().pk,
        },
        owner="a",
    ),
}
