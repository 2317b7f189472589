"""The Sign-in card's form, and the password form that knows when a customer switched passwords off."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from msp_portal.errors import DomainError

from .models import IdentityProvider
from .services import SsoSettings, domains_parse, local_password_allowed


class PortalAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing a password of someone whose customer signs in elsewhere."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not local_password_allowed(user):
            raise ValidationError(
                "Your company signs in through its own identity provider, not with a portal "
                "password. Enter your work e-mail address and choose Continue.",
                code="sso_only",
            )


class IdentifyForm(forms.Form):
    username = forms.CharField(label="E-mail or username", max_length=254)


class SsoConfigureForm(forms.Form):
    kind = forms.ChoiceField(label="Protocol", choices=IdentityProvider.Kind.choices)
    enabled = forms.BooleanField(label="Sign-in through this provider is on", required=False)
    domains = forms.CharField(
        label="E-mail domains",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line. People typing an address in these domains go to this provider.",
    )
    local_passwords_allowed = forms.BooleanField(
        label="Local portal passwords stay allowed", required=False
    )
    match_by = forms.ChoiceField(
        label="Match the signed-in person by", choices=IdentityProvider.MatchBy.choices
    )
    login_attribute = forms.CharField(
        label="Claim or attribute carrying the e-mail or login", max_length=255, initial="email"
    )
    oidc_issuer = forms.URLField(
        label="Issuer URL", required=False, max_length=500, assume_scheme="https"
    )
    client_id = forms.CharField(label="Client ID", required=False, max_length=255)
    secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again; leave empty to keep the saved one.",
    )
    scopes = forms.CharField(
        label="Scopes", required=False, max_length=255, initial="openid email profile"
    )
    saml_metadata_url = forms.URLField(
        label="IdP metadata URL", required=False, max_length=500, assume_scheme="https"
    )
    saml_metadata_xml = forms.CharField(
        label="…or the IdP metadata XML",
        required=False,
        max_length=1_000_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    saml_entity_id = forms.CharField(
        label="IdP entity ID (when the metadata holds several)", required=False, max_length=500
    )

    def clean_domains(self) -> list[str]:
        try:
            return domains_parse(self.cleaned_data["domains"])
        except DomainError as error:
            raise ValidationError(error.messages) from error

    def clean_login_attribute(self) -> str:
        value = self.cleaned_data["login_attribute"].strip()
        if not value or any(ch.isspace() or ord(ch) < 32 for ch in value):
            raise ValidationError("Name one claim or attribute, without spaces, such as email.")
        return value

    def clean(self):
        data = super().clean()
        if data.get("kind") == IdentityProvider.Kind.SAML and not (
            data.get("saml_metadata_url") or (data.get("saml_metadata_xml") or "").strip()
        ):
            self.add_error(
                "saml_metadata_url", "Give the IdP metadata URL, or paste its XML below."
            )
        if data.get("kind") == IdentityProvider.Kind.OIDC:
            if not data.get("oidc_issuer"):
                self.add_error(
                    "oidc_issuer", "Enter the issuer URL of the OpenID Connect provider."
                )
            if not (data.get("client_id") or "").strip():
                self.add_error("client_id", "Enter the client ID the provider gave for the portal.")
        return data

    def settings(self) -> SsoSettings:
        data = self.cleaned_data
        return SsoSettings(
            kind=data["kind"],
            enabled=data["enabled"],
            domains=data["domains"],
            local_passwords_allowed=data["local_passwords_allowed"],
            match_by=data["match_by"],
            login_attribute=data["login_attribute"],
            oidc_issuer=data.get("oidc_issuer") or "",
            client_id=(data.get("client_id") or "").strip(),
            secret=data.get("secret") or "",
            scopes=data.get("scopes") or "openid email profile",
            saml_metadata_url=data.get("saml_metadata_url") or "",
            saml_metadata_xml=data.get("saml_metadata_xml") or "",
            saml_entity_id=data.get("saml_entity_id") or "",
        )

    @classmethod
    def initial_for(cls, provider: IdentityProvider | None) -> dict:
        if provider is None:
            return {"enabled": True, "local_passwords_allowed": True, "kind": "oidc"}
        return {
            "kind": provider.kind,
            "enabled": provider.enabled,
            "domains": "\n".join(provider.domains.values_list("domain", flat=True)),
            "local_passwords_allowed": provider.local_passwords_allowed,
            "match_by": provider.match_by,
            "login_attribute": provider.login_attribute,
            "oidc_issuer": provider.oidc_issuer,
            "client_id": provider.client_id,
            "scopes": provider.scopes,
            "saml_metadata_url": provider.saml_metadata_url,
            "saml_metadata_xml": provider.saml_metadata_xml,
            "saml_entity_id": provider.saml_entity_id,
        }
