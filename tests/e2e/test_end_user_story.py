"""An end user finds a service, requests it and cancels; their administrator handles a request."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers.services import customer_services_add
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import marketplace_services_add, request_submit
from tests.accounts.factories import PASSWORD
from tests.catalog.factories import CategoryFactory, ServiceFactory

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme(tenant_a):
    """Customer A with a few more services on offer, so that search and chips have work to do."""
    laptop = tenant_a["service"]
    laptop.description = "A configured business laptop, delivered to your desk."
    laptop.category = CategoryFactory(name="Workplace")
    laptop.max_quantity = 5
    laptop.save()
    network = CategoryFactory(name="Network")
    extra = [
        ServiceFactory(
            name="VPN access",
            category=network,
            price=Decimal("0"),
            description="Reach the office network from anywhere.",
        ),
        ServiceFactory(
            name="Wi-Fi guest pass",
            category=network,
            price=Decimal("2"),
            description="A day pass for a visitor.",
        ),
        ServiceFactory(
            name="Docking station",
            category=laptop.category,
            price=Decimal("35"),
            description="One cable for screens, network and power.",
        ),
    ]
    customer_services_add(actor=None, customer=tenant_a["customer"], services=extra)
    marketplace_services_add(
        actor=tenant_a["admin"], marketplace=tenant_a["marketplace"], services=extra
    )
    return {**tenant_a, "docking": extra[2]}


def test_an_end_user_requests_and_cancels_then_the_administrator_fulfils(page, shot, acme):
    page.on("dialog", lambda dialog: dialog.accept())

    # Eve signs in and lands on the services entitled to her.
    login(page, "acme-eve", PASSWORD)
    expect(page).to_have_url(re.compile(r"/portal/catalog/$"))
    cards = page.get_by_test_id("service-card")
    expect(cards).to_have_count(4)
    shot(page, "30-end-user-catalog")

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "31-end-user-catalog-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    # Search as you type, then a category chip.
    page.get_by_test_id("catalog-search").fill("lap")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Laptop")
    shot(page, "32-end-user-catalog-search")
    page.get_by_test_id("catalog-search").fill("")
    page.get_by_test_id("category-chips").get_by_text("Network").click()
    expect(cards).to_have_count(2)
    expect(page.get_by_test_id("catalog-cards")).not_to_contain_text("Laptop")
    page.get_by_test_id("category-chips").get_by_text("All").click()
    expect(cards).to_have_count(4)

    # Open Laptop; a quantity of 0 is refused on the form and nothing is saved.
    page.get_by_role("link", name="Laptop", exact=True).click()
    expect(page.get_by_test_id("service-grants")).to_contain_text("Standard")
    page.get_by_label("Quantity").fill("0")
    page.get_by_label("Justification").fill("New starter in Finance")
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_text("Request at least 1.")).to_be_visible()
    assert not ServiceRequest.objects.exists()
    shot(page, "33-end-user-request-error")

    # The total follows the quantity as it is typed, and says when it is out of bounds.
    total = page.get_by_test_id("request-total")
    page.get_by_label("Quantity").fill("9")
    expect(total).to_contain_text("You can request at most 5 of Laptop.")
    page.get_by_label("Quantity").fill("2")
    expect(total).to_contain_text("20 credits")
    expect(page.get_by_text("Request at least 1.")).to_be_hidden()
    shot(page, "34-end-user-request-form")
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/portal/my-requests/$"))
    expect(page.get_by_text("for 2 × Laptop is submitted")).to_be_visible()
    row = page.get_by_test_id("request-row").first
    expect(row).to_contain_text("Approved")
    shot(page, "35-end-user-my-requests")

    # She changes her mind before work on it starts.
    row.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("is cancelled")).to_be_visible()
    expect(page.get_by_test_id("request-row").first).to_contain_text("Cancelled")
    expect(page.get_by_test_id("request-row").first.get_by_role("button")).to_have_count(0)
    shot(page, "36-end-user-request-cancelled")
    page.get_by_role("button", name="Sign out").click()

    # Meanwhile Ed asked for a docking station.
    eds = request_submit(
        actor=acme["ed"], service=acme["docking"], quantity=1, justification="Second screen"
    )

    # The customer's administrator finds it among the open requests and handles it.
    login(page, "acme-admin", PASSWORD)
    page.get_by_role("link", name="Requests").first.click()
    table = page.get_by_test_id("request-table")
    expect(table.get_by_test_id("request-row")).to_have_count(2)
    page.get_by_label("Status").select_option("approved")
    expect(table.get_by_test_id("request-row")).to_have_count(1)
    expect(table).to_contain_text("Docking station")
    page.get_by_label("Requester").fill("ed")
    # The filter answers after a 300 ms pause, replacing the rows: wait for its answer (its URL)
    # before clicking a row, or the click lands on a row about to be replaced.
    expect(page).to_have_url(re.compile(r"requester=ed"))
    expect(table.get_by_test_id("request-row")).to_have_count(1)
    shot(page, "37-admin-requests-filtered")

    table.get_by_role("link", name=f"#{eds.pk}").click()
    expect(page.get_by_test_id("request-status")).to_contain_text("Approved")
    expect(page.get_by_text("Second screen")).to_be_visible()
    shot(page, "38-admin-request-detail")
    page.get_by_label("Note for the requester").fill("Ordered from the supplier")
    page.get_by_role("button", name="Start work").click()
    expect(page.get_by_test_id("request-status")).to_contain_text("In progress")
    page.get_by_label("Note for the requester").fill("Delivered to desk 4.12")
    page.get_by_role("button", name="Mark fulfilled").click()
    expect(page.get_by_test_id("request-status")).to_contain_text("Fulfilled")
    expect(page.get_by_test_id("request-history")).to_contain_text("Ordered from the supplier")
    expect(page.get_by_test_id("request-history")).to_contain_text("Delivered to desk 4.12")
    shot(page, "39-admin-request-fulfilled")
    eds.refresh_from_db()
    assert eds.status == RequestStatus.FULFILLED
    assert page.console_errors == []
