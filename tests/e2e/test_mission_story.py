"""The whole mission in one browser story, at desktop and at phone width: MSP mode on, an ITSM
sync from the simulator, a customer with services, an administrator, credits and end users, a
department marketplace, a request that crosses the alert threshold, and the alert."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from credits.models import CreditAccount
from customers.models import Customer
from entitlements.models import ServiceRequest
from itsm_sync.models import CompanyType, Person
from itsm_sync.simulator import PROVIDER_COMPANY, Simulator
from msp_portal.selectors import msp_mode_enabled
from tests.accounts.factories import PASSWORD
from tests.itsm_sync.factories import CompanyFactory

from .conftest import login

pytestmark = pytest.mark.e2e

CUSTOMER = "Prairie Logistics Holdings"
VIEWPORTS = {
    1280: {"viewport": {"width": 1280, "height": 860}},
    390: {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}

# Pages that are still wider than a 390 px phone (a template fix is pending); every other page of
# the story must fit. Remove an entry once its page fits.
PHONE_OVERFLOW_KNOWN: set[str] = set()  # pages allowed to be wider than a phone: none


@pytest.fixture
def sim(monkeypatch):
    """A small ITSM source over HTTP; with this seed Prairie Logistics Holdings is a Customer
    company with a Finance organization of several departments."""
    simulator = Simulator(companies=8, people=80, seed=3)
    simulator.start(port=0)
    monkeypatch.delenv("ITSM_FILE", raising=False)
    for name, value in {
        "ITSM_URL": simulator.url,
        "ITSM_USER": "Demo",
        "ITSM_PASSWORD": "Demo",
        "ITSM_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.stop()


@pytest.fixture
def provider_company(db, sim):
    """The MSP's own company, already known to the portal under its ITSM entry id."""
    calbro = next(c for c in sim.companies() if c["Company"] == PROVIDER_COMPANY)
    return CompanyFactory(
        name=PROVIDER_COMPANY,
        entry_id=calbro["Company Entry ID"],
        company_type=CompanyType.SERVICE_PROVIDER,
    )


@pytest.fixture
def cast(sim):
    """The people of the customer the story needs, read from the source (not hard-coded)."""
    people = [
        p for p in sim.people() if p["Company"] == CUSTOMER and p["Profile Status"] == "Enabled"
    ]
    finance = [p for p in people if p["Organization"] == "Finance"]
    return {
        "admin": next(p for p in people if p["Organization"] == "Operations"),
        "payroll": next(p for p in finance if p["Department"] == "Payroll"),
        "treasury": next(p for p in finance if p["Department"] != "Payroll"),
        "finance_count": len(finance),
    }


@pytest.fixture(params=sorted(VIEWPORTS, reverse=True), ids=lambda width: f"{width}px")
def width(request):
    return request.param


@pytest.fixture
def open_as(browser, live_server, transactional_db, width):
    """Sign a persona in within a fresh browser context at the story's width."""
    contexts = []

    def open_page(username: str):
        context = browser.new_context(base_url=live_server.url, **VIEWPORTS[width])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.console_errors = errors
        login(page, username, PASSWORD)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _set_password(username: str) -> None:
    """Accounts made from ITSM people have no usable password; the story gives them one."""
    user = User.objects.get(username=username)
    user.set_password(PASSWORD)
    user.save()


def _nav(page, name: str) -> None:
    """Follow a main-navigation entry: the sidebar on a desktop, the folded menu on a phone."""
    nav = page.get_by_role("navigation", name="Main navigation")
    menu = nav.get_by_role("button", name="Menu")
    if menu.is_visible():
        menu.click()
    nav.get_by_role("link", name=re.compile(rf"^\W*{re.escape(name)}$")).click()


def _open_bell(page):
    page.get_by_test_id("notification-bell").get_by_role("button").first.click()
    return page.get_by_test_id("notification-menu")


def test_the_mission_end_to_end(open_as, shot, width, sim, cast, system_admin, catalog_admin):
    pages = []

    def snap(page, step: str) -> None:
        shot(page, f"7x-{width}-{step}")
        if width == 390 and step not in PHONE_OVERFLOW_KNOWN:
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{step}: the page is {wide} px wide on a 390 px phone"

    # 1. The system administrator reads the readiness checklist and switches MSP mode on.
    sysadmin = open_as("sysadmin")
    pages.append(sysadmin)
    expect(
        sysadmin.get_by_role("heading", name=f"Welcome, {system_admin.display_name}")
    ).to_be_visible()
    snap(sysadmin, "01-sysadmin-home")
    _nav(sysadmin, "MSP mode")
    expect(sysadmin.get_by_test_id("readiness")).to_contain_text("Fresh install")
    expect(sysadmin.get_by_test_id("msp-status")).to_have_text("Disabled")
    snap(sysadmin, "02-msp-mode-checklist")
    sysadmin.get_by_label("Type ENABLE MSP MODE to confirm").fill("ENABLE MSP MODE")
    sysadmin.get_by_role("button", name="Switch MSP mode on").click()
    expect(sysadmin.get_by_test_id("msp-status")).to_have_text("Enabled")
    snap(sysadmin, "03-msp-mode-enabled")
    assert msp_mode_enabled()

    # 2. A sync from the ITSM simulator brings in companies and people.
    _nav(sysadmin, "ITSM sync")
    expect(sysadmin.get_by_test_id("sync-source")).to_contain_text(sim.url)
    snap(sysadmin, "04-itsm-sync-empty")
    sysadmin.get_by_role("button", name="Sync now").click()
    expect(sysadmin.get_by_role("alert")).to_contain_text("Incremental sync started")
    expect(sysadmin.get_by_test_id("kind-companies")).to_contain_text("Succeeded")
    expect(sysadmin.get_by_test_id("kind-people")).to_contain_text("Succeeded")
    snap(sysadmin, "05-itsm-sync-succeeded")
    assert Person.objects.filter(company__name=CUSTOMER).exists()

    # 3. The catalog administrator publishes two services …
    catadmin = open_as("catadmin")
    pages.append(catadmin)
    _nav(catadmin, "Service catalog")
    catadmin.get_by_role("link", name="Categories").click()
    catadmin.get_by_label("Name").fill("Workplace")
    catadmin.get_by_role("button", name="Create category").click()
    expect(catadmin.get_by_test_id("category-table")).to_contain_text("Workplace")
    snap(catadmin, "06-catalog-categories")
    for name, price in (("Laptop", "10"), ("VPN access", "0")):
        _nav(catadmin, "Service catalog")
        catadmin.get_by_role("link", name="New service").click()
        catadmin.get_by_label("Name").fill(name)
        catadmin.get_by_label("Category").select_option(label="Workplace")
        catadmin.get_by_label("Price").fill(price)
        catadmin.get_by_role("button", name="Create service").click()
        expect(catadmin.get_by_text(f"“{name}” created as a draft.")).to_be_visible()
        catadmin.get_by_role("button", name="Publish").click()
        expect(catadmin.get_by_test_id("service-status")).to_have_text("Published")
        snap(catadmin, f"07-service-published-{name.split()[0].lower()}")
    _nav(catadmin, "Service catalog")
    expect(catadmin.get_by_test_id("service-table")).to_contain_text("VPN access")
    snap(catadmin, "08-service-catalog")

    # … turns a synced Customer company into a customer with both services, one administrator,
    # Credit Management and an alert threshold …
    admin = cast["admin"]
    admin_name = f"{admin['First Name']} {admin['Last Name']}"
    _nav(catadmin, "Customers")
    expect(catadmin.get_by_test_id("customer-table")).to_contain_text("No customers yet")
    snap(catadmin, "09-customers-empty")
    catadmin.get_by_role("link", name="Add customer").click()
    catadmin.get_by_placeholder("Type to narrow the list…").fill("prairie")
    expect(catadmin.locator("#id_company option", has_text="Redwood")).to_have_count(0)
    catadmin.locator("#id_company").select_option(label=f"{CUSTOMER} (PLH)")
    catadmin.get_by_placeholder("Search people by name, login or e-mail…").fill(
        admin["Remedy Login ID"]
    )
    catadmin.locator("#admin-candidates").get_by_text(admin_name).click()
    expect(catadmin.get_by_test_id("chosen-admins")).to_contain_text(admin_name)
    for service in ("Laptop", "VPN access"):
        catadmin.locator("#service-candidates").get_by_text(service, exact=True).click()
        expect(catadmin.get_by_test_id("chosen-services")).to_contain_text(service)
    catadmin.get_by_label("Credit Management").check()
    catadmin.get_by_label("Alert threshold (credits)").fill("30")
    snap(catadmin, "10-customer-add")
    catadmin.get_by_role("button", name="Create customer").click()
    expect(catadmin.get_by_text(f"{CUSTOMER} is now a customer.")).to_be_visible()
    expect(catadmin.get_by_test_id("administrators")).to_contain_text(admin_name)
    expect(catadmin.get_by_test_id("assigned-services")).to_contain_text("Laptop")
    expect(catadmin.get_by_test_id("assigned-services")).to_contain_text("VPN access")
    snap(catadmin, "11-customer-detail")
    customer = Customer.objects.get(company__name=CUSTOMER)
    assert customer.credit_management and customer.alert_threshold == 30

    # … grants it credits on its credit account page …
    _nav(catadmin, "Credit balances")
    expect(catadmin.get_by_test_id("credit-account-table")).to_contain_text(CUSTOMER)
    snap(catadmin, "12-credit-balances")
    catadmin.get_by_test_id("credit-account-table").get_by_role("link", name=CUSTOMER).click()
    expect(catadmin.get_by_test_id("credit-balance")).to_have_text("0.00")
    catadmin.get_by_label("Credits to grant").fill("50")
    catadmin.get_by_label("Reason").first.fill("Purchase order PLH-001")
    catadmin.get_by_role("button", name="Grant", exact=True).click()
    expect(catadmin.get_by_test_id("credit-balance")).to_have_text("50.00")
    expect(catadmin.get_by_test_id("ledger-table")).to_contain_text("Purchase order PLH-001")
    snap(catadmin, "12b-credits-granted")

    # … and brings in the Finance organization's people as end users.
    catadmin.get_by_role("link", name="Customer settings").click()
    catadmin.get_by_role("link", name="Add filter").click()
    catadmin.get_by_label("Name").fill("Finance")
    catadmin.get_by_label("Finance", exact=True).check()
    catadmin.get_by_role("button", name="Preview matches").click()
    expect(catadmin.get_by_test_id("filter-preview")).to_contain_text(
        f"{cast['finance_count']} Enabled people match"
    )
    snap(catadmin, "13-end-user-filter-preview")
    catadmin.get_by_role("button", name="Save and apply").click()
    # End users only: the administrator (of Operations) is counted apart, under Roles.
    expect(catadmin.get_by_test_id("end-users-active")).to_have_text(str(cast["finance_count"]))
    catadmin.get_by_role("link", name="See the list").click()
    catadmin.get_by_label("Search end users").fill("Finance")
    end_users = catadmin.get_by_test_id("end-user-table")
    expect(end_users.locator("tbody tr")).to_have_count(cast["finance_count"])
    expect(end_users).to_contain_text(cast["payroll"]["Remedy Login ID"])
    expect(end_users).to_contain_text(cast["treasury"]["Remedy Login ID"])
    expect(end_users).not_to_contain_text(admin["Remedy Login ID"])
    snap(catadmin, "14-end-users")

    # 4. The customer administrator builds a marketplace for the Payroll department.
    for person in (admin, cast["payroll"], cast["treasury"]):
        _set_password(person["Remedy Login ID"])
    custadmin = open_as(admin["Remedy Login ID"])
    pages.append(custadmin)
    expect(custadmin.get_by_role("heading", name=CUSTOMER)).to_be_visible()
    expect(custadmin.get_by_test_id("home-services")).to_contain_text("not offered yet")
    snap(custadmin, "15-customer-admin-overview")
    _nav(custadmin, "Marketplaces")
    custadmin.get_by_label("Name").fill("Payroll")
    custadmin.get_by_label("Description").fill("What the payroll team may request.")
    snap(custadmin, "16-marketplace-list")
    custadmin.get_by_role("button", name="Create marketplace").click()
    expect(custadmin.get_by_text("Marketplace “Payroll” created.")).to_be_visible()
    custadmin.get_by_placeholder("Search your assigned services…").fill("lap")
    custadmin.locator("#service-candidates").get_by_text("Laptop").click()
    custadmin.get_by_role("button", name="Add ticked services").click()
    expect(custadmin.get_by_test_id("offered-services")).to_contain_text("Laptop")
    custadmin.get_by_label("Organization").select_option("Finance")
    expect(custadmin.locator("#group-department option", has_text="Payroll")).to_have_count(1)
    custadmin.get_by_label("Department").select_option("Payroll")
    custadmin.get_by_role("button", name="Add group").click()
    expect(custadmin.get_by_test_id("audience-rules")).to_contain_text(
        f"Group {CUSTOMER} – Finance – Payroll"
    )
    snap(custadmin, "17-marketplace-detail")

    # 5. An end user in Payroll sees Laptop and requests enough to cross the threshold …
    payroll = open_as(cast["payroll"]["Remedy Login ID"])
    pages.append(payroll)
    expect(payroll).to_have_url(re.compile(r"/portal/catalog/$"))
    cards = payroll.get_by_test_id("service-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Laptop")
    snap(payroll, "18-end-user-catalog")
    payroll.get_by_role("link", name="Laptop", exact=True).click()
    payroll.get_by_label("Quantity").fill("3")
    payroll.get_by_label("Justification").fill("Three new starters in Payroll")
    expect(payroll.get_by_test_id("request-total")).to_contain_text("30 credits")
    snap(payroll, "19-end-user-request-form")
    payroll.get_by_role("button", name="Submit request").click()
    expect(payroll).to_have_url(re.compile(r"/portal/my-requests/$"))
    expect(payroll.get_by_text("for 3 × Laptop is submitted")).to_be_visible()
    snap(payroll, "20-end-user-my-requests")
    assert CreditAccount.objects.get(customer=customer).balance == Decimal("20")

    # … while a Finance colleague outside Payroll has no Laptop to see.
    treasury = open_as(cast["treasury"]["Remedy Login ID"])
    pages.append(treasury)
    expect(treasury.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(treasury.get_by_test_id("service-card")).to_have_count(0)
    expect(treasury.locator("main")).not_to_contain_text("Laptop")
    snap(treasury, "21-other-end-user-catalog")
    # Nor can she reach it by its address: out of scope is 404. The browser logs that 404 as a
    # console error, the only one this story expects.
    laptop = ServiceRequest.objects.get().service
    logged = len(treasury.console_errors)
    response = treasury.goto(reverse("portal:service_detail", kwargs={"pk": laptop.pk}))
    assert response.status == 404
    expect(treasury.get_by_role("button", name="Submit request")).to_have_count(0)
    snap(treasury, "22-other-end-user-laptop-404")
    assert all("404" in error for error in treasury.console_errors[logged:])
    del treasury.console_errors[logged:]

    # 6. The customer administrator sees the lower balance and the alert.
    custadmin.goto("/")
    bell = custadmin.get_by_test_id("notification-bell")
    expect(bell.get_by_test_id("notification-count")).to_have_text("1")
    menu = _open_bell(custadmin)
    expect(menu.get_by_test_id("bell-balance")).to_contain_text("Balance: 20.00")
    expect(menu.get_by_test_id("notification-item")).to_contain_text("below the alert threshold")
    snap(custadmin, "23-customer-admin-alert")
    menu.get_by_test_id("bell-balance").click()
    expect(custadmin.get_by_test_id("credit-balance")).to_have_text("20.00")
    expect(custadmin.get_by_test_id("credit-threshold")).to_have_text("30.00")
    expect(custadmin.get_by_test_id("ledger-table")).to_contain_text("3 × Laptop")
    snap(custadmin, "24-customer-admin-credits")
    _nav(custadmin, "Overview")
    expect(custadmin.get_by_test_id("credit-balance")).to_contain_text("20.00")
    expect(custadmin.get_by_test_id("home-requests")).to_contain_text("Laptop")
    snap(custadmin, "25-customer-admin-overview-after")

    for page in pages:
        assert page.console_errors == [], page.url
