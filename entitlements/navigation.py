"""Navigation and landing pages of customer administrators and end users (registered in ready())."""

from django.http import HttpRequest
from django.urls import reverse

from customers.scope import end_user_customer, is_msp_staff, managed_customer
from msp_portal.selectors import capped_count

from .models import RequestStatus
from .selectors import request_list

MANAGE_ITEMS = [
    ("Overview", "entitlements:home", "speedometer2"),
    ("Marketplaces", "entitlements:marketplace_list", "shop"),
    ("Entitlements by user", "entitlements:access_by_user", "person-check"),
    ("Requests", "portal:request_list", "inbox"),
]
END_USER_ITEMS = [
    ("Catalog", "portal:catalog", "grid-3x3-gap"),
    ("My requests", "portal:my_requests", "card-checklist"),
]


def _items(names) -> list[tuple[str, str, str]]:
    return [(label, reverse(name), icon) for label, name, icon in names]


def nav_items(request: HttpRequest) -> list[tuple[str, str, str]]:
    """Entries for customer administrators (or staff acting as a customer) and end users."""
    if request is None or not request.user.is_authenticated:
        return []
    items = []
    if managed_customer(request) is not None:
        items += _items(MANAGE_ITEMS)
    elif request.user.has_perm("customers.view_customer"):
        items += _items([("Requests", "portal:request_list", "inbox")])
    if end_user_customer(request.user) is not None:
        items += _items(END_USER_ITEMS)
    return items


def home_tiles(request: HttpRequest) -> list[dict]:
    """The staff home's requests tile: approved requests nobody has started on yet."""
    if not is_msp_staff(request.user):
        return []
    waiting = request_list(user=request.user).filter(status=RequestStatus.APPROVED)
    count, more = capped_count(waiting)
    return [
        {
            "key": "requests-waiting",
            "order": 10,
            "label": "Requests waiting",
            "value": f"{count}{'+' if more else ''}",
            "detail": "Approved, not started yet." if count else "Nothing is waiting.",
            "when": None,
            "url": f"{reverse('portal:request_list')}?status={RequestStatus.APPROVED}",
            "tone": "warning" if count else "",
        }
    ]


def home_url(request: HttpRequest) -> str | None:
    """Customer administrators land on their overview, end users on their catalog."""
    if request.user.is_staff:
        return None
    if managed_customer(request) is not None:
        return reverse("entitlements:home")
    if end_user_customer(request.user) is not None:
        return reverse("portal:catalog")
    return None
