"""A request submission costs a small, fixed number of queries whatever the catalog's size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Service, ServiceStatus
from credits.models import CreditEntry
from credits.services import credit_grant
from customers.models import CustomerService
from entitlements.models import MarketplaceService, ServiceRequest

# Counted as in production: one real transaction per request, not a savepoint in the test's.
pytestmark = pytest.mark.django_db(transaction=True)

# Issue 13's target for a priced service with Credit Management on (the costliest path): the
# session and user, the MSP flag, access resolution, the request, the debit with its ledger row
# and balance, and the audit event.
SUBMIT_QUERIES = 15


def _priced(tenant, catalog_admin, extra_services: int):
    customer = tenant["customer"]
    customer.credit_management = True
    customer.save()
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal(100), reason="Opening")
    service = tenant["service"]
    service.price = Decimal("12.50")
    service.save()
    _offer_more(tenant, extra_services)
    return service


def _offer_more(tenant, count: int) -> None:
    """count more published services, assigned to the customer and offered to everyone."""
    start = Service.objects.count()
    services = Service.objects.bulk_create(
        Service(
            name=f"Extra {start + i}",
            description="Filler",
            category=tenant["service"].category,
            status=ServiceStatus.PUBLISHED,
            price=Decimal("1.00"),
        )
        for i in range(count)
    )
    assignments = CustomerService.objects.bulk_create(
        CustomerService(customer=tenant["customer"], service=s) for s in services
    )
    MarketplaceService.objects.bulk_create(
        MarketplaceService(marketplace=tenant["marketplace"], assignment=a) for a in assignments
    )


def _post(client, service, key: str):
    return client.post(
        reverse("portal:request_create", args=[service.pk]),
        {"quantity": 2, "justification": "New starter", "submission_key": key},
    )


@pytest.mark.parametrize("extra_services", [9, 1999])
def test_submitting_a_priced_request_is_bounded(client, tenant_a, catalog_admin, extra_services):
    service = _priced(tenant_a, catalog_admin, extra_services)
    client.force_login(tenant_a["eve"])
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, service, f"submission-key-{extra_services:06d}")
    assert response.status_code == 302
    assert ServiceRequest.objects.get().total == Decimal("25.00")
    assert CreditEntry.objects.filter(amount=Decimal("-25.00")).count() == 1
    assert len(queries) <= SUBMIT_QUERIES, "\n".join(q["sql"][:160] for q in queries)


def test_the_submission_costs_the_same_with_10_or_2000_services(client, tenant_a, catalog_admin):
    service = _priced(tenant_a, catalog_admin, 9)
    client.force_login(tenant_a["eve"])
    _post(client, service, "submission-key-warm-up")
    with CaptureQueriesContext(connection) as small:
        _post(client, service, "submission-key-small")
    _offer_more(tenant_a, 1990)
    with CaptureQueriesContext(connection) as large:
        _post(client, service, "submission-key-large")
    assert ServiceRequest.objects.count() == 3
    assert len(large) == len(small)
