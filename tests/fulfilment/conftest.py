"""Fulfilment tests: tenant A's Laptop fulfilled as a work order in an AR simulator over HTTP."""

from decimal import Decimal

import pytest

from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.services import request_submit
from fulfilment.models import FulfilmentMode, FulfilmentSettings, TicketPush
from fulfilment.services import ticket_push
from tests.itsm_sync.sync_helpers import PASSWORD, USER, running_simulator


@pytest.fixture
def sim(monkeypatch, settings):
    """An AR simulator the portal reaches through ITSM_URL, with no retry inside one attempt."""
    for name, value in {
        "ITSM_USER": USER,
        "ITSM_PASSWORD": PASSWORD,
        "ITSM_RETRIES": "0",
        "ITSM_BACKOFF": "0",
        "ITSM_PAGE_SIZE": "50",
        "ITSM_OVERLAP_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ITSM_FILE", raising=False)
    settings.FULFILMENT_BACKOFF_SECONDS = 0
    for simulator in running_simulator(companies=2, people=5):
        monkeypatch.setenv("ITSM_URL", simulator.url)
        yield simulator


@pytest.fixture
def work_orders(tenant_a, catalog_admin):
    """Tenant A's Laptop is fulfilled as a work order; 100 credits to spend, 20 a laptop."""
    service = tenant_a["service"]
    service.price = Decimal("20")
    service.save(update_fields=["price"])
    FulfilmentSettings.objects.create(
        service=service, mode=FulfilmentMode.WORK_ORDER, priority="High"
    )
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("100"), reason="PO 1")
    return tenant_a


def submit(tenant, who: str = "eve"):
    return request_submit(
        actor=tenant[who], service=tenant["service"], quantity=1, justification="New starter"
    )


def pushed(tenant, who: str = "eve") -> TicketPush:
    """A request submitted and its work order created in the simulator."""
    request = submit(tenant, who)
    push = ticket_push(push_id=request.ticket.pk)
    assert push.state == "created", push.last_error
    return push
