"""A customer administrator builds a marketplace for one department and checks who gets what."""

import pytest
from playwright.sync_api import expect

from customers.services import customer_services_add
from tests.accounts.factories import PASSWORD
from tests.catalog.factories import ServiceFactory

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def vpn(tenant_a):
    service = ServiceFactory(name="VPN access", price=0, category__name="Network")
    customer_services_add(actor=None, customer=tenant_a["customer"], services=[service])
    return service


def test_a_customer_administrator_entitles_a_service_to_finance(page, shot, tenant_a, vpn):
    login(page, "acme-admin", PASSWORD)
    expect(page.get_by_role("heading", name="Acme Corp")).to_be_visible()
    expect(page.get_by_test_id("home-services")).to_contain_text("VPN access")
    expect(page.get_by_test_id("home-services")).to_contain_text("not offered yet")
    expect(page.get_by_test_id("stat-end-users")).to_have_text("3")
    shot(page, "40-manage-overview")

    page.get_by_role("link", name="Marketplaces").first.click()
    page.get_by_label("Name").fill("Finance tools")
    page.get_by_label("Description").fill("What the finance department may request.")
    shot(page, "41-marketplace-list")
    page.get_by_role("button", name="Create marketplace").click()
    expect(page.get_by_text("Marketplace “Finance tools” created.")).to_be_visible()

    page.get_by_placeholder("Search your assigned services…").fill("vpn")
    page.locator("#service-candidates").get_by_text("VPN access").click()
    expect(page.get_by_test_id("chosen-services")).to_contain_text("VPN access")
    page.get_by_role("button", name="Add ticked services").click()
    expect(page.get_by_test_id("offered-services")).to_contain_text("VPN access")

    page.get_by_label("Organization").select_option("Finance")
    expect(page.locator("#group-department option", has_text="Payroll")).to_have_count(1)
    expect(page.locator("#group-department option", has_text="Desk")).to_have_count(0)
    page.get_by_role("button", name="Add group").click()
    expect(page.get_by_test_id("audience-rules")).to_contain_text("Group Acme Corp – Finance")
    shot(page, "42-marketplace-detail")

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "43-marketplace-detail-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("link", name="Entitlements by user").first.click()
    expect(page.get_by_test_id("access-row-acme-eve")).to_contain_text("VPN access")
    expect(page.get_by_test_id("access-row-acme-ed")).not_to_contain_text("VPN access")
    expect(page.get_by_test_id("access-row-acme-ed")).to_contain_text("Laptop")
    shot(page, "44-entitlements-by-user")

    page.get_by_test_id("access-row-acme-ed").get_by_role("link", name="Explain…").click()
    page.get_by_label("Service").select_option(label="VPN access")
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_test_id("explanation")).to_contain_text("Can't see")
    expect(page.get_by_test_id("decision-chain")).to_contain_text(
        "Marketplace “Finance tools” offers it, but its audience does not include"
    )
    shot(page, "45-explain-access")

    page.get_by_role("link", name="Marketplaces").first.click()
    page.get_by_role("link", name="Finance tools").click()
    page.get_by_test_id("audience-rules").get_by_role("link", name="Remove").click()
    expect(page.get_by_test_id("removal-impact")).to_contain_text("Eve")
    expect(page.get_by_test_id("removal-impact")).to_contain_text("VPN access")
    expect(page.get_by_test_id("loss-count")).to_contain_text("1 person")
    shot(page, "46-remove-rule-confirm")
    page.get_by_role("button", name="Remove from audience").click()
    expect(page.get_by_text("removed from “Finance tools”")).to_be_visible()
    expect(page.get_by_test_id("audience-rules")).to_contain_text("Nobody yet")
    shot(page, "47-rule-removed")
    assert page.console_errors == []


def test_a_catalog_administrator_acting_as_the_customer_names_people_and_filters(
    page, shot, tenant_a, catalog_admin, vpn
):
    login(page, "catadmin", PASSWORD)
    page.get_by_role("link", name="Customers").first.click()
    page.get_by_role("link", name="Acme Corp").click()
    page.get_by_role("button", name="Act as this customer").click()
    expect(page.get_by_test_id("acting-as-banner")).to_contain_text("Acme Corp")

    page.get_by_role("link", name="Marketplaces").first.click()
    page.get_by_role("link", name="Standard").click()
    page.get_by_role("tab", name="Person").click()
    page.get_by_placeholder("Search Acme Corp's end users by name, login or e-mail…").fill(
        "acme-ed"
    )
    expect(page.get_by_test_id("user-candidates")).to_contain_text("acme-ed")
    expect(page.get_by_test_id("user-candidates")).not_to_contain_text("acme-eve")
    page.get_by_test_id("user-candidates").get_by_text("acme-ed").click()
    shot(page, "48-audience-person-picker")
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_test_id("audience-rules")).to_contain_text("Named user Ed")

    page.get_by_role("tab", name="Filter").click()
    page.locator("#add-filter").get_by_label("IT", exact=True).check()
    page.get_by_role("button", name="Add filter").click()
    expect(page.get_by_test_id("audience-rules")).to_contain_text("Filter: organization is IT")
    expect(page.get_by_test_id("acting-as-banner")).to_be_visible()
    shot(page, "49-acting-as-audience")

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_test_id("removal-impact")).to_contain_text("Laptop")
    expect(page.get_by_test_id("loss-count")).to_contain_text("3 people")
    shot(page, "4a-delete-marketplace-confirm")
    page.get_by_role("link", name="Keep it").click()
    expect(page.get_by_role("heading", name="Standard")).to_be_visible()
    assert page.console_errors == []
