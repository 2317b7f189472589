"""Sign-in through a customer's own OpenID Connect provider (I1), in a real browser against the
certified oidc-provider running on loopback."""

import pytest

from msp_portal.models import AuditEvent
from sso.services import customer_sso_configure
from tests.sso.conftest import emails, oidc_settings
from tests.sso.idp import free_port, oidc_provider


@pytest.fixture
def acme_idp(live_server, catalog_admin, tenant_a, tenant_b):
    """Acme's provider; its sign-in page accepts whatever login is typed, so it is hostile too."""
    emails(tenant_a, "acme.test")
    emails(tenant_b, "bright.test")
    port = free_port()
    provider = customer_sso_configure(
        actor=catalog_admin,
        customer=tenant_a["customer"],
        config=oidc_settings(
            issuer=f"http://127.0.0.1:{port}",
            domains=["acme.test"],
            client_id="acme-portal",
            secret="acme-client-secret",
            passwords=False,
        ),
    )
    callback = f"/sso/oidc/{provider.slug}/login/callback/"
    client = {
        "client_id": "acme-portal",
        "client_secret": "acme-client-secret",
        "redirect_uris": [live_server.url + callback],
        "token_endpoint_auth_method": "client_secret_post",
    }
    with oidc_provider(port=port, clients=[client]):
        yield provider


def sign_in_at_idp(page, login: str, *, typed: str = "") -> None:
    """Start at the portal with an address (typed, else login) and be login at the provider."""
    page.goto("/login/")
    page.get_by_label("E-mail or username").fill(typed or login)
    page.get_by_role("button", name="Continue").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    consent = page.get_by_role("button", name="Continue")
    if consent.count():
        consent.click()


@pytest.mark.parametrize("width", [1280, 390])
def test_an_end_user_signs_in_through_their_companys_provider(
    page, shot, acme_idp, tenant_a, width
):
    page.set_viewport_size({"width": width, "height": 860})
    page.goto("/login/")
    shot(page, f"sso-login-identify-{width}")
    sign_in_at_idp(page, "acme-eve@acme.test")
    page.wait_for_url("**/portal/**")
    assert "Acme Corp" in page.content()
    shot(page, f"sso-oidc-signed-in-{width}")
    event = AuditEvent.objects.get(action="sso.sign_in")
    assert event.actor == tenant_a["eve"]


def test_a_hostile_provider_cannot_sign_in_a_person_of_another_customer(
    page, shot, acme_idp, tenant_b
):
    # Someone starts with an Acme address, and Acme's provider asserts a person of Bright Media.
    sign_in_at_idp(page, "bright-eve@bright.test", typed="acme-eve@acme.test")
    refusal = page.get_by_test_id("sso-refusal")
    assert "no active account of your company" in refusal.inner_text()
    shot(page, "sso-oidc-hostile-refused")
    page.goto("/")
    assert "/login/" in page.url
    assert AuditEvent.objects.filter(
        action="sso.sign_in_refused", actor_label__contains="bright-eve@bright.test"
    ).exists()


def test_the_password_is_refused_for_a_customer_that_switched_it_off(page, shot, acme_idp):
    page.goto("/login/")
    page.get_by_label("E-mail or username").fill("acme-eve")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    shot(page, "sso-password-refused")
    assert "signs in through its own identity provider" in page.content()
    assert "/login/" in page.url
