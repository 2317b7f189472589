import pytest

from .receiver import Receiver


@pytest.fixture(autouse=True)
def receivers_on_loopback(settings):
    """The receivers of these tests listen on 127.0.0.1, a private address deliveries otherwise
    refuse (tests/webhooks/test_private_addresses.py covers the refusal)."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def receiver_factory():
    started = []

    def make(**kwargs) -> Receiver:
        receiver = Receiver(**kwargs).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def receiver(receiver_factory):
    return receiver_factory()


@pytest.fixture
def credits_on(tenant_a, tenant_b):
    """Both customers with Credit Management on and an alert threshold of 50."""
    from customers.models import Customer

    Customer.objects.filter(pk__in=[tenant_a["customer"].pk, tenant_b["customer"].pk]).update(
        credit_management=True, alert_threshold=50
    )
