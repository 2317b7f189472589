"""Credentials in the Django admin, in the browser: one's own password is changed on the page that
asks for the current one; another person's authenticator is reset, and the trail shows it."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from msp_portal.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory

from .conftest import login

pytestmark = pytest.mark.e2e


def _errors(page) -> list[str]:
    """Console errors, but for Chromium's /favicon.ico request: Django's admin links no icon."""
    return [e for e in page.console_errors if "404 (Not Found)" not in e]


@pytest.fixture
def root(transactional_db):
    return UserFactory(username="root", is_superuser=True, is_staff=True, company=None)


def test_a_superuser_changing_their_own_password_is_asked_for_the_current_one(page, shot, root):
    login(page, "root", PASSWORD)
    page.goto(f"/admin/accounts/user/{root.pk}/change/")
    page.get_by_role("link", name="Reset password").click()
    expect(page.get_by_text("asks for your current password first")).to_be_visible()
    expect(page.get_by_label("Old password")).to_be_visible()
    shot(page, "admin-own-password")
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password:", exact=True).fill("An-entirely-new-pass-phrase-77")
    page.get_by_label("New password confirmation:").fill("An-entirely-new-pass-phrase-77")
    page.get_by_role("button", name="Change my password").click()
    expect(page.get_by_text("Your password was changed")).to_be_visible()
    root.refresh_from_db()
    assert root.check_password("An-entirely-new-pass-phrase-77")
    assert _errors(page) == []


def test_a_superuser_resets_a_colleagues_authenticator(page, shot, root):
    colleague = UserFactory(username="colleague", is_staff=True)
    device = TOTPDevice.objects.create(user=colleague, name="Authenticator app", confirmed=True)
    own = TOTPDevice.objects.create(user=root, name="Authenticator app", confirmed=True)
    login(page, "root", PASSWORD)
    page.goto(f"/admin/otp_totp/totpdevice/{own.pk}/change/")
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    page.goto(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    shot(page, "admin-device-read-only")
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Yes, I’m sure").click()
    expect(page.get_by_text("was deleted successfully")).to_be_visible()
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action="two_factor.reset", object_id=colleague.pk).exists()
    assert _errors(page) == []
