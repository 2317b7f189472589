"""Reads of webhooks, narrowed to what the user may see (T1)."""

from django.db.models import QuerySet

from msp_portal.tenancy import visible_to

from .models import WebhookDelivery, WebhookEndpoint


def endpoint_list(*, user) -> QuerySet[WebhookEndpoint]:
    """Endpoints the user manages: all for catalog administrators, else their customer's."""
    return visible_to(user, WebhookEndpoint).select_related("customer__company", "created_by")


def delivery_list(*, user, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The delivery log of one endpoint the user may see, newest first."""
    return visible_to(user, WebhookDelivery).filter(endpoint=endpoint)
