"""Sign-in through a customer's SAML 2.0 IdP (I1): pysaml2's IdP on loopback, the portal's
allauth SAML provider behind it, over real HTTP."""

import base64
import re

import httpx
import pytest
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from msp_portal.models import AuditEvent
from sso.services import customer_sso_configure
from tests.sso.conftest import emails, saml_settings
from tests.sso.idp import free_port, saml_idp
from tests.sso.saml_flow import saml_response_for, saml_sign_in

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


def _edit(fields: dict, change) -> dict:
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    return {**fields, "SAMLResponse": base64.b64encode(change(xml).encode()).decode()}


def _tampered(xml: str) -> str:
    # Another person of the same customer: only the signature can tell.
    assert "bright-eve@bright.test" in xml
    return xml.replace("bright-eve@bright.test", "bright-admin@bright.test")


def _unsigned(xml: str) -> str:
    return re.sub(r"<(\w+:)?Signature[ >].*?</(\w+:)?Signature>", "", xml, flags=re.S)


def assert_refused(portal: httpx.Client, page: httpx.Response, message: str) -> None:
    assert page.status_code == 403, page.text[-600:]
    assert message in page.text
    assert portal.get("/").url.path == "/login/"
    assert AuditEvent.objects.filter(action="sso.sign_in_refused").exists()
    assert not AuditEvent.objects.filter(action="sso.sign_in").exists()
    AuditEvent.objects.filter(action="sso.sign_in_refused").delete()


@pytest.mark.parametrize("case", ["tampered", "unsigned", "wrong_issuer", "wrong_audience"])
def test_a_crafted_assertion_is_refused(bright_saml, portal, case):
    craft = {"wrong_issuer": "issuer", "wrong_audience": "audience"}.get(case, "")
    acs, fields = saml_response_for(portal, "bright-eve@bright.test", craft=craft)
    if case == "tampered":
        fields = _edit(fields, _tampered)
    elif case == "unsigned":
        fields = _edit(fields, _unsigned)
    assert_refused(portal, portal.post(acs, data=fields), "could not be accepted")


def test_an_expired_assertion_is_refused(bright_saml, portal, monkeypatch):
    acs, fields = saml_response_for(portal, "bright-eve@bright.test")
    later = OneLogin_Saml2_Utils.now() + 3600
    monkeypatch.setattr(OneLogin_Saml2_Utils, "now", staticmethod(lambda: later))
    assert_refused(portal, portal.post(acs, data=fields), "could not be accepted")


def test_a_replayed_assertion_is_refused(bright_saml, portal, live_server):
    acs, fields = saml_response_for(portal, "bright-eve@bright.test")
    assert portal.post(acs, data=fields).url.path != "/login/"
    AuditEvent.objects.filter(action="sso.sign_in").delete()
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=20) as other:
        assert_refused(other, other.post(acs, data=fields), "could not be accepted")
    # ...and again in the browser that used it, after signing out.
    portal.post("/logout/", data={"csrfmiddlewaretoken": portal.cookies["csrftoken"]})
    assert_refused(portal, portal.post(acs, data=fields), "could not be accepted")


def test_sign_out_ends_the_session_and_the_idps_through_single_logout(bright_saml, portal):
    saml_sign_in(portal, "bright-admin@bright.test")
    page = portal.post("/logout/", data={"csrfmiddlewaretoken": portal.cookies["csrftoken"]})
    assert page.url.path == "/login/"
    assert any(step.url.path == "/slo" for step in page.history)
    log = httpx.get(bright_saml.saml_idp["slo_url"].replace("/slo", "/log")).json()
    assert log["logouts"] == [{"name_id": "bright-admin@bright.test", "session_index": []}]
    assert portal.get("/").url.path == "/login/"
