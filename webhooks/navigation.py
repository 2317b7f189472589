"""The Webhooks entry of the menu, for those who manage endpoints (registered in ready())."""

from django.http import HttpRequest
from django.urls import reverse

from customers.scope import administered_customer

from .scope import may_manage_all


def nav_items(request: HttpRequest) -> list[tuple[str, str, str]]:
    if request is None or not request.user.is_authenticated:
        return []
    if may_manage_all(request.user) or administered_customer(request.user) is not None:
        return [("Webhooks", reverse("webhooks:endpoint_list"), "broadcast")]
    return []
