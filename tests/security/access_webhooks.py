"""Who may open each URL of webhooks; merged into tests/security/access.py's ACCESS.

Catalog administrators manage every endpoint; a customer administrator their own customer's
(both customers' administrators reach the list and the add page, each seeing their own), and
B's administrator gets 404 on A's endpoint and deliveries. Everyone else gets 403.
"""

from .access import CATALOG_ADMIN, CUSTOMER_ADMIN, OUTSIDER, POSTED, Access

MANAGERS = frozenset({CATALOG_ADMIN, CUSTOMER_ADMIN, OUTSIDER})
OF_A = frozenset({CATALOG_ADMIN, CUSTOMER_ADMIN})


def _endpoint(w) -> dict:
    from tests.webhooks.factories import WebhookEndpointFactory

    return {"pk": WebhookEndpointFactory(customer=w["a"]["customer"]).pk}


def _delivery(w) -> dict:
    from tests.webhooks.factories import WebhookDeliveryFactory

    return {"pk": WebhookDeliveryFactory(endpoint__customer=w["a"]["customer"]).pk}


ACCESS: dict[str, Access] = {
    "webhooks:endpoint_list": Access(MANAGERS),
    "webhooks:endpoint_add": Access(MANAGERS),
    "webhooks:endpoint_detail": Access(OF_A, kwargs=_endpoint, owner="a"),
    "webhooks:endpoint_edit": Access(OF_A, kwargs=_endpoint, owner="a"),
    "webhooks:endpoint_remove": Access(OF_A, kwargs=_endpoint, method="post", owner="a", ok=POSTED),
    "webhooks:endpoint_secret_reveal": Access(
        OF_A, kwargs=_endpoint, method="post", owner="a", ok=POSTED
    ),
    "webhooks:endpoint_secret_rotate": Access(
        OF_A, kwargs=_endpoint, method="post", owner="a", ok=POSTED
    ),
    "webhooks:delivery_resend": Access(OF_A, kwargs=_delivery, method="post", owner="a", ok=POSTED),
}
