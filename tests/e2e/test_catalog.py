"""A catalog administrator builds the catalog: a category, a service, a search, a price change."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Service, ServiceStatus
from msp_portal.models import AuditEvent
from tests.accounts.factories import PASSWORD
from tests.catalog.factories import CategoryFactory, ServiceFactory

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def existing_catalog(db):
    """A few services already on offer, so that the search has something to leave out."""
    workplace = CategoryFactory(name="Workplace", description="Devices and desk services.")
    security = CategoryFactory(name="Security", description="Protection of people and data.")
    ServiceFactory(
        name="Laptop provisioning",
        category=workplace,
        description="A configured laptop, delivered to the desk.",
        price=Decimal("150"),
        max_quantity=5,
    )
    ServiceFactory(
        name="Endpoint protection",
        category=security,
        description="Antivirus and device encryption, per device.",
        price=Decimal("4.50"),
        min_quantity=10,
    )
    ServiceFactory(
        name="Password reset",
        category=security,
        description="Self-service password reset for end users.",
        price=Decimal("0"),
    )
    ServiceFactory(
        name="Mobile phone",
        category=workplace,
        description="A managed smartphone.",
        price=Decimal("35"),
        status=ServiceStatus.RETIRED,
    )


def test_a_catalog_administrator_builds_the_catalog(page, shot, catalog_admin, existing_catalog):
    login(page, "catadmin", PASSWORD)
    page.get_by_role("link", name="Service catalog").first.click()
    expect(page.get_by_role("heading", name="Service catalog")).to_be_visible()
    expect(page.get_by_test_id("service-table")).to_contain_text("Laptop provisioning")
    shot(page, "catalog-01-service-list")

    page.get_by_role("link", name="Categories").click()
    page.get_by_label("Name").fill("Backup & recovery")
    page.get_by_label("Description").fill("Copies of servers and data, and getting them back.")
    page.get_by_role("button", name="Create category").click()
    expect(page.get_by_text("Category “Backup & recovery” created.")).to_be_visible()
    expect(page.get_by_test_id("category-table")).to_contain_text("Backup & recovery")
    shot(page, "catalog-02-categories")

    page.get_by_role("link", name="Service catalog").first.click()
    page.get_by_role("link", name="New service").click()
    page.get_by_label("Name").fill("Managed server backup")
    page.get_by_label("Category").select_option(label="Backup & recovery")
    page.get_by_label("Description").fill(
        "Nightly backup of one server, kept for 30 days, with restores on request."
    )
    page.get_by_label("Price").fill("-5")
    page.get_by_label("Minimum quantity").fill("5")
    page.get_by_label("Maximum quantity").fill("2")
    page.get_by_role("button", name="Create service").click()
    expect(page.get_by_text("Enter a price of 0 or more credits")).to_be_visible()
    expect(page.get_by_text("The maximum quantity (2) is below the minimum (5).")).to_be_visible()
    shot(page, "catalog-03-service-form-errors")
    assert not Service.objects.filter(name="Managed server backup").exists()

    page.get_by_label("Price").fill("12.50")
    page.get_by_label("Minimum quantity").fill("1")
    page.get_by_label("Maximum quantity").fill("20")
    page.get_by_role("button", name="Create service").click()
    expect(page.get_by_text("“Managed server backup” created as a draft.")).to_be_visible()
    expect(page.get_by_test_id("service-status")).to_have_text("Draft")
    shot(page, "catalog-04-service-created")

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("service-status")).to_have_text("Published")
    expect(page.get_by_test_id("service-history")).to_contain_text("Published")
    shot(page, "catalog-05-service-published")

    page.get_by_role("link", name="Service catalog").first.click()
    table = page.get_by_test_id("service-table")
    page.get_by_label("Search").fill("backup")
    expect(table).to_contain_text("Managed server backup")
    expect(table).not_to_contain_text("Laptop provisioning")
    assert "query=backup" in page.url
    shot(page, "catalog-06-search")

    page.get_by_label("Search").fill("zebra")
    expect(table).to_contain_text("No services match these filters.")
    shot(page, "catalog-07-search-no-match")

    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option(label="Retired")
    expect(table).to_contain_text("Mobile phone")
    expect(table).not_to_contain_text("Managed server backup")
    page.get_by_label("Status").select_option(label="All statuses")
    page.get_by_label("Search").fill("server backup")
    # Wait for the search's answer (its URL), or the click lands on a row about to be replaced.
    expect(page).to_have_url(re.compile(r"query=server"))

    page.get_by_role("link", name="Managed server backup").click()
    page.get_by_label("Price").fill("15")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("“Managed server backup” saved.")).to_be_visible()
    expect(page.get_by_role("row", name="Managed server backup")).to_contain_text("15 credits")
    shot(page, "catalog-08-price-changed")

    service = Service.objects.get(name="Managed server backup")
    assert service.price == Decimal("15") and service.status == ServiceStatus.PUBLISHED
    assert list(
        AuditEvent.objects.filter(object_id=str(service.pk), actor=catalog_admin)
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["service.create", "service.publish", "service.update"]

    page.get_by_role("link", name="Managed server backup").click()
    expect(page.get_by_test_id("service-history")).to_contain_text("Price: 12.50 → 15.00")
    shot(page, "catalog-09-service-history")
    assert page.console_errors == []
