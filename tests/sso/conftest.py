import pytest

from sso.services import SsoSettings, customer_sso_configure


def oidc_settings(
    *, issuer: str, domains: list[str], passwords: bool = True, **extra
) -> SsoSettings:
    return SsoSettings(
        kind="oidc",
        enabled=True,
        domains=domains,
        local_passwords_allowed=passwords,
        match_by=extra.pop("match_by", "email"),
        login_attribute=extra.pop("login_attribute", "email"),
        oidc_issuer=issuer,
        client_id=extra.pop("client_id", "portal-client"),
        secret=extra.pop("secret", "s3cret-value-never-shown"),
        **extra,
    )


def emails(tenant: dict, domain: str) -> None:
    """Give the tenant's people addresses in their own company's domain."""
    for key in ("admin", "eve", "ed"):
        person = tenant[key].person
        person.email = f"{person.remedy_login_id}@{domain}"
        person.save(update_fields=["email"])


@pytest.fixture
def acme_oidc(catalog_admin, tenant_a):
    emails(tenant_a, "acme.test")
    return customer_sso_configure(
        actor=catalog_admin,
        customer=tenant_a["customer"],
        config=oidc_settings(issuer="https://idp.acme.test", domains=["acme.test"]),
    )


# The e-mail attribute's name in SAML's URI format (eduPerson / X.500 "mail").
MAIL_ATTRIBUTE = "urn:oid:0.9.2342.19200300.100.1.3"


def saml_settings(*, metadata_url: str, domains: list[str], passwords: bool = True) -> SsoSettings:
    return SsoSettings(
        kind="saml",
        enabled=True,
        domains=domains,
        local_passwords_allowed=passwords,
        match_by="email",
        login_attribute=MAIL_ATTRIBUTE,
        saml_metadata_url=metadata_url,
    )
