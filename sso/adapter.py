"""allauth wired to the portal: apps come from sso.IdentityProvider rows, every completed sign-in
is checked by sso.services.sso_account_for, and nothing is ever signed up."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.auth import login
from django.http import HttpRequest
from django.shortcuts import redirect, resolve_url
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.twofactor import IDP_SESSION_KEY

from .models import IdentityProvider
from .services import (
    STAFF_PROVIDER_ID,
    SignInRefused,
    sso_account_for,
    sso_provider_get,
    sso_refusal_record,
    sso_sign_in_record,
    sso_staff_account_for,
    sso_staff_sign_in_record,
    staff_provider_settings,
)
from .vault import secret_open

SESSION_PROVIDER_KEY = "sso_provider"
# The SAML NameID of the sign-in, which single logout names to the IdP.
SESSION_NAME_ID_KEY = "sso_name_id"
ANSWER_REFUSED = (
    "Your identity provider's answer could not be accepted, so you are not signed in. Try "
    "again from the sign-in page; if it happens again, tell your IT which time it happened."
)


def social_app(provider: IdentityProvider) -> SocialApp:
    """The allauth app (never saved) for one customer's provider."""
    if provider.kind == IdentityProvider.Kind.OIDC:
        return SocialApp(
            provider="openid_connect",
            provider_id=provider.slug,
            name=str(provider.customer),
            client_id=provider.client_id,
            secret=secret_open(provider.secret_encrypted),
            settings={
                "server_url": provider.oidc_issuer,
                "scope": provider.scopes.split(),
                "oauth_pkce_enabled": True,
                # The ID token alone: its signature, issuer, audience and expiry are checked.
                "fetch_userinfo": False,
            },
        )
    idp = provider.saml_idp
    return SocialApp(
        provider="saml",
        provider_id=provider.slug,
        name=str(provider.customer),
        client_id=provider.slug,
        settings={
            "idp": {
                "entity_id": idp.get("entity_id", ""),
                "sso_url": idp.get("sso_url", ""),
                "slo_url": idp.get("slo_url", ""),
                "x509cert": idp.get("x509cert", ""),
            },
            # No "uid": allauth then takes the NameID, kept for single logout.
            "attribute_mapping": {"email": provider.login_attribute},
            "advanced": {
                "strict": True,
                "want_assertion_signed": True,
                "reject_idp_initiated_sso": True,
                # Hosts such as localhost: the URLs are the portal's own, built from the request.
                "allow_single_label_domains": True,
            },
        },
    )


def staff_app() -> SocialApp | None:
    """The allauth app (never saved) of the provider's own identity provider for MSP staff."""
    config = staff_provider_settings()
    if config is None:
        return None
    return SocialApp(
        provider="openid_connect",
        provider_id=STAFF_PROVIDER_ID,
        name="MSP staff",
        client_id=config["client_id"],
        secret=config["secret"],
        settings={
            "server_url": config["issuer"].rstrip("/"),
            "scope": config["scopes"].split(),
            "oauth_pkce_enabled": True,
            "fetch_userinfo": False,
        },
    )


def refusal_response(request: HttpRequest, message: str) -> TemplateResponse:
    return TemplateResponse(request, "sso/refused.html", {"message": message}, status=403)


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None):
        rows = IdentityProvider.objects.select_related("customer__company").filter(enabled=True)
        if provider in ("openid_connect", "saml"):
            rows = rows.filter(kind="oidc" if provider == "openid_connect" else "saml")
        elif provider:
            rows = rows.filter(slug=provider)
        if client_id:
            rows = rows.filter(slug=client_id) | rows.filter(client_id=client_id, kind="oidc")
        apps = [social_app(row) for row in rows]
        staff = staff_app()
        if (
            staff is not None
            and provider in (None, "openid_connect", STAFF_PROVIDER_ID)
            and client_id in (None, staff.client_id)
        ):
            apps.append(staff)
        return apps

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        """Every sign-in ends here: the account is the portal's choice, never the provider's."""
        app = sociallogin.provider.app
        if app.provider_id == STAFF_PROVIDER_ID:
            return self._staff_login(request, sociallogin)
        provider = sso_provider_get(app.provider_id)
        claimed = _claimed_value(sociallogin, provider)
        try:
            if provider is None:
                raise SignInRefused("This identity provider is no longer set up in the portal.")
            user = sso_account_for(provider=provider, value=claimed)
        except SignInRefused as refusal:
            sso_refusal_record(provider=provider, claimed=claimed, reason=str(refusal))
            raise ImmediateHttpResponse(refusal_response(request, str(refusal))) from refusal
        login(request, user, backend="accounts.backends.PortalBackend")
        request.session[SESSION_PROVIDER_KEY] = provider.slug
        if provider.kind == IdentityProvider.Kind.SAML and sociallogin.account.uid:
            request.session[SESSION_NAME_ID_KEY] = sociallogin.account.uid
        sso_sign_in_record(provider=provider, user=user)
        raise ImmediateHttpResponse(redirect(_next(request, sociallogin)))

    def _staff_login(self, request, sociallogin) -> None:
        """MSP staff through the provider's own identity provider; two-factor is its business."""
        claimed = _claimed_value(sociallogin, None)
        try:
            user = sso_staff_account_for(claimed)
        except SignInRefused as refusal:
            sso_refusal_record(provider=None, claimed=claimed, reason=str(refusal))
            raise ImmediateHttpResponse(refusal_response(request, str(refusal))) from refusal
        login(request, user, backend="accounts.backends.PortalBackend")
        request.session[SESSION_PROVIDER_KEY] = STAFF_PROVIDER_ID
        request.session[IDP_SESSION_KEY] = True
        sso_staff_sign_in_record(user=user)
        raise ImmediateHttpResponse(redirect(_next(request, sociallogin)))

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        """A refused answer (bad signature, issuer, audience, expiry, replay, cancel): one page."""
        slug = getattr(getattr(provider, "app", None), "provider_id", "")
        row = sso_provider_get(slug) if slug else None
        reason = _error_reason(error, exception, extra_context)
        sso_refusal_record(provider=row, claimed="", reason=reason)
        raise ImmediateHttpResponse(refusal_response(request, ANSWER_REFUSED))


def _next(request, sociallogin) -> str:
    target = sociallogin.state.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = resolve_url("home")
    return target


def _claimed_value(sociallogin, provider: IdentityProvider | None) -> str:
    """The e-mail or login the provider asserted, from the claim or attribute configured."""
    attribute = provider.login_attribute if provider else "email"
    data = sociallogin.account.extra_data or {}
    if "id_token" in data or "userinfo" in data:
        claims = {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}
        value = claims.get(attribute)
    else:  # SAML: attributes are lists of values
        value = data.get(attribute)
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
    return value if isinstance(value, str) else ""


def _error_reason(error, exception, extra_context) -> str:
    parts = [str(error or "error")]
    if exception is not None:
        parts.append(f"{type(exception).__name__}: {exception}"[:300])
        cause = exception.__cause__
        if cause is not None:
            parts.append(f"{type(cause).__name__}: {cause}"[:300])
    if extra_context and extra_context.get("saml_last_error_reason"):
        parts.append(str(extra_context["saml_last_error_reason"])[:300])
    return "The identity provider's answer was refused: " + "; ".join(parts)


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False
