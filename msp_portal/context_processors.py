"""Template context every page needs: the role-aware navigation and the acting-as banner."""

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject

from .installation import running_release
from .selectors import notification_unread_count

# (label, url name, permission, icon) of the staff's entries; the apps above add theirs through
# NAV_PROVIDERS.
NAVIGATION = [
    ("Customers", "customers:customer_list", "customers.view_customer", "building"),
    ("Credit balances", "credits:account_list", "customers.view_customer", "coin"),
    ("Service catalog", "catalog:service_list", "catalog.view_service", "grid"),
    ("ITSM sync", "itsm_sync:run_list", "itsm_sync.view_syncrun", "arrow-repeat"),
    ("Companies", "itsm_sync:company_list", "itsm_sync.view_company", "buildings"),
    ("People", "itsm_sync:person_list", "itsm_sync.view_person", "people"),
    ("MSP mode", "customers:msp_mode", "msp_portal.manage_msp_mode", "shield-check"),
    ("External users", "accounts:external_user_list", "accounts.add_external_user", "person-badge"),
    ("People groups", "accounts:people_group_list", "accounts.view_peoplegroup", "diagram-3"),
    ("Audit trail", "audit_event_list", "msp_portal.view_auditevent", "journal-text"),
]


# Higher layers register callables here (in AppConfig.ready) that return extra navigation
# entries (label, url, icon) for a request; the lowest layer can't import them.
NAV_PROVIDERS: list = []


@lru_cache(maxsize=8)
def _navigation(prefix: str, urlconf: str | None) -> tuple[tuple[str, str, str, str], ...]:
    """NAVIGATION with its URLs reversed once per URL prefix and URLconf, not on every page."""
    return tuple(
        (label, reverse(url_name, urlconf=urlconf), perm, icon)
        for label, url_name, perm, icon in NAVIGATION
    )


def _nav_for(user, path: str, request=None) -> list[dict]:
    items = []
    for provider in NAV_PROVIDERS:
        # An entry may carry a fourth element: the URL its count badge is drawn from (htmx).
        for label, url, icon, *badge in provider(request):
            items.append(
                {
                    "label": label,
                    "url": url,
                    "icon": icon,
                    "active": path.startswith(url),
                    "badge_url": badge[0] if badge else "",
                }
            )
    # One set for every entry: user.has_perm would ask each authentication backend anew.
    granted = None if user.is_active and user.is_superuser else user.get_all_permissions()
    for label, url, perm, icon in _navigation(get_script_prefix(), get_urlconf()):
        if granted is None or perm in granted:
            items.append({"label": label, "url": url, "icon": icon, "active": path.startswith(url)})
    return items


def _unread(user) -> int | SimpleLazyObject:
    """The bell's count: loaded with the user (accounts.backends), else one lazy COUNT."""
    if user is None or not user.is_authenticated:
        return 0
    loaded = getattr(user, "unread_notifications", None)
    if loaded is not None:
        return loaded
    return SimpleLazyObject(lambda: notification_unread_count(user_id=user.pk))


def _home_is_dashboard(request: HttpRequest) -> bool:
    from .views import home_landing

    return home_landing(request) is None


def portal(request: HttpRequest) -> dict:
    """Navigation for the signed-in user, the acting-as customer and deployment facts."""
    user = getattr(request, "user", None)
    nav = (
        _nav_for(user, request.path, request) if user is not None and user.is_authenticated else []
    )
    return {
        "nav_items": nav,
        # Home is in the menu only where it is a page of its own: a customer administrator's
        # Home is their Overview, an end user's their Catalog, each in the menu already.
        "home_in_menu": bool(user and user.is_authenticated) and _home_is_dashboard(request),
        "acting_as": getattr(request, "acting_as", None),
        "deployment_mode": settings.DEPLOYMENT_MODE,
        "portal_release": running_release(),
        "notifications_unread": _unread(user),
    }
