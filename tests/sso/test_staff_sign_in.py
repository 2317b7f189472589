"""MSP staff through the provider's own identity provider (I1 item 4, settings
SSO_STAFF_PROVIDER_*): two-factor is then that provider's; a password keeps the portal's own."""

import re
from html import unescape

import httpx
import pytest
from django.urls import reverse

from msp_portal.errors import DomainError
from msp_portal.models import AuditEvent
from sso.services import customer_sso_configure
from tests.accounts.factories import PASSWORD
from tests.sso.conftest import oidc_settings
from tests.sso.hostile_oidc import HostileProvider


@pytest.fixture
def staff_idp(settings, catalog_admin, msp_enabled):
    catalog_admin.email = "cat@msp.test"
    catalog_admin.save(update_fields=["email"])
    with HostileProvider(client_id="msp-portal") as provider:
        provider.email = "cat@msp.test"
        settings.SSO_STAFF_PROVIDER = {
            "issuer": provider.issuer,
            "client_id": "msp-portal",
            "secret": "staff-secret",
            "scopes": "openid email",
            "domains": ["msp.test"],
        }
        settings.TWO_FACTOR_REQUIRED = True
        yield provider


def sign_in(client, typed: str):
    going = client.post(reverse("login"), {"username": typed})
    target = re.search(r'href="([^"]+)" data-testid="sso-continue"', going.content.decode())
    assert target, going.content.decode()
    callback = httpx.get(unescape(target.group(1)), follow_redirects=False).headers["Location"]
    assert "/sso/oidc/msp-staff/login/callback/" in callback
    return client.get(callback)


def test_staff_sign_in_through_the_msps_own_provider_without_a_second_code(
    client, staff_idp, catalog_admin
):
    response = sign_in(client, "cat@msp.test")
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == catalog_admin.pk
    page = client.get(reverse("customers:customer_list"))
    assert page.status_code == 200
    event = AuditEvent.objects.get(action="sso.sign_in")
    assert event.actor == catalog_admin


def test_staff_with_a_password_still_give_the_portals_second_code(client, staff_idp, catalog_admin):
    response = client.post(reverse("login"), {"username": "catadmin", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("customers:customer_list"))
    assert page.status_code == 302
    assert "/two-factor/" in page["Location"]


def test_the_staff_provider_cannot_sign_in_a_customers_person(client, staff_idp, tenant_a):
    staff_idp.email = tenant_a["eve"].email
    response = sign_in(client, "cat@msp.test")
    assert response.status_code == 403
    assert "no active MSP staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="sso.sign_in_refused").exists()


def test_a_customer_may_not_claim_the_staff_domain(staff_idp, catalog_admin, tenant_a):
    with pytest.raises(DomainError, match="domain of the MSP's own staff"):
        customer_sso_configure(
            actor=catalog_admin,
            customer=tenant_a["customer"],
            config=oidc_settings(issuer="https://idp.acme.test", domains=["msp.test"]),
        )
