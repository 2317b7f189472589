"""A catalog administrator turns an ITSM company into a customer and brings in its end users."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from customers.models import Customer
from tests.accounts.factories import PASSWORD
from tests.catalog.factories import ServiceFactory
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def itsm(db):
    acme = CompanyFactory(name="Acme Corp", abbreviation="ACME")
    CompanyFactory(name="Bright Media LLC")
    PersonFactory(
        company=acme,
        first_name="Alice",
        last_name="Archer",
        remedy_login_id="alice",
        organization="Finance",
    )
    for i in range(3):
        PersonFactory(
            company=acme,
            first_name=f"Fin{i}",
            last_name="Person",
            remedy_login_id=f"fin{i}",
            organization="Finance",
        )
    PersonFactory(
        company=acme, first_name="Ivan", last_name="It", remedy_login_id="ivan", organization="IT"
    )
    ServiceFactory(name="Laptop refresh")
    ServiceFactory(name="VPN access", price=0)
    return acme


def test_a_catalog_administrator_onboards_a_customer(page, shot, catalog_admin, msp_enabled, itsm):
    login(page, "catadmin", PASSWORD)
    page.get_by_role("link", name="Customers").first.click()
    expect(page.get_by_test_id("customer-table")).to_contain_text("No customers yet")
    shot(page, "20-customers-empty")

    page.get_by_role("link", name="Add customer").click()
    page.get_by_placeholder("Type to narrow the list…").fill("acme")
    expect(page.locator("#id_company option", has_text="Bright Media")).to_have_count(0)
    page.locator("#id_company").select_option(label="Acme Corp (ACME)")
    page.get_by_placeholder("Search people by name, login or e-mail…").fill("alice")
    page.locator("#admin-candidates").get_by_text("Alice Archer").click()
    expect(page.get_by_test_id("chosen-admins")).to_contain_text("Alice Archer")
    page.get_by_placeholder("Search published services…").fill("lap")
    page.locator("#service-candidates").get_by_text("Laptop refresh").click()
    expect(page.get_by_test_id("chosen-services")).to_contain_text("Laptop refresh")
    page.get_by_label("Credit Management").check()
    page.get_by_label("Alert threshold (credits)").fill("100")
    shot(page, "21-customer-add")
    page.get_by_role("button", name="Create customer").click()

    expect(page.get_by_text("Acme Corp is now a customer.")).to_be_visible()
    expect(page.get_by_test_id("administrators")).to_contain_text("Alice Archer")
    expect(page.get_by_test_id("assigned-services")).to_contain_text("Laptop refresh")
    shot(page, "22-customer-detail")
    customer = Customer.objects.get(company=itsm)
    assert customer.credit_management and customer.alert_threshold == 100

    page.get_by_role("link", name="Add filter").click()
    page.get_by_label("Name").fill("Finance")
    page.get_by_label("Finance").check()
    page.get_by_role("button", name="Preview matches").click()
    expect(page.get_by_test_id("filter-preview")).to_contain_text("4")
    shot(page, "23-end-user-filter-preview")
    page.get_by_role("button", name="Save and apply").click()
    # Alice is in Finance too, but as an administrator she is counted apart from end users.
    expect(page.get_by_test_id("end-users-active")).to_have_text("3")
    shot(page, "24-customer-with-end-users")
    assert set(
        User.objects.filter(company=itsm, is_active=True).values_list("username", flat=True)
    ) == {"alice", "fin0", "fin1", "fin2"}

    page.get_by_role("link", name="Customers").first.click()
    expect(page.get_by_test_id("customer-table")).to_contain_text("Acme Corp")
    shot(page, "25-customer-list")
    assert page.console_errors == []
