"""The sign-in page (home-realm discovery, I1) and each customer's Sign-in card."""

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.socialaccount.providers.saml import views as allauth_saml_views
from allauth.socialaccount.providers.saml.utils import build_auth
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from customers import selectors as customer_selectors
from customers.models import Customer
from customers.views import msp_mode_page
from msp_portal.auth import permission_required
from msp_portal.forms import form_add_error
from msp_portal.tenancy import CHANGE, get_visible_or_404

from .adapter import ANSWER_REFUSED, SESSION_NAME_ID_KEY, SESSION_PROVIDER_KEY, refusal_response
from .forms import IdentifyForm, PortalAuthenticationForm, SsoConfigureForm
from .models import IdentityProvider
from .services import (
    STAFF_PROVIDER_ID,
    customer_sso_configure,
    sso_provider_for_login,
    sso_provider_get,
    sso_refusal_record,
    staff_domain,
)

password_sign_in = auth_views.LoginView.as_view(
    authentication_form=PortalAuthenticationForm,
    redirect_authenticated_user=True,
    extra_context={"step": "password"},
)


def sign_in(request: HttpRequest) -> HttpResponse:
    """E-mail (or login) first: a customer's domain goes to its provider, anyone else on to the
    password; an unknown domain is answered as any other, so it reveals no customer."""
    if request.method != "POST" or "password" in request.POST:
        if request.method != "POST" and not request.user.is_authenticated:
            return password_sign_in_first_step(request)
        return password_sign_in(request)
    form = IdentifyForm(request.POST)
    if form.is_valid():
        provider = sso_provider_for_login(form.cleaned_data["username"])
        slug = provider.slug if provider is not None else None
        if slug is None and staff_domain(form.cleaned_data["username"]):
            slug = STAFF_PROVIDER_ID
        if slug is not None:
            social = get_adapter().get_provider(request, slug)
            response = social.redirect(request, "login", next_url=_safe_next(request) or None)
            if response.status_code != 302:
                return response
            # The page's CSP allows forms to post only to the portal (form-action 'self'), and
            # browsers hold a form's redirects to it too: the provider is reached from a page.
            return TemplateResponse(
                request, "sso/going.html", {"target": response["Location"], "provider": provider}
            )
        return TemplateResponse(
            request,
            "registration/login.html",
            {
                "form": PortalAuthenticationForm(
                    request, initial={"username": form.cleaned_data["username"]}
                ),
                "step": "password",
                "next": _safe_next(request),
            },
        )
    return TemplateResponse(
        request,
        "registration/login.html",
        {"form": form, "step": "identify", "next": _safe_next(request)},
    )


def password_sign_in_first_step(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(
        request,
        "registration/login.html",
        {"form": IdentifyForm(), "step": "identify", "next": _safe_next(request)},
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _customer(request: HttpRequest, pk: int, action: str = "view") -> Customer:
    return get_visible_or_404(
        request.user, customer_selectors.customer_list(user=request.user), action, pk=pk
    )


def it_values(request: HttpRequest, provider: IdentityProvider | None) -> dict:
    """What the customer's IT enters at its identity provider to trust the portal."""
    if provider is None:
        return {}
    if provider.kind == IdentityProvider.Kind.OIDC:
        return {
            "redirect_uri": request.build_absolute_uri(
                reverse("openid_connect_callback", kwargs={"provider_id": provider.slug})
            ),
        }
    metadata = request.build_absolute_uri(reverse("saml_metadata", args=[provider.slug]))
    return {
        "acs_url": request.build_absolute_uri(reverse("saml_acs", args=[provider.slug])),
        "sp_entity_id": metadata,
        "sp_metadata_url": metadata,
        "sls_url": request.build_absolute_uri(reverse("saml_sls", args=[provider.slug])),
    }


@permission_required("customers.view_customer")
@msp_mode_page
def customer_signin_card(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    provider = (
        IdentityProvider.objects.filter(customer=customer).prefetch_related("domains").first()
    )
    return TemplateResponse(
        request,
        "sso/customer_signin_card.html",
        {"customer": customer, "provider": provider, "values": it_values(request, provider)},
    )


@permission_required("customers.change_customer")
@msp_mode_page
def customer_signin(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk, CHANGE)
    provider = IdentityProvider.objects.filter(customer=customer).first()
    form = SsoConfigureForm(request.POST or None, initial=SsoConfigureForm.initial_for(provider))
    if request.method == "POST" and form.is_valid():
        try:
            provider = customer_sso_configure(
                actor=request.user, customer=customer, config=form.settings()
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Sign-in settings of {customer} saved.")
            return redirect("sso:customer_signin", pk=customer.pk)
    return TemplateResponse(
        request,
        "sso/customer_signin.html",
        {
            "customer": customer,
            "provider": provider,
            "form": form,
            "values": it_values(request, provider),
        },
    )


def refused(request: HttpRequest) -> HttpResponse:
    """Where allauth sends a cancelled or failed sign-in (the adapter answers most itself)."""
    return TemplateResponse(
        request,
        "sso/refused.html",
        {"message": "You are not signed in: the sign-in at your identity provider did not finish."},
        status=403,
    )


def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign-out ends the portal session; after a SAML sign-in whose IdP offers single logout,
    the browser goes on to the IdP, which answers back to the portal's single-logout URL."""
    if request.method != "POST":
        return auth_views.LogoutView.as_view()(request)
    provider = sso_provider_get(request.session.get(SESSION_PROVIDER_KEY) or "")
    name_id = request.session.get(SESSION_NAME_ID_KEY)
    if not (
        provider is not None
        and provider.enabled
        and provider.kind == IdentityProvider.Kind.SAML
        and provider.saml_idp.get("slo_url")
        and name_id
    ):
        return auth_views.LogoutView.as_view()(request)
    social = get_adapter().get_provider(request, provider.slug)
    target = build_auth(request, social).logout(
        return_to=request.build_absolute_uri(reverse("login")), name_id=name_id
    )
    logout(request)
    return redirect(target)


def saml_sls(request: HttpRequest, organization_slug: str) -> HttpResponse:
    """allauth's single-logout endpoint, which reads the Host header: a request without one
    (HTTP/1.0) is refused plainly instead of failing."""
    if "HTTP_HOST" not in request.META:
        return HttpResponseBadRequest("A Host header is required.", content_type="text/plain")
    return allauth_saml_views.sls(request, organization_slug=organization_slug)


class PortalOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect client, checking every ID token's signature and expiry.

    allauth skips the signature of an ID token fetched from the token endpoint, which OpenID
    Connect allows because TLS vouches for it; a provider on plain http (loopback) has no TLS,
    and a tampered or unsigned token is refused whatever the transport.
    """

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        data = jwtkit.verify_and_decode(
            credential=id_token,
            keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"],
            audience=app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk,
            verify_signature=True,
        )
        if not isinstance(data.get("exp"), int | float):
            raise OAuth2Error("The ID token carries no expiry (exp).")
        return data


def oidc_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = OAuth2CallbackView.adapter_view(PortalOpenIDConnectAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist as missing:
        raise Http404 from missing


def saml_finish_acs(request: HttpRequest, organization_slug: str) -> HttpResponse:
    """allauth's ACS finish; a response answering no sign-in started in this browser (replayed,
    or sent unasked) gets the refusal page and an audit event instead of a bare 403."""
    try:
        return allauth_saml_views.finish_acs(request, organization_slug=organization_slug)
    except PermissionDenied:
        sso_refusal_record(
            provider=sso_provider_get(organization_slug),
            claimed="",
            reason="The identity provider's answer was refused: it answers no sign-in started "
            "in this browser (replayed, or sent without being asked).",
        )
        return refusal_response(request, ANSWER_REFUSED)
