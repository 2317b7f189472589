"""Browser checks of the rough edges found by walking the mission (issue 19): each page changed
is shot at 1280 px and at 390 px, and at 390 px no page is wider than the phone."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.models import Customer
from tests.accounts.factories import PASSWORD
from tests.itsm_sync.factories import CompanyFactory, PersonFactory

from .conftest import login

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def both(shot):
    """Shoot the page at 1280 px and at 390 px (where it must fit), then go back to 1280 px."""

    def take(page, name: str) -> None:
        page.set_viewport_size(DESKTOP)
        shot(page, f"19-{name}-1280")
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(100)
        shot(page, f"19-{name}-390")
        wide = page.evaluate("document.documentElement.scrollWidth")
        page.set_viewport_size(DESKTOP)
        assert wide <= PHONE["width"], f"{name}: the page is {wide} px wide on a 390 px phone"

    return take


@pytest.fixture
def acme(db):
    company = CompanyFactory(name="Acme Corp", abbreviation="ACME")
    PersonFactory(company=company, first_name="Alice", last_name="Archer", remedy_login_id="alice")
    PersonFactory(company=company, first_name="Bob", last_name="Baker", remedy_login_id="bob")
    return company


def test_add_customer_keeps_the_administrator_picker_after_an_error(
    page, both, catalog_admin, msp_enabled, acme
):
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_add"))
    page.locator("#id_company").select_option(label="Acme Corp (ACME)")
    expect(page.locator("#admin-candidates")).to_contain_text("Alice Archer")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_text("Name at least one administrator")).to_be_visible()
    candidates = page.locator("#admin-candidates")
    expect(candidates).not_to_contain_text("Choose a company first")
    expect(candidates).to_contain_text("Alice Archer")
    both(page, "01-customer-add-error")
    candidates.get_by_text("Alice Archer").click()
    expect(page.get_by_test_id("chosen-admins")).to_contain_text("Alice Archer")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_text("Acme Corp is now a customer")).to_be_visible()


def test_letters_in_the_alert_threshold_are_refused_not_saved_as_no_alert(
    page, both, catalog_admin, msp_enabled, acme
):
    from customers.services import customer_add

    customer = customer_add(
        actor=catalog_admin,
        company=acme,
        administrators=[acme.people.get(remedy_login_id="alice")],
        credit_management=True,
        alert_threshold=50,
    )
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_detail", kwargs={"pk": customer.pk}))
    threshold = page.get_by_label("Alert threshold (credits)")
    threshold.fill("")
    threshold.press_sequentially("ten")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Enter the alert threshold as a number of credits")).to_be_visible()
    expect(page.get_by_text("Settings saved.")).to_have_count(0)
    both(page, "02-customer-settings-letters-refused")
    customer.refresh_from_db()
    assert customer.alert_threshold == 50
    # Emptying the field is the explicit way to have no alert, and it says so.
    threshold = page.get_by_label("Alert threshold (credits)")
    threshold.fill("")
    expect(threshold).to_have_attribute("placeholder", "No alert")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    assert Customer.objects.get(pk=customer.pk).alert_threshold is None


def test_the_customers_list_counts_administrators_apart_and_flags_what_is_missing(
    page, both, catalog_admin, msp_enabled, acme
):
    from customers.services import customer_add

    customer = customer_add(
        actor=catalog_admin, company=acme, administrators=[acme.people.get(remedy_login_id="alice")]
    )
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_detail", kwargs={"pk": customer.pk}))
    expect(page.get_by_test_id("end-users-active")).to_have_text("0")
    expect(page.get_by_text("No filter yet")).to_be_visible()
    page.goto(reverse("customers:customer_list"))
    row = page.get_by_test_id("customer-table").locator("tbody tr").first
    expect(row).to_contain_text("No end users")
    expect(row).to_contain_text("No marketplace")
    expect(row).not_to_contain_text("OK")
    both(page, "03-customers-list-health")


def test_pasted_text_past_a_limit_is_refused_with_the_limit_not_cut(
    page, both, catalog_admin, msp_enabled
):
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("catalog:category_list"))
    name = page.get_by_label("Name")
    name.fill(("Workplace equipment and services " * 4).strip())  # pasted at once
    assert len(name.input_value()) == 131  # nothing cut by the browser
    page.get_by_role("button", name="Create category").click()
    expect(page.get_by_text("Keep it to at most 120 characters; this has 131.")).to_be_visible()
    both(page, "04-category-name-too-long")


def _inside(page, locator) -> None:
    """The element is on screen at the page's width, not scrolled off to the right."""
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


def test_at_1280_px_the_request_filter_shows_whole_dates(page, both, catalog_admin, tenant_a):
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("portal:request_list"))
    for label in ("Submitted from", "to"):
        field = page.get_by_label(label, exact=True)
        assert field.bounding_box()["width"] >= 150, label
    both(page, "05-request-filter")


def test_on_a_phone_lists_are_stacked_cards_with_every_column_on_screen(
    browser, live_server, both, catalog_admin, tenant_a
):
    from entitlements.services import request_submit

    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="New hire"
    )
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, "acme-eve", PASSWORD)
    page.goto(reverse("portal:my_requests"))
    row = page.get_by_test_id("request-row").first
    _inside(page, row.locator(".req-status"))
    _inside(page, row.get_by_role("button", name="Cancel"))
    # Each value carries its column's name.
    expect(row.locator("td").nth(5)).to_have_attribute("data-label", "Status")
    both(page, "06-my-requests-phone")
    context.close()

    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_list"))
    row = page.get_by_test_id("customer-table").locator("tbody tr").first
    _inside(page, row.get_by_text("No marketplace").or_(row.get_by_text("OK")).first)
    _inside(page, row.locator("td").nth(5))  # credit balance
    both(page, "07-customers-phone")
    page.goto(reverse("customers:customer_list") + "?q=nothing-like-this")
    empty = page.get_by_text("No customer matches")
    _inside(page, empty)
    both(page, "08-customers-empty-phone")
    context.close()


def test_the_customer_page_has_credits_and_add_customer_an_opening_grant(
    page, both, catalog_admin, msp_enabled, acme
):
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_add"))
    page.locator("#id_company").select_option(label="Acme Corp (ACME)")
    page.locator("#admin-candidates").get_by_text("Alice Archer").click()
    page.get_by_label("Credit Management").check()
    page.get_by_label("Alert threshold (credits)").fill("20")
    page.get_by_label("Opening grant (credits)").fill("100")
    both(page, "09-customer-add-opening-grant")
    page.get_by_role("button", name="Create customer").click()
    credits = page.get_by_test_id("customer-credits")
    expect(credits.get_by_test_id("customer-balance")).to_have_text("100.00")
    expect(credits.get_by_test_id("customer-forecast")).to_contain_text("Too little history")
    credits.get_by_label("Credits to grant").fill("25")
    credits.get_by_label("Reason").fill("Purchase order 42")
    credits.get_by_role("button", name="Grant").click()
    expect(page.get_by_text("Granted 25.00 credits to Acme Corp. Balance: 125.00.")).to_be_visible()
    expect(page.get_by_test_id("customer-balance")).to_have_text("125.00")
    both(page, "10-customer-page-credits")


def test_invitations_show_their_state_resend_and_forgot_password(
    page, both, catalog_admin, msp_enabled, acme
):
    from django.core import mail

    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_add"))
    page.locator("#id_company").select_option(label="Acme Corp (ACME)")
    page.locator("#admin-candidates").get_by_text("Alice Archer").click()
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "An invitation to choose a password was e-mailed to Alice Archer (alice@example.com)."
    )
    admin = page.get_by_test_id("administrator")
    expect(admin).to_contain_text("Invited")
    expect(admin).to_contain_text("not signed in yet")
    both(page, "11-customer-invited-administrator")
    sent = len(mail.outbox)
    admin.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("alert")).to_contain_text("A new invitation was e-mailed to Alice")
    assert len(mail.outbox) == sent + 1
    page.get_by_role("button", name="Sign out").click()

    page.goto(reverse("login"))
    page.get_by_label("E-mail or username").fill("alice")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("E-mail").fill("alice@example.com")
    both(page, "12-forgot-password")
    page.get_by_role("button", name="E-mail me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert "/set-password/" in mail.outbox[-1].body
    both(page, "13-forgot-password-sent")


def test_audience_rules_say_how_many_people_they_reach(page, both, tenant_a):
    from entitlements.models import AudienceKind
    from entitlements.services import audience_rule_add

    audience_rule_add(
        actor=tenant_a["admin"],
        marketplace=tenant_a["marketplace"],
        kind=AudienceKind.GROUP,
        organization="Finance",
        department="Payroll",
    )
    login(page, "acme-admin", PASSWORD)
    page.goto(reverse("entitlements:marketplace_detail", args=[tenant_a["marketplace"].pk]))
    rules = page.get_by_test_id("audience-rules")
    expect(rules.locator("li", has_text="Everyone")).to_contain_text("3 people")
    expect(rules.locator("li", has_text="Payroll")).to_contain_text("1 person")
    both(page, "14-audience-reach")


def test_a_low_balance_alert_links_to_the_credits_page_and_says_just_now(
    page, both, tenant_a, catalog_admin
):
    from decimal import Decimal

    from credits.services import credit_debit, credit_grant
    from customers.services import customer_settings_update

    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=15
    )
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("30"), reason="PO")
    credit_debit(
        actor=None, customer=customer, amount=Decimal("20"), reason="r", idempotency_key="k"
    )
    login(page, "acme-admin", PASSWORD)
    page.get_by_test_id("notification-bell").get_by_role("button").first.click()
    item = page.get_by_test_id("notification-menu").get_by_test_id("notification-item").first
    expect(item).to_contain_text("just now")
    both(page, "15-bell-alert")
    item.get_by_role("link", name="below the alert threshold").click()
    expect(page.get_by_test_id("credit-balance")).to_have_text("10.00")


def test_home_shows_the_numbers_first_and_act_as_lands_on_the_overview(
    page, both, tenant_a, catalog_admin
):
    from entitlements.services import request_submit

    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="x"
    )
    login(page, "catadmin", PASSWORD)
    expect(page.get_by_test_id("home-requests-waiting")).to_contain_text("1")
    expect(page.get_by_test_id("home-customers-attention")).to_be_visible()
    expect(page.get_by_test_id("home-low-balances")).to_be_visible()
    expect(page.get_by_test_id("home-last-sync")).to_contain_text("No sync yet")
    both(page, "16-staff-home")
    page.get_by_test_id("home-requests-waiting").click()
    expect(page.get_by_test_id("request-table").locator("tbody tr")).to_have_count(1)

    page.goto(reverse("customers:customer_detail", args=[tenant_a["customer"].pk]))
    page.get_by_role("button", name="Act as this customer").click()
    expect(page.get_by_test_id("acting-as-banner")).to_contain_text("Acme Corp")
    expect(page.get_by_role("heading", name="Acme Corp", exact=True)).to_be_visible()
    assert page.url.endswith(reverse("entitlements:home"))
    page.get_by_role("button", name="Sign out").click()

    login(page, "acme-admin", PASSWORD)
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Overview")).to_have_count(1)
    expect(nav.get_by_role("link", name="Home", exact=True)).to_have_count(0)
    both(page, "17-customer-admin-menu")


def test_the_service_picker_says_every_service_is_assigned(page, both, tenant_a, catalog_admin):
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_detail", args=[tenant_a["customer"].pk]))
    expect(page.get_by_test_id("no-service")).to_have_text(
        "Every published service is assigned to Acme Corp already."
    )
    both(page, "18-service-picker-all-assigned")


def test_the_end_user_list_shows_invitations_and_resend(page, both, tenant_a, catalog_admin):
    from django.utils import timezone

    from accounts.models import User

    User.objects.filter(pk=tenant_a["eve"].pk).update(last_login=timezone.now())
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:end_user_list", args=[tenant_a["customer"].pk]))
    table = page.get_by_test_id("end-user-table")
    expect(table.locator("tr", has_text="Eve")).to_contain_text("Last sign-in just now")
    ed = table.locator("tr", has_text="Ed ")
    expect(ed).to_contain_text("Invited")
    both(page, "19-end-users-invitations")
    ed.get_by_role("button", name="Resend").click()
    expect(page.get_by_role("alert")).to_contain_text("A new invitation was e-mailed to Ed")
    assert page.url.endswith(reverse("customers:end_user_list", args=[tenant_a["customer"].pk]))
