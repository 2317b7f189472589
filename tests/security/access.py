"""Who may open each URL of the project: the isolation harness fails on any URL missing here.

Each entry names the personas that get the page (200). Every other signed-in persona gets exactly
403 when their role may not take the action, and exactly 404 when it may but the object is outside
their scope (customer B's personas on customer A's objects); anonymous visitors are sent to the
login page.
`kwargs` builds the URL arguments from the planted objects of the `world` fixture.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

ANONYMOUS = "anonymous"
SYSTEM_ADMIN = "system_admin"
CATALOG_ADMIN = "catalog_admin"
PLAIN_USER = "plain_user"

# Customer A's administrator and end user, and their counterparts of customer B (outsiders).
CUSTOMER_ADMIN = "customer_admin"
END_USER = "end_user"
OUTSIDER = "outsider"
OUTSIDER_END_USER = "outsider_end_user"

PERSONAS = [
    ANONYMOUS,
    SYSTEM_ADMIN,
    CATALOG_ADMIN,
    PLAIN_USER,
    CUSTOMER_ADMIN,
    END_USER,
    OUTSIDER,
    OUTSIDER_END_USER,
]
SIGNED_IN = frozenset(PERSONAS) - {ANONYMOUS}
MSP_STAFF = frozenset({SYSTEM_ADMIN, CATALOG_ADMIN})
# The roles customer B's personas hold, for customer B: a page of customer A's that one of these
# roles may open answers them 404 (out of scope); a page none of them may open answers 403.
# B's administrator is also an end user of B, as A's is of A.
ROLES_OF_B = {OUTSIDER: {CUSTOMER_ADMIN, END_USER}, OUTSIDER_END_USER: {END_USER}}


@dataclass(frozen=True)
class Access:
    allowed: frozenset[str]
    kwargs: Callable[[dict], dict] = field(default=lambda world: {})
    method: str = "get"
    public: bool = False
    # "a" when the URL points at an object of customer A: outsiders holding the role get 404.
    owner: str | None = None
    # Statuses that count as success for an allowed persona (a POST answers with a redirect).
    ok: frozenset[int] = frozenset({200})
    # What every other signed-in persona gets: 403 (their role may not take this action), or 404
    # for a URL naming one person's own object (a notification), which is in nobody else's scope.
    others_get: int = 403

    def refused_with(self, persona: str) -> int:
        """What a signed-in persona this entry does not allow gets: 404 where the object is outside
        its scope (one person's own object, or customer A's object for customer B's holders of
        the role), else 403 (its role may not take this action at all, never a 404 hiding it)."""
        if self.others_get == 404:
            return 404
        if self.owner == "a" and ROLES_OF_B.get(persona, set()) & self.allowed:
            return 404
        return 403


POSTED = frozenset({200, 302})


def planted_question(service) -> dict:
    """A question of service (made once), as the URLs of a service's question take it."""
    from catalog.models import Question

    question = Question.objects.filter(service=service).first()
    if question is None:
        question = Question.objects.create(
            service=service, position=1, kind="short_text", label="Cost centre"
        )
    return {"pk": service.pk, "question_pk": question.pk}


def _question(world) -> dict:
    return planted_question(world["service"])


ACCESS: dict[str, Access] = {
    # Customer administrators and end users are sent on to their own landing page (which one:
    # test_home_lands_each_persona_on_its_own_page).
    "home": Access(SIGNED_IN, ok=frozenset({200, 302})),
    "login": Access(frozenset(PERSONAS), public=True),
    "logout": Access(frozenset(PERSONAS), method="post", public=True),
    "password_reset_confirm": Access(
        frozenset(PERSONAS), kwargs=lambda world: {"uidb64": "MQ", "token": "x-y"}, public=True
    ),
    "password_reset_complete": Access(frozenset(PERSONAS), public=True),
    # "Forgot password?": anyone may ask; the answer never says whether an account has the address.
    "password_reset": Access(frozenset(PERSONAS), public=True),
    "password_reset_done": Access(frozenset(PERSONAS), public=True),
    # Two-factor pages: anyone signed in without an app may pair one; verify sends those without
    # one to set-up. Changing a factor needs a verified session: without an app the planted
    # personas are sent to set-up (tests/accounts/test_two_factor.py covers the rest).
    "two_factor_setup": Access(SIGNED_IN),
    "two_factor_verify": Access(SIGNED_IN, ok=frozenset({200, 302})),
    "two_factor_manage": Access(SIGNED_IN),
    "two_factor_replace": Access(SIGNED_IN, ok=frozenset({302})),
    "two_factor_recovery_codes": Access(SIGNED_IN, ok=frozenset({302})),
    "audit_event_list": Access(frozenset({SYSTEM_ADMIN})),
    "customers:msp_mode": Access(frozenset({SYSTEM_ADMIN})),
    "accounts:external_user_list": Access(frozenset({SYSTEM_ADMIN})),
    "accounts:people_group_list": Access(frozenset({SYSTEM_ADMIN})),
    "accounts:people_group_edit": Access(
        frozenset({SYSTEM_ADMIN}), kwargs=lambda world: {"pk": world["group"].pk}
    ),
    # The catalog is the catalog administrators' alone; system administrators don't hold its roles.
    "catalog:service_list": Access(frozenset({CATALOG_ADMIN})),
    "catalog:service_create": Access(frozenset({CATALOG_ADMIN})),
    "catalog:service_edit": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda world: {"pk": world["service"].pk}
    ),
    # A service's questions (issue 15): the catalog administrators' editor and its preview.
    "catalog:question_add": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda world: {"pk": world["service"].pk},
        method="post",
        ok=frozenset({200, 302}),
    ),
    "catalog:question_edit": Access(frozenset({CATALOG_ADMIN}), kwargs=lambda w: _question(w)),
    "catalog:question_delete": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: _question(w),
        method="post",
        ok=frozenset({302}),
    ),
    "catalog:question_move": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: _question(w),
        method="post",
        ok=frozenset({302}),
    ),
    "catalog:question_preview": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda world: {"pk": world["service"].pk}
    ),
    "catalog:category_list": Access(frozenset({CATALOG_ADMIN})),
    "catalog:category_edit": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda world: {"pk": world["category"].pk}
    ),
    "customers:switch_company": Access(
        frozenset({CATALOG_ADMIN}), method="post", ok=frozenset({302})
    ),
    "customers:switch_back": Access(SIGNED_IN, method="post", ok=frozenset({302})),
    # Catalog > Customers: the catalog administrators' pages (M5 is on in the planted world).
    "customers:customer_list": Access(frozenset({CATALOG_ADMIN})),
    "customers:customer_add": Access(frozenset({CATALOG_ADMIN})),
    "customers:company_options": Access(frozenset({CATALOG_ADMIN})),
    "customers:person_options": Access(frozenset({CATALOG_ADMIN})),
    "customers:service_options": Access(frozenset({CATALOG_ADMIN})),
    "customers:customer_detail": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda w: {"pk": w["a"]["customer"].pk}, owner="a"
    ),
    "customers:customer_settings": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {"pk": w["a"]["customer"].pk},
        method="post",
        owner="a",
        ok=POSTED,
    ),
    "customers:customer_services_add": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {"pk": w["a"]["customer"].pk},
        method="post",
        owner="a",
        ok=POSTED,
    ),
    "customers:customer_service_remove": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {"pk": w["a"]["customer"].pk, "service_pk": w["a"]["service"].pk},
        owner="a",
    ),
    "customers:customer_admin_add": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {"pk": w["a"]["customer"].pk},
        method="post",
        owner="a",
        ok=POSTED,
    ),
    "customers:customer_admin_remove": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {
            "pk": w["a"]["customer"].pk,
            "admin_pk": w["a"]["customer"].administrators.get().pk,
        },
        method="post",
        owner="a",
        ok=POSTED,
    ),
    "customers:invitation_resend": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {"pk": w["a"]["customer"].pk, "user_pk": w["a"]["eve"].pk},
        method="post",
        owner="a",
        ok=POSTED,
    ),
    "customers:end_user_list": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda w: {"pk": w["a"]["customer"].pk}, owner="a"
    ),
    "customers:end_user_filter_add": Access(
        frozenset({CATALOG_ADMIN}), kwargs=lambda w: {"pk": w["a"]["customer"].pk}, owner="a"
    ),
    "customers:end_user_filter_edit": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {
            "pk": w["a"]["customer"].pk,
            "filter_pk": w["a"]["customer"].user_filters.get().pk,
        },
        owner="a",
    ),
    "customers:end_user_filter_delete": Access(
        frozenset({CATALOG_ADMIN}),
        kwargs=lambda w: {
            "pk": w["a"]["customer"].pk,
            "filter_pk": w["a"]["customer"].user_filters.get().pk,
        },
        method="post",
        owner="a",
        ok=POSTED,
    ),
}

# Each later area keeps its own table next to this one; they are merged here.
for _module in (
    "access_entitlements",
    "access_portal",
    "access_itsm_sync",
    "access_credits",
    "access_sso",
    "access_api",
    "access_webhooks",
    "access_approvals",
    "access_fulfilment",
):
    ACCESS.update(importlib.import_module(f"tests.security.{_module}").ACCESS)

# The Django admin is one area: staff only, guarded by Django's own admin_view.
NAMESPACES_STAFF_ONLY = {"admin"}
# The JSON API has a harness of its own, called with tokens (test_api_isolation.py).
NAMESPACES_ELSEWHERE = {"api:v1"}
