"""A catalog administrator pairs an authenticator app at first sign-in and keeps the recovery codes."""

import base64

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD

from .conftest import login

pytestmark = pytest.mark.e2e


def test_staff_pair_an_authenticator_at_first_sign_in(page, shot, catalog_admin, settings):
    settings.TWO_FACTOR_REQUIRED = True
    login(page, "catadmin", PASSWORD)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    shot(page, "09-two-factor-setup")
    secret = page.get_by_test_id("totp-secret").inner_text()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    shot(page, "10-two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(
        page.get_by_role("heading", name=f"Welcome, {catalog_admin.display_name}")
    ).to_be_visible()
    assert page.console_errors == []
