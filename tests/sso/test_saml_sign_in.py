"""Sign-in through a customer's SAML 2.0 IdP (I1): pysaml2's IdP on loopback, the portal's
allauth SAML provider behind it, over real HTTP."""

import httpx
import pytest

from msp_portal.models import AuditEvent
from sso.services import customer_sso_configure
from tests.sso.conftest import emails, saml_settings
from tests.sso.idp import free_port, saml_idp
from tests.sso.saml_flow import saml_sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bright_saml(live_server, catalog_admin, tenant_a, tenant_b):
    """Bright Media signs in through its SAML IdP, which signs in whatever login is typed."""
    emails(tenant_a, "acme.test")
    emails(tenant_b, "bright.test")
    with saml_idp(port=free_port()) as metadata_url:
        yield customer_sso_configure(
            actor=catalog_admin,
            customer=tenant_b["customer"],
            config=saml_settings(metadata_url=metadata_url, domains=["bright.test"]),
        )


@pytest.fixture
def portal(live_server):
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=20) as client:
        yield client


def test_an_administrator_signs_in_through_their_companys_saml_idp(bright_saml, portal, tenant_b):
    page = saml_sign_in(portal, "bright-admin@bright.test")
    assert page.status_code == 200
    assert "/login/" not in page.url.path
    assert "Bright Media" in page.text
    assert AuditEvent.objects.get(action="sso.sign_in").actor == tenant_b["admin"]


def test_the_saml_idp_cannot_sign_in_a_person_of_another_customer(bright_saml, portal, tenant_a):
    page = saml_sign_in(portal, "acme-admin@acme.test", typed="bright-eve@bright.test")
    assert page.status_code == 403
    assert "no active account of your company" in page.text
    assert portal.get("/").url.path == "/login/"
    assert AuditEvent.objects.filter(
        action="sso.sign_in_refused", actor_label__contains="acme-admin@acme.test"
    ).exists()
    assert not AuditEvent.objects.filter(action="sso.sign_in").exists()
