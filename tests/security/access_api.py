"""Who may call each route of the JSON API, per method, with a personal token (A1, T1).

The same rule as the pages: the personas named get through (200, or 400 for an empty body a
write refuses after its guards); every other persona with a token gets exactly 403 when their
role may not take the action, and exactly 404 when it may but the object is customer A's and
they are customer B's; a call without a token gets 401. `ACCESS` holds the token page.
"""

from .access import (
    CATALOG_ADMIN,
    CUSTOMER_ADMIN,
    END_USER,
    MSP_STAFF,
    OUTSIDER,
    OUTSIDER_END_USER,
    PERSONAS,
    POSTED,
    SIGNED_IN,
    SYSTEM_ADMIN,
    Access,
    planted_question,
)
from .access_credits import _notification_of_a_admin
from .access_itsm_sync import _finished_run
from .access_portal import _eve_request

STAFF = frozenset({CATALOG_ADMIN})
READERS = frozenset({CATALOG_ADMIN, CUSTOMER_ADMIN})
END_USERS = frozenset({CUSTOMER_ADMIN, END_USER, OUTSIDER, OUTSIDER_END_USER})
REQUEST_READERS = frozenset({CUSTOMER_ADMIN, CATALOG_ADMIN, END_USER})
# Anyone with requests to read or make: handlers, and every end user (their own).
REQUESTERS_AND_HANDLERS = END_USERS | {CATALOG_ADMIN}
READ = frozenset({200})
WRITTEN = frozenset({200, 201, 202, 204, 400})


def _a(w) -> dict:
    return {"pk": w["a"]["customer"].pk}


def _a_service(w) -> dict:
    return {"pk": w["a"]["customer"].pk, "service_pk": w["a"]["service"].pk}


def _a_admin(w) -> dict:
    return {"pk": w["a"]["customer"].pk, "admin_pk": w["a"]["customer"].administrators.get().pk}


def _a_filter(w) -> dict:
    return {"pk": w["a"]["customer"].pk, "filter_pk": w["a"]["customer"].user_filters.get().pk}


def _a_marketplace(w) -> dict:
    return {"pk": w["a"]["customer"].pk, "marketplace_pk": w["a"]["marketplace"].pk}


def _a_admin_token(w) -> dict:
    from api.models import ApiToken
    from api.services import token_digest
    from tests.api.conftest import make_token

    secret = make_token(w["a"]["admin"])
    return {"pk": ApiToken.objects.get(digest=token_digest(secret)).pk}


def _a_catalog_service(w) -> dict:
    return {"pk": w["a"]["service"].pk}


def _a_question(w) -> dict:
    return planted_question(w["a"]["service"])


def read(allowed, **kw) -> Access:
    return Access(allowed, ok=READ, **kw)


def write(allowed, method: str = "post", **kw) -> Access:
    return Access(allowed, method=method, ok=WRITTEN, **kw)


EVERYONE = frozenset(PERSONAS)
V1 = "api:v1:"

API_ACCESS: dict[tuple[str, str], Access] = {
    # The schema and its reference pages describe the API; they hold no data.
    (V1 + "schema", "get"): Access(EVERYONE, public=True),
    (V1 + "docs", "get"): Access(EVERYONE, public=True),
    (V1 + "customer_list", "get"): read(STAFF),
    (V1 + "customer_list", "post"): write(STAFF),
    (V1 + "customer_detail", "get"): read(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_services", "get"): read(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_services", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_service_remove", "delete"): write(
        STAFF, "delete", kwargs=_a_service, owner="a"
    ),
    (V1 + "customer_administrators", "get"): read(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_administrators", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_administrator_remove", "delete"): write(
        STAFF, "delete", kwargs=_a_admin, owner="a"
    ),
    (V1 + "customer_end_user_filters", "get"): read(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_end_user_filters", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "customer_end_user_filter_delete", "delete"): write(
        STAFF, "delete", kwargs=_a_filter, owner="a"
    ),
    # Marketplaces: the customer's administrators, and catalog administrators for any customer
    # (named in the address, where a page uses "act as").
    (V1 + "marketplace_list", "get"): read(READERS, kwargs=_a, owner="a"),
    (V1 + "marketplace_list", "post"): write(READERS, kwargs=_a, owner="a"),
    (V1 + "marketplace_detail", "get"): read(READERS, kwargs=_a_marketplace, owner="a"),
    (V1 + "marketplace_services", "post"): write(READERS, kwargs=_a_marketplace, owner="a"),
    (V1 + "marketplace_audience", "post"): write(READERS, kwargs=_a_marketplace, owner="a"),
    (V1 + "customer_settings", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "explain", "get"): Access(READERS, kwargs=_a, owner="a", ok=frozenset({400})),
    (V1 + "credit_account", "get"): read(READERS, kwargs=_a, owner="a"),
    (V1 + "credit_ledger", "get"): read(READERS, kwargs=_a, owner="a"),
    (V1 + "credit_grant", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "credit_adjust", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "credit_hard_limit", "post"): write(STAFF, kwargs=_a, owner="a"),
    (V1 + "service_list", "get"): read(STAFF),
    (V1 + "service_list", "post"): write(STAFF),
    # The catalog is the MSP's, not a customer's: nobody's is out of scope, only out of role.
    (V1 + "service_detail", "get"): read(STAFF, kwargs=_a_catalog_service),
    (V1 + "service_detail", "post"): write(STAFF, kwargs=_a_catalog_service),
    (V1 + "service_publish", "post"): write(STAFF, kwargs=_a_catalog_service),
    (V1 + "service_retire", "post"): write(STAFF, kwargs=_a_catalog_service),
    (V1 + "category_list", "get"): read(STAFF),
    (V1 + "service_questions", "get"): read(STAFF, kwargs=_a_catalog_service),
    (V1 + "service_questions", "post"): write(STAFF, kwargs=_a_catalog_service),
    (V1 + "service_question", "post"): write(STAFF, kwargs=_a_question),
    (V1 + "service_question", "delete"): write(STAFF, "delete", kwargs=_a_question),
    (V1 + "service_question_move", "post"): write(STAFF, kwargs=_a_question),
    (V1 + "catalog", "get"): read(END_USERS),
    (V1 + "request_list", "get"): read(REQUESTERS_AND_HANDLERS),
    (V1 + "request_list", "post"): write(END_USERS),
    (V1 + "request_detail", "get"): read(REQUEST_READERS, kwargs=_eve_request, owner="a"),
    (V1 + "request_cancel", "post"): write(frozenset({END_USER}), kwargs=_eve_request, owner="a"),
    (V1 + "request_transition", "post"): write(REQUEST_READERS, kwargs=_eve_request, owner="a"),
    (V1 + "request_decide", "post"): write(READERS, kwargs=_eve_request, owner="a"),
    (V1 + "approval_list", "get"): read(frozenset({CUSTOMER_ADMIN, CATALOG_ADMIN, OUTSIDER})),
    (V1 + "sync_run_list", "get"): read(MSP_STAFF),
    (V1 + "sync_run_list", "post"): write(MSP_STAFF),
    (V1 + "sync_run_detail", "get"): read(MSP_STAFF, kwargs=_finished_run),
    (V1 + "sync_run_approve", "post"): write(MSP_STAFF, kwargs=_finished_run),
    (V1 + "audit_event_list", "get"): read(frozenset({SYSTEM_ADMIN})),
    # Everyone has their own notifications; someone else's is in nobody else's scope (404).
    (V1 + "notification_list", "get"): read(SIGNED_IN),
    (V1 + "notification_read_all", "post"): Access(SIGNED_IN, method="post", ok=READ),
    (V1 + "notification_read", "post"): Access(
        frozenset({CUSTOMER_ADMIN}),
        kwargs=_notification_of_a_admin,
        method="post",
        owner="a",
        ok=READ,
        others_get=404,
    ),
    # Everyone has their own tokens; someone else's is in nobody else's scope (404).
    (V1 + "token_list", "get"): read(SIGNED_IN),
    (V1 + "token_revoke", "post"): Access(
        frozenset({CUSTOMER_ADMIN}),
        kwargs=_a_admin_token,
        method="post",
        owner="a",
        ok=READ,
        others_get=404,
    ),
}

# The token page (a page, in the page harness): everyone signed in has their own tokens, and
# someone else's token is a 404.
ACCESS: dict[str, Access] = {
    "api:token_list": Access(SIGNED_IN),
    "api:token_revoke": Access(
        frozenset({CUSTOMER_ADMIN}),
        kwargs=_a_admin_token,
        method="post",
        owner="a",
        ok=POSTED,
        others_get=404,
    ),
}
