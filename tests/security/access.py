"""Who may open each URL of the project: the isolation harness fails on any URL missing here.

Each entry names the personas that get the page (200); every other signed-in persona gets 403
(or 404 for an object outside their scope), and anonymous visitors are sent to the login page.
`kwargs` builds the URL arguments from the planted objects of the `world` fixture.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

ANONYMOUS = "anonymous"
SYSTEM_ADMIN = "system_admin"
CATALOG_ADMIN = "catalog_admin"
PLAIN_USER = "plain_user"

PERSONAS = [ANONYMOUS, SYSTEM_ADMIN, CATALOG_ADMIN, PLAIN_USER]
SIGNED_IN = frozenset(PERSONAS) - {ANONYMOUS}
MSP_STAFF = frozenset({SYSTEM_ADMIN, CATALOG_ADMIN})


@dataclass(frozen=True)
class Access:
    allowed: frozenset[str]
    kwargs: Callable[[dict], dict] = field(default=lambda world: {})
    method: str = "get"
    public: bool = False


ACCESS: dict[str, Access] = {
    "home": Access(SIGNED_IN),
    "login": Access(frozenset(PERSONAS), public=True),
    "logout": Access(frozenset(PERSONAS), method="post", public=True),
    "audit_event_list": Access(frozenset({SYSTEM_ADMIN})),
    "customers:msp_mode": Access(frozenset({SYSTEM_ADMIN})),
    "accounts:external_user_list": Access(frozenset({SYSTEM_ADMIN})),
    "accounts:people_group_list": Access(frozenset({SYSTEM_ADMIN})),
    "accounts:people_group_edit": Access(
        frozenset({SYSTEM_ADMIN}), kwargs=lambda world: {"pk": world["group"].pk}
    ),
}

# The Django admin is one area: staff only, guarded by Django's own admin_view.
NAMESPACES_STAFF_ONLY = {"admin"}
