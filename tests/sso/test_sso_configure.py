"""The Sign-in card: who may set it, what it refuses, and where the secret goes."""

import re

import pytest
from django.urls import reverse

from msp_portal.errors import DomainError, NotAllowed
from msp_portal.models import AuditEvent
from sso.models import IdentityProvider
from sso.services import customer_sso_configure, sso_provider_for_login
from sso.vault import secret_open
from tests.accounts.factories import PASSWORD

from .conftest import emails, oidc_settings

FORM = {
    "kind": "oidc",
    "enabled": "on",
    "domains": "acme.test",
    "local_passwords_allowed": "on",
    "match_by": "email",
    "login_attribute": "email",
    "oidc_issuer": "https://idp.acme.test",
    "client_id": "portal-client",
    "secret": "top-secret-value",
    "scopes": "openid email",
}


def test_a_domain_of_another_customer_is_refused(catalog_admin, acme_oidc, tenant_b):
    with pytest.raises(DomainError, match=r"acme.test already signs in through Acme Corp"):
        customer_sso_configure(
            actor=catalog_admin,
            customer=tenant_b["customer"],
            config=oidc_settings(issuer="https://idp.bright.test", domains=["ACME.test"]),
        )
    assert not IdentityProvider.objects.filter(customer=tenant_b["customer"]).exists()


def test_the_secret_is_kept_encrypted_and_audited_without_it(acme_oidc):
    assert "s3cret-value-never-shown" not in acme_oidc.secret_encrypted
    assert secret_open(acme_oidc.secret_encrypted) == "s3cret-value-never-shown"
    event = AuditEvent.objects.get(action="customer.sso_configure")
    assert "s3cret" not in str(event.before) + str(event.after)
    assert event.after["domains"] == ["acme.test"]


def test_a_customer_administrator_may_not_configure(customer_admin, tenant_a):
    with pytest.raises(NotAllowed):
        customer_sso_configure(
            actor=customer_admin,
            customer=tenant_a["customer"],
            config=oidc_settings(issuer="https://idp.acme.test", domains=["acme.test"]),
        )


def test_discovery_finds_only_enabled_providers_by_domain(acme_oidc):
    assert sso_provider_for_login("Eve@ACME.test") == acme_oidc
    assert sso_provider_for_login("eve@other.test") is None
    assert sso_provider_for_login("acme-eve") is None


def test_the_card_page_saves_and_never_shows_the_secret(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    url = reverse("sso:customer_signin", args=[tenant_a["customer"].pk])
    response = client.post(url, FORM)
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "top-secret-value" not in page
    assert "A client secret is saved" in page
    provider = IdentityProvider.objects.get(customer=tenant_a["customer"])
    assert f"/sso/oidc/{provider.slug}/login/callback/" in page
    card = client.get(reverse("sso:customer_signin_card", args=[tenant_a["customer"].pk]))
    assert "acme.test" in card.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("domains", "not a domain!", "is not an e-mail domain"),
        ("domains", "localhost", "is not an e-mail domain"),
        ("oidc_issuer", "http://idp.acme.test", "must start with https://"),
        ("oidc_issuer", "javascript:alert(1)", "Enter a valid URL"),
    ],
)
def test_hostile_values_get_clear_form_errors(
    client, catalog_admin, tenant_a, field, value, message
):
    client.force_login(catalog_admin)
    url = reverse("sso:customer_signin", args=[tenant_a["customer"].pk])
    response = client.post(url, {**FORM, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not IdentityProvider.objects.exists()


def test_saml_metadata_that_does_not_parse_gets_a_clear_message(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    url = reverse("sso:customer_signin", args=[tenant_a["customer"].pk])
    for xml in [
        "<not-metadata",
        "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
    ]:
        response = client.post(url, {**FORM, "kind": "saml", "saml_metadata_xml": xml})
        assert "is not SAML 2.0 IdP metadata the portal can read" in response.content.decode()
    assert not IdentityProvider.objects.exists()


def test_password_sign_in_is_refused_when_the_customer_switched_it_off(
    client, catalog_admin, tenant_a
):
    emails(tenant_a, "acme.test")
    customer_sso_configure(
        actor=catalog_admin,
        customer=tenant_a["customer"],
        config=oidc_settings(
            issuer="https://idp.acme.test", domains=["acme.test"], passwords=False
        ),
    )
    response = client.post(reverse("login"), {"username": "acme-eve", "password": PASSWORD})
    assert response.status_code == 200
    assert "signs in through its own identity provider" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_sign_in_stays_open_where_allowed(client, acme_oidc):
    response = client.post(reverse("login"), {"username": "acme-eve", "password": PASSWORD})
    assert response.status_code == 302


def test_an_unknown_domain_is_answered_like_a_login_name(client, acme_oidc):
    unknown = client.post(reverse("login"), {"username": "someone@nowhere.test"})
    plain = client.post(reverse("login"), {"username": "acme-eve"})
    assert unknown.status_code == plain.status_code == 200
    assert 'name="password"' in unknown.content.decode()
    strip = re.compile(r'value="[A-Za-z0-9]{32,}"|"X-CSRFToken": "[A-Za-z0-9]+"')
    assert strip.sub("", unknown.content.decode()).replace(
        "someone@nowhere.test", "X"
    ) == strip.sub("", plain.content.decode()).replace("acme-eve", "X")
