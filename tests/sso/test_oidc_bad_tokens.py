"""ID tokens a provider should never send (I1, bad input): tampered, expired, for another
client, from another issuer, replayed, unsigned, signed with a key the provider does not
publish, without expiry. Each is refused with the refusal page and an audit event, and nobody
is signed in. The provider is a real HTTP server on loopback (tests/sso/hostile_oidc.py)."""

import base64
import json
import re
from html import unescape

import httpx
import pytest
from django.urls import reverse

from msp_portal.models import AuditEvent
from sso.services import customer_sso_configure
from tests.sso.conftest import emails, oidc_settings
from tests.sso.hostile_oidc import HostileProvider, rsa_key


@pytest.fixture
def hostile(catalog_admin, tenant_a):
    emails(tenant_a, "acme.test")
    with HostileProvider(client_id="acme-portal") as provider:
        customer_sso_configure(
            actor=catalog_admin,
            customer=tenant_a["customer"],
            config=oidc_settings(
                issuer=provider.issuer, domains=["acme.test"], client_id="acme-portal"
            ),
        )
        yield provider


def sign_in(client) -> object:
    """Type an Acme address, follow the provider's answer back to the portal's callback."""
    going = client.post(reverse("login"), {"username": "acme-eve@acme.test"})
    target = unescape(
        re.search(r'href="([^"]+)" data-testid="sso-continue"', going.content.decode()).group(1)
    )
    callback = httpx.get(target, follow_redirects=False).headers["Location"]
    return client.get(callback)


def segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def tampered(claims, key, provider):
    header, _, signature = provider.sign(claims).split(".")
    return ".".join([header, segment({**claims, "email": "acme-admin@acme.test"}), signature])


def unsigned(claims, key, provider):
    header = {"alg": "none", "typ": "JWT", "kid": "hostile-1"}
    return f"{segment(header)}.{segment(claims)}."


CRAFTED = {
    "tampered": tampered,
    "expired": lambda c, k, p: p.sign({**c, "iat": c["iat"] - 7200, "exp": c["iat"] - 3600}),
    "wrong_audience": lambda c, k, p: p.sign({**c, "aud": "another-client"}),
    "wrong_issuer": lambda c, k, p: p.sign({**c, "iss": "http://127.0.0.1:9/"}),
    "unsigned": unsigned,
    "foreign_key": lambda c, k, p: p.sign(c, key=rsa_key()),
    "no_expiry": lambda c, k, p: p.sign({key: v for key, v in c.items() if key != "exp"}),
}


def assert_refused(client, response) -> None:
    assert response.status_code == 403
    assert "could not be accepted" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="sso.sign_in_refused").exists()
    assert not AuditEvent.objects.filter(action="sso.sign_in").exists()


def test_a_well_made_token_signs_in(client, hostile, tenant_a):
    response = sign_in(client)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == tenant_a["eve"].pk


@pytest.mark.parametrize("case", CRAFTED)
def test_a_crafted_id_token_is_refused(client, hostile, case):
    hostile.craft = lambda claims, key: CRAFTED[case](claims, key, hostile)
    assert_refused(client, sign_in(client))


def test_a_replayed_id_token_is_refused(client, hostile, django_user_model):
    assert sign_in(client).status_code == 302
    first = hostile.tokens[0]
    client.logout()
    AuditEvent.objects.filter(action="sso.sign_in").delete()
    hostile.craft = lambda claims, key: first
    assert_refused(client, sign_in(client))
