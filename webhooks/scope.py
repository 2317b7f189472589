"""Who sees and manages which webhook endpoints and deliveries (T1), registered with tenancy.

Catalog administrators (the customers role's change permission) manage every endpoint,
catalog-wide or a customer's; a customer administrator only their own customer's; nobody else
any. Viewing and changing are the same right here: the page shows the signing secret.
"""

from django.db.models import Q

from customers.scope import by_customer, is_msp_staff
from msp_portal.tenancy import CHANGE, NOTHING, scope_register

from .models import WebhookDelivery, WebhookEndpoint


def may_manage_all(user) -> bool:
    """Catalog administrators manage catalog-wide endpoints and every customer's."""
    return is_msp_staff(user, CHANGE)


def _rule(path: str):
    customers = by_customer(path)

    def rule(user, action: str) -> Q:
        if may_manage_all(user):
            return Q()
        if is_msp_staff(user):
            return NOTHING  # staff who only read customers don't see secrets
        return customers(user, CHANGE)

    return rule


def register() -> None:
    scope_register(WebhookEndpoint, _rule("customer__"))
    scope_register(WebhookDelivery, _rule("endpoint__customer__"))
