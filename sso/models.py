"""Each customer's own identity provider (I1) and the e-mail domains that lead to it."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _new_slug() -> str:
    return secrets.token_hex(8)


class IdentityProvider(models.Model):
    """A customer's OpenID Connect or SAML 2.0 provider; it signs in that customer's people only."""

    class Kind(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML 2.0"

    class MatchBy(models.TextChoices):
        EMAIL = "email", "E-mail (Internet E-mail of the ITSM person)"
        LOGIN = "login", "Login (Remedy Login ID of the ITSM person)"

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="identity_provider"
    )
    # In the redirect URI and ACS URL given to the customer's IT; random, so it names no one.
    slug = models.CharField(max_length=32, unique=True, default=_new_slug, editable=False)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OIDC)
    enabled = models.BooleanField(default=True)
    oidc_issuer = models.URLField("issuer URL", max_length=500, blank=True)
    client_id = models.CharField("client ID", max_length=255, blank=True)
    # Fernet token (sso.secrets), never shown again once saved.
    secret_encrypted = models.TextField(blank=True, editable=False)
    scopes = models.CharField(max_length=255, default="openid email profile")
    saml_metadata_url = models.URLField("IdP metadata URL", max_length=500, blank=True)
    saml_metadata_xml = models.TextField("IdP metadata XML", blank=True)
    saml_entity_id = models.CharField("IdP entity ID", max_length=500, blank=True)
    # What the metadata said when it was saved: entity id, sign-in URL, certificate.
    saml_idp = models.JSONField(default=dict, blank=True, editable=False)
    login_attribute = models.CharField(
        "attribute or claim carrying the e-mail or login", max_length=255, default="email"
    )
    match_by = models.CharField(max_length=5, choices=MatchBy.choices, default=MatchBy.EMAIL)
    local_passwords_allowed = models.BooleanField(
        "local passwords allowed",
        default=True,
        help_text="Off: the customer's people can sign in only through this provider.",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="oidc")
                | (~models.Q(oidc_issuer="") & ~models.Q(client_id="")),
                name="sso_oidc_has_issuer_and_client",
                violation_error_message="An OpenID Connect provider needs an issuer URL and a client ID.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sign-in of {self.customer}"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class SignInDomain(models.Model):
    """An e-mail domain that leads to one provider; no domain belongs to two customers."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(
        max_length=253,
        unique=True,
        error_messages={"unique": "This domain already signs in through another customer."},
    )

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
