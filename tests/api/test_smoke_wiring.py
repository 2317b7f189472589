"""Each endpoint answers its persona with the same data the pages show (wiring)."""

from decimal import Decimal

from django.urls import reverse

from credits.services import credit_grant
from customers.services import customer_settings_update


def test_customer_admin_token_lists_only_own_customers_requests(api_as, tenant_a, tenant_b):
    from entitlements.services import request_submit

    mine = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="work"
    )
    theirs = request_submit(
        actor=tenant_b["eve"], service=tenant_b["service"], quantity=1, justification="work"
    )
    api = api_as(tenant_a["admin"])
    response = api.get(reverse("api:v1:request_list"))
    assert response.status_code == 200, response.content
    ids = [r["id"] for r in response.json()["results"]]
    assert ids == [mine.pk]
    other = api.get(reverse("api:v1:request_detail", args=[theirs.pk]))
    assert other.status_code == 404
    assert other["Content-Type"] == "application/problem+json"
    assert other.json()["status"] == 404


def test_end_user_creates_a_request_and_cancels_it(api_as, tenant_a):
    api = api_as(tenant_a["eve"])
    response = api.post(
        reverse("api:v1:request_list"),
        {"service": tenant_a["service"].pk, "quantity": 1, "justification": "new starter"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service_id"] == tenant_a["service"].pk
    assert "cancelled" in body["actions"]
    cancelled = api.post(reverse("api:v1:request_cancel", args=[body["id"]]))
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"


def test_catalog_admin_grants_credits(api_as, catalog_admin, tenant_a):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    api = api_as(catalog_admin)
    response = api.post(
        reverse("api:v1:credit_grant", args=[customer.pk]),
        {"amount": "250.00", "reason": "PO 1234"},
    )
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["balance"]) == Decimal("250.00")
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal(5), reason="x")
    ledger = api.get(reverse("api:v1:credit_ledger", args=[customer.pk]))
    assert [e["amount"] for e in ledger.json()["results"]] == ["5.00", "250.00"]
