"""The Fulfilment entry of the catalog administrators' menu (registered in ready())."""

from django.http import HttpRequest
from django.urls import reverse

from customers.scope import is_msp_staff


def nav_items(request: HttpRequest) -> list[tuple[str, str, str]]:
    if request is None or not request.user.is_authenticated:
        return []
    if is_msp_staff(request.user) and request.user.has_perm("catalog.change_service"):
        return [("Fulfilment", reverse("fulfilment:push_list"), "tools")]
    return []
