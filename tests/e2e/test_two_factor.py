"""Two-factor sign-in in the browser: pairing at first sign-in, replacing the app from a verified
session (password and a current code again), and a password alone getting nowhere near either."""

import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD

from .conftest import login

pytestmark = pytest.mark.e2e

RECOVERY = ["abc123-def456", "aaa111-bbb222"]


def _key(page) -> bytes:
    secret = page.get_by_test_id("totp-secret").inner_text()
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def _paired(user) -> TOTPDevice:
    """An authenticator the user paired earlier, with two recovery codes left."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="Recovery codes")
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in RECOVERY)
    return device


def test_staff_pair_an_authenticator_at_first_sign_in(page, shot, catalog_admin, settings):
    settings.TWO_FACTOR_REQUIRED = True
    login(page, "catadmin", PASSWORD)
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    shot(page, "09-two-factor-setup")
    page.get_by_label("Code").fill(f"{totp(_key(page)):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    shot(page, "10-two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(
        page.get_by_role("heading", name=f"Welcome, {catalog_admin.display_name}")
    ).to_be_visible()
    assert page.console_errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_replace_their_authenticator_from_a_verified_session(
    page, shot, system_admin, settings, width
):
    settings.TWO_FACTOR_REQUIRED = True
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 860})
    old = _paired(system_admin)
    login(page, "sysadmin", PASSWORD)
    # Phone left at home: in with a recovery code; the portal says how many are left.
    page.get_by_label("Code").fill(RECOVERY[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("You signed in with a recovery code: 1 left")
    if width == 390:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Two-factor sign-in"
    ).click()
    expect(page.get_by_test_id("two-factor-status")).to_contain_text("1 recovery code left")
    shot(page, f"2fa-{width}-1-manage")
    page.get_by_role("link", name="Replace authenticator").click()
    # The password and a current code again: a wrong password changes nothing.
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_label("Current code").fill(f"{totp(old.bin_key):06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("The password or the code is not right")
    shot(page, f"2fa-{width}-2-confirm-identity-refused")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Current code").fill(f"{totp(old.bin_key):06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Pair your new authenticator app")).to_be_visible()
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    shot(page, f"2fa-{width}-3-pair-new-app")
    assert TOTPDevice.objects.get(user=system_admin, confirmed=True) == old  # still the old one
    new_key = _key(page)
    page.get_by_label("Code from the new app").fill(f"{totp(new_key):06d}")
    page.get_by_role("button", name="Confirm new app").click()
    expect(page.get_by_role("heading", name="Your new authenticator app is paired")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    shot(page, f"2fa-{width}-4-new-recovery-codes")
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.get_by_test_id("two-factor-status")).to_contain_text("10 recovery codes left")
    assert [d.bin_key for d in TOTPDevice.objects.filter(user=system_admin)] == [new_key]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.console_errors == []


def test_a_password_alone_cannot_pair_or_replace_an_authenticator(
    page, shot, system_admin, settings
):
    settings.TWO_FACTOR_REQUIRED = True
    owners = _paired(system_admin)
    login(page, "sysadmin", PASSWORD)
    for path in ("/two-factor/setup/", "/two-factor/replace/", "/two-factor/recovery-codes/"):
        page.goto(path)
        expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
        expect(page.get_by_test_id("totp-qr")).to_have_count(0)
    shot(page, "89-two-factor-setup-refused-without-code")
    assert list(TOTPDevice.objects.filter(user=system_admin)) == [owners]
    assert page.console_errors == []
