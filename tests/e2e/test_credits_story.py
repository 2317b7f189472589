"""Credits end to end: a catalog administrator grants, an end user spends, the administrator sees."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from credits.models import CreditAccount, CreditEntry
from tests.accounts.factories import PASSWORD

from .conftest import login

pytestmark = pytest.mark.e2e


def test_a_grant_is_spent_and_the_customer_admin_sees_balance_chart_and_alert(page, shot, tenant_a):
    customer = tenant_a["customer"]

    # The catalog administrator switches Credit Management on with a threshold of 15 …
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("customers:customer_detail", kwargs={"pk": customer.pk}))
    page.get_by_label("Credit Management").check()
    page.get_by_label("Alert threshold (credits)").fill("15")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    shot(page, "60-credits-customer-settings")

    # … and grants 30 credits on the account page.
    page.goto(reverse("credits:account_detail", kwargs={"pk": customer.pk}))
    expect(page.get_by_test_id("credit-balance")).to_have_text("0.00")
    page.get_by_label("Credits to grant").fill("30")
    page.get_by_label("Reason").first.fill("Purchase order 2026-001")
    shot(page, "61-credits-grant-form")
    page.get_by_role("button", name="Grant", exact=True).click()
    expect(page.get_by_text("Granted 30.00 credits to Acme Corp. Balance: 30.00.")).to_be_visible()
    expect(page.get_by_test_id("credit-balance")).to_have_text("30.00")
    expect(page.get_by_test_id("ledger-table")).to_contain_text("Purchase order 2026-001")
    shot(page, "62-credits-granted")

    page.get_by_test_id("notification-bell").get_by_role("button").click()
    expect(page.get_by_test_id("notification-menu")).to_contain_text("No notifications yet.")
    page.get_by_role("button", name="Sign out").click()

    # Eve, an end user of the customer, requests two laptops at 10 credits each.
    login(page, "acme-eve", PASSWORD)
    page.goto(reverse("portal:catalog"))
    page.get_by_role("link", name="Laptop", exact=True).click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Justification").fill("Two new starters in Finance")
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_text("for 2 × Laptop is submitted")).to_be_visible()
    shot(page, "63-credits-end-user-request")
    page.get_by_role("button", name="Sign out").click()
    assert CreditAccount.objects.get(customer=customer).balance == 10

    # The customer's administrator: the bell holds one alert, the menu shows the balance.
    login(page, "acme-admin", PASSWORD)
    bell = page.get_by_test_id("notification-bell")
    expect(bell.get_by_test_id("notification-count")).to_have_text("1")
    bell.get_by_role("button").first.click()
    menu = page.get_by_test_id("notification-menu")
    expect(menu.get_by_test_id("bell-balance")).to_contain_text("Balance: 10.00")
    expect(menu.get_by_test_id("notification-item")).to_have_count(1)
    expect(menu.get_by_test_id("notification-item")).to_contain_text("below the alert threshold")
    shot(page, "64-credits-bell-alert")

    # The account page: balance, the chart, the debit in the ledger, and the forecast's honesty.
    menu.get_by_test_id("bell-balance").click()
    expect(page).to_have_url(re.compile(rf"/credits/customers/{customer.pk}/$"))
    expect(page.get_by_test_id("credit-balance")).to_have_text("10.00")
    expect(page.get_by_test_id("credit-threshold")).to_have_text("15.00")
    expect(page.get_by_test_id("balance-chart")).to_be_visible()
    debit = CreditEntry.objects.get(account__customer=customer, kind="debit")
    ledger = page.get_by_test_id("ledger-table")
    expect(ledger).to_contain_text(f"Request #{debit.request_id}: 2 × Laptop")
    expect(ledger).to_contain_text("-20.00")
    expect(page.get_by_test_id("credit-forecast")).to_contain_text(
        "Too little history to forecast (1 debit in the last 30 days)."
    )
    expect(page.get_by_test_id("grant-form")).to_have_count(0)
    shot(page, "65-credits-admin-account")

    # The history filters in place (htmx) and the export link follows them.
    page.get_by_label("Kind").select_option("grant")
    expect(ledger).not_to_contain_text("2 × Laptop")
    expect(ledger).to_contain_text("Purchase order 2026-001")
    expect(page).to_have_url(re.compile(r"kind=grant"))
    expect(page.get_by_test_id("ledger-export")).to_have_attribute(
        "href", re.compile(r"ledger\.csv\?kind=grant")
    )
    shot(page, "65b-credits-admin-history-filtered")

    # Reading the alert clears the count; the list keeps it, read.
    page.get_by_test_id("notification-bell").get_by_role("button").first.click()
    menu = page.get_by_test_id("notification-menu")
    menu.get_by_role("button", name=re.compile("Mark read")).click()
    expect(page.get_by_test_id("notification-count")).to_have_count(0)
    page.goto(reverse("credits:notification_list"))
    expect(page.get_by_test_id("notification-list")).to_contain_text("below the alert threshold")
    expect(page.get_by_test_id("notification-list")).to_contain_text("read ")
    shot(page, "66-credits-notifications")
    page.get_by_role("button", name="Sign out").click()

    # The catalog administrator's overview puts Acme among the urgent ones, with its alert.
    login(page, "catadmin", PASSWORD)
    expect(page.get_by_test_id("notification-count")).to_have_text("1")
    page.goto(reverse("credits:account_list"))
    table = page.get_by_test_id("credit-account-table")
    expect(table).to_contain_text("Acme Corp")
    expect(table).to_contain_text("below threshold")
    expect(page.get_by_test_id("credit-summary")).to_contain_text("1 below the alert threshold")
    shot(page, "67-credits-overview")
    assert page.console_errors == []
