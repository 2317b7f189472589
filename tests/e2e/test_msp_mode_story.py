"""A system administrator signs in, reads the readiness checklist and switches MSP mode on."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from customers.services import msp_enable
from msp_portal.models import AuditEvent
from msp_portal.selectors import msp_mode_enabled
from tests.accounts.factories import PASSWORD
from tests.customers.factories import CustomerFactory

from .conftest import login

pytestmark = pytest.mark.e2e


def test_a_system_administrator_enables_msp_mode(page, shot, system_admin):
    page.goto("/")
    shot(page, "01-login")
    login(page, "sysadmin", PASSWORD)
    expect(
        page.get_by_role("heading", name=f"Welcome, {system_admin.display_name}")
    ).to_be_visible()
    shot(page, "02-home")

    page.get_by_role("link", name="MSP mode").first.click()
    checklist = page.get_by_test_id("readiness")
    expect(checklist).to_contain_text("Fresh install")
    expect(checklist).to_contain_text("No external users")
    expect(page.get_by_test_id("msp-status")).to_have_text("Disabled")
    shot(page, "03-msp-mode-checklist")

    page.get_by_label("Type ENABLE MSP MODE to confirm").fill("enable")
    page.get_by_role("button", name="Switch MSP mode on").click()
    expect(page.get_by_text("Type ENABLE MSP MODE exactly")).to_be_visible()
    shot(page, "04-msp-mode-wrong-confirmation")
    assert not msp_mode_enabled()

    page.get_by_label("Type ENABLE MSP MODE to confirm").fill("ENABLE MSP MODE")
    page.get_by_role("button", name="Switch MSP mode on").click()
    expect(page.get_by_test_id("msp-status")).to_have_text("Enabled")
    expect(page.get_by_text("MSP mode is on. You can now add customers.")).to_be_visible()
    shot(page, "05-msp-mode-enabled")
    assert msp_mode_enabled()
    assert AuditEvent.objects.filter(action="msp_mode.enable", actor=system_admin).exists()

    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_test_id("audit-table")).to_contain_text("msp_mode.enable")
    shot(page, "06-audit-trail")

    page.get_by_role("link", name="External users").click()
    expect(page.get_by_test_id("external-closed")).to_be_visible()
    shot(page, "07-external-users-closed")
    assert page.console_errors == []


def test_the_login_page_says_clearly_when_the_password_is_wrong(page, shot, system_admin):
    login(page, "sysadmin", "wrong password")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    shot(page, "08-login-failed")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_system_administrator_switches_msp_mode_off_before_the_first_customer(
    page, shot, system_admin, width
):
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 860})
    msp_enable(actor=system_admin)  # on by mistake, on a fresh install
    login(page, "sysadmin", PASSWORD)
    page.goto(reverse("customers:msp_mode"))
    expect(page.get_by_test_id("msp-status")).to_have_text("Enabled")
    expect(page.get_by_test_id("msp-disable")).to_contain_text("No customer has been added yet")
    shot(page, f"msp-off-{width}-1-can-still-go-off")

    page.get_by_label("Type DISABLE MSP MODE to confirm").fill("disable")
    page.get_by_role("button", name="Switch MSP mode off").click()
    expect(page.get_by_text("Type DISABLE MSP MODE exactly")).to_be_visible()
    shot(page, f"msp-off-{width}-2-wrong-confirmation")
    assert msp_mode_enabled()

    page.get_by_label("Type DISABLE MSP MODE to confirm").fill("DISABLE MSP MODE")
    page.get_by_role("button", name="Switch MSP mode off").click()
    expect(page.get_by_test_id("msp-status")).to_have_text("Disabled")
    expect(page.get_by_text("MSP mode is off again.")).to_be_visible()
    expect(page.get_by_test_id("readiness")).to_contain_text("Fresh install")
    shot(page, f"msp-off-{width}-3-off-again")
    assert not msp_mode_enabled()
    assert AuditEvent.objects.filter(action="msp_mode.disable", actor=system_admin).exists()

    msp_enable(actor=system_admin)
    CustomerFactory()  # the first customer: from now on it stays on
    page.reload()
    expect(page.get_by_test_id("msp-stays-on")).to_contain_text("stays on for good")
    expect(page.get_by_test_id("msp-disable")).to_have_count(0)
    shot(page, f"msp-off-{width}-4-stays-on")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.console_errors == []
