"""Who may open each sign-in (I1) URL; merged into tests/security/access.py's ACCESS.

The protocol endpoints are public (an identity provider's browser redirect or POST lands there
before anyone is signed in): they refuse a request that carries no valid answer with 403 and
the refusal page, and name a provider only by its random slug.
"""

from .access import CATALOG_ADMIN, Access

REFUSED = frozenset({403})


def _plant(w, kind: str) -> dict:
    """A provider of customer A's (OpenID Connect) or B's (SAML), written as the service would."""
    from sso.models import IdentityProvider

    customer = w["a" if kind == "oidc" else "b"]["customer"]
    provider, _ = IdentityProvider.objects.get_or_create(
        customer=customer,
        defaults={
            "kind": kind,
            "oidc_issuer": "https://idp.invalid" if kind == "oidc" else "",
            "client_id": "portal" if kind == "oidc" else "",
            "saml_entity_id": "https://idp.invalid/saml",
            "saml_idp": {
                "entity_id": "https://idp.invalid/saml",
                "sso_url": "https://idp.invalid/saml/sso",
                "x509cert": "MIIB",
            },
        },
    )
    return provider.slug


def _oidc(w) -> dict:
    return {"provider_id": _plant(w, "oidc")}


def _saml(w) -> dict:
    return {"organization_slug": _plant(w, "saml")}


_A = {"kwargs": lambda w: {"pk": w["a"]["customer"].pk}, "owner": "a"}

ACCESS: dict[str, Access] = {
    "sso:customer_signin_card": Access(frozenset({CATALOG_ADMIN}), **_A),
    "sso:customer_signin": Access(frozenset({CATALOG_ADMIN}), **_A),
    "openid_connect_login": Access(frozenset(), kwargs=_oidc, public=True),
    "openid_connect_callback": Access(frozenset(), kwargs=_oidc, public=True, ok=REFUSED),
    "saml_login": Access(frozenset(), kwargs=_saml, public=True),
    "saml_metadata": Access(frozenset(), kwargs=_saml, public=True),
    "saml_acs": Access(frozenset(), kwargs=_saml, public=True, method="post", ok=REFUSED),
    "saml_finish_acs": Access(frozenset(), kwargs=_saml, public=True, ok=REFUSED),
    "saml_sls": Access(frozenset(), kwargs=_saml, public=True, ok=frozenset({400})),
    "socialaccount_login_cancelled": Access(frozenset(), public=True, ok=REFUSED),
    "socialaccount_login_error": Access(frozenset(), public=True, ok=REFUSED),
}
