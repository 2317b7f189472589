"""List filters (django-filter FilterSets) in the browser: a choice from outside the user's scope
is refused beside the filter and the list still shows; a filter chosen on the page narrows it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from credits.services import credit_adjust, credit_grant
from customers.services import customer_settings_update
from entitlements.services import request_submit
from tests.accounts.factories import PASSWORD

from .conftest import login

pytestmark = pytest.mark.e2e


def test_another_customers_service_in_a_request_link_is_refused_beside_the_filter(
    page, shot, tenant_a, tenant_b
):
    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="New hire"
    )
    login(page, tenant_a["admin"].username, PASSWORD)
    page.goto(f"/portal/requests/?service={tenant_b['service'].pk}")
    filters = page.get_by_test_id("request-filters")
    expect(filters).to_contain_text("Service: Pick one from the list, or clear it.")
    # Customer B's service is not offered, and the refused filter narrows nothing.
    expect(filters.locator("select[name=service] option")).to_have_text(["Any service", "Laptop"])
    expect(page.get_by_test_id("request-table")).to_contain_text("Laptop")
    shot(page, "92-request-list-foreign-service")


def test_the_ledger_kind_filter_narrows_the_history_in_place(page, shot, tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    credit_grant(
        actor=catalog_admin,
        customer=customer,
        amount=Decimal("40"),
        reason="Purchase order 7",
        idempotency_key="e2e-grant",
    )
    credit_adjust(
        actor=catalog_admin,
        customer=customer,
        amount=Decimal("-5"),
        reason="Correction of a typo",
        idempotency_key="e2e-adjust",
    )
    login(page, tenant_a["admin"].username, PASSWORD)
    page.goto(reverse("credits:account_detail", kwargs={"pk": customer.pk}))
    ledger = page.get_by_test_id("ledger-table")
    expect(ledger).to_contain_text("Purchase order 7")
    page.get_by_label("Kind").select_option("adjustment")
    expect(ledger).not_to_contain_text("Purchase order 7")
    expect(ledger).to_contain_text("Correction of a typo")
    expect(page).to_have_url(re.compile(r"[?&]kind=adjustment"))
    shot(page, "93-ledger-filtered-by-kind")
