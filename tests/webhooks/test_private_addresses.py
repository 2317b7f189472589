"""An endpoint can't be used to reach inside the MSP's network: local, private and reserved
addresses are refused when registered and again when each delivery is sent (the host name is
resolved then), unless the operator allows them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from credits.services import credit_adjust
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import webhook_endpoint_add

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_addresses_refused(settings, receivers_on_loopback):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.0.0.5/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "https://192.168.1.10/hooks",
    ],
)
def test_a_private_address_is_refused_when_registered(tenant_a, url):
    with pytest.raises(ValidationError) as caught:
        webhook_endpoint_add(
            actor=tenant_a["admin"],
            customer=tenant_a["customer"],
            url=url,
            events=["request.created"],
        )
    assert "local or private address" in caught.value.message_dict["url"][0]
    assert "public address" in caught.value.message_dict["url"][0]


def test_a_name_resolving_to_a_private_address_is_refused_at_send_time(
    catalog_admin, tenant_a, credits_on, receiver, django_capture_on_commit_callbacks
):
    # Registered while allowed (or by a name that resolved elsewhere then): localhost is loopback.
    WebhookEndpointFactory(
        customer=tenant_a["customer"], url=receiver.url.replace("127.0.0.1", "localhost")
    )
    with django_capture_on_commit_callbacks(execute=True):
        credit_adjust(
            actor=catalog_admin, customer=tenant_a["customer"], amount=Decimal(-5), reason="x"
        )
    delivery = WebhookDelivery.objects.get()
    assert receiver.posts == []
    assert delivery.status == DeliveryStatus.PENDING
    assert "local or private address" in delivery.last_error


def test_the_operator_may_allow_private_addresses(settings, tenant_a):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    endpoint = webhook_endpoint_add(
        actor=tenant_a["admin"],
        customer=tenant_a["customer"],
        url="http://10.0.0.5/hooks",
        events=["request.created"],
    )
    assert endpoint.url == "http://10.0.0.5/hooks"
