"""Sign-in through a customer's own SAML 2.0 IdP (I1), in a real browser against pysaml2's IdP
running on loopback (tests/idp/saml_idp.py)."""

import pytest

from msp_portal.models import AuditEvent
from sso.services import customer_sso_configure
from tests.sso.conftest import emails, saml_settings
from tests.sso.idp import free_port, saml_idp


@pytest.fixture
def bright_idp(live_server, catalog_admin, tenant_a, tenant_b):
    """Bright Media's SAML IdP; its sign-in page accepts whatever login is typed."""
    emails(tenant_a, "acme.test")
    emails(tenant_b, "bright.test")
    with saml_idp(port=free_port()) as metadata_url:
        yield customer_sso_configure(
            actor=catalog_admin,
            customer=tenant_b["customer"],
            config=saml_settings(metadata_url=metadata_url, domains=["bright.test"]),
        )


@pytest.mark.parametrize("width", [1280, 390])
def test_another_customers_administrator_signs_in_through_their_saml_idp(
    page, shot, bright_idp, tenant_b, width
):
    page.set_viewport_size({"width": width, "height": 860})
    page.goto("/login/")
    page.get_by_label("E-mail or username").fill("bright-admin@bright.test")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Test IdP sign-in").wait_for()
    shot(page, f"sso-saml-idp-{width}")
    page.get_by_label("Login").fill("bright-admin@bright.test")
    page.get_by_label("Password").fill("anything")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sso/" not in url and "127.0.0.1" not in url)
    assert "Bright Media" in page.content()
    shot(page, f"sso-saml-signed-in-{width}")
    assert AuditEvent.objects.get(action="sso.sign_in").actor == tenant_b["admin"]
    assert page.console_errors == []
