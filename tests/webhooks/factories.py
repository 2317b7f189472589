import factory

from webhooks.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from webhooks.services import secret_new


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    customer = None
    # Port 9 (discard) on loopback: a send the test did not mean to make fails at once.
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/hooks/{n}")
    description = factory.Sequence(lambda n: f"Receiver {n}")
    events = factory.LazyFunction(lambda: [Event.CREDITS_BELOW_ZERO, Event.CREDITS_LOW_BALANCE])
    secret = factory.LazyFunction(secret_new)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_type = Event.CREDITS_BELOW_ZERO
    msg_id = factory.Sequence(lambda n: f"msg_test{n:08d}")
    payload = factory.LazyAttribute(lambda d: {"type": d.event_type, "data": {}})
    status = DeliveryStatus.DELIVERED
    attempts = 1
