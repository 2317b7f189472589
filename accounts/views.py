"""Pages of system administrators for external users and people groups."""

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from msp_portal.auth import permission_required
from msp_portal.forms import PortalForm, form_add_error
from msp_portal.pagination import keyset_page
from msp_portal.selectors import msp_mode_enabled
from msp_portal.tenancy import CHANGE, get_visible_or_404

from . import selectors, services, twofactor
from .forms import ExternalUserForm, PeopleGroupForm


@permission_required("accounts.add_external_user")
def external_user_list(request: HttpRequest) -> HttpResponse:
    form = ExternalUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.external_user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"External user {user.username} created.")
            return redirect("accounts:external_user_list")
    page = keyset_page(
        selectors.external_user_list(),
        ordering=("-date_joined", "-id"),
        cursor=request.GET.get("after"),
    )
    return TemplateResponse(
        request,
        "accounts/external_user_list.html",
        {"form": form, "page": page, "closed": msp_mode_enabled()},
    )


@permission_required("accounts.view_peoplegroup")
def people_group_list(request: HttpRequest) -> HttpResponse:
    form = PeopleGroupForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("accounts.add_peoplegroup"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                group = services.people_group_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form_add_error(form, error)
            else:
                messages.success(request, f"People group {group.name} created.")
                return redirect("accounts:people_group_list")
    page = keyset_page(
        selectors.people_group_list(), ordering=("name", "id"), cursor=request.GET.get("after")
    )
    return TemplateResponse(
        request,
        "accounts/people_group_list.html",
        {"form": form, "page": page, "closed": msp_mode_enabled()},
    )


@permission_required("accounts.change_peoplegroup")
def people_group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_visible_or_404(request.user, selectors.people_group_list(), pk=pk, action=CHANGE)
    initial = {
        "name": group.name,
        "description": group.description,
        "open_to_collaborators": group.open_to_collaborators,
    }
    form = PeopleGroupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.people_group_update(actor=request.user, group=group, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"People group {form.cleaned_data['name']} saved.")
            return redirect("accounts:people_group_list")
    return TemplateResponse(
        request,
        "accounts/people_group_edit.html",
        {"form": form, "group": group, "closed": msp_mode_enabled()},
    )


# ---------------------------------------------------------------------------------------------
# Two-factor sign-in (MSP staff; optional for everyone else). A password alone never changes a
# factor: see accounts.twofactor.
# ---------------------------------------------------------------------------------------------

WRONG_CODE = "That code is not right. Check the time on your phone and type the current code."
WRONG_IDENTITY = (
    "The password or the code is not right. Type your password, and the current code from your "
    "app (wait for the next one if you have just used this one) or one of your recovery codes."
)


def _code_field(label: str, help_text: str, *, inputmode: str = "text", autofocus: bool = True):
    """A one-time code: an app's six digits or, where inputmode is text, a recovery code."""
    attrs = {"autocomplete": "one-time-code", "inputmode": inputmode}
    if autofocus:
        attrs["autofocus"] = True
    return forms.CharField(
        label=label, max_length=32, widget=forms.TextInput(attrs=attrs), help_text=help_text
    )


class TokenForm(PortalForm):
    token = _code_field(
        "Code", "The 6-digit code from your authenticator app, or one of your recovery codes."
    )


class NewDeviceTokenForm(PortalForm):
    token = _code_field(
        "Code from the new app",
        "The 6-digit code the newly paired app shows now.",
        inputmode="numeric",
    )


class IdentityForm(PortalForm):
    """The password and a current code again, before a factor changes."""

    password = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    token = _code_field(
        "Current code",
        "From the authenticator app you use now, or one of your recovery codes.",
        autofocus=False,
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _pairing(device) -> dict:
    """The QR code and the typed key of an authenticator to pair."""
    return {
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
    }


def _verified_owner_only(request: HttpRequest) -> HttpResponse | None:
    """Send away anyone who may not change a factor here: without one, or not verified."""
    if not twofactor.has_device(request.user):
        return redirect(f"{reverse('two_factor_setup')}?next={reverse('two_factor_manage')}")
    if not twofactor.session_verified(request):
        return redirect(f"{reverse('two_factor_verify')}?next={request.path}")
    return None


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Pair a first authenticator app: scan the QR code, confirm with a code, keep the recovery
    codes. Whoever has one already is sent to verify it, or to replace it from a verified session."""
    if twofactor.has_device(request.user):
        if twofactor.session_verified(request):
            messages.info(
                request,
                "Your authenticator app is paired already. To move to a new phone, replace it here.",
            )
            return redirect("two_factor_manage")
        return redirect(f"{reverse('two_factor_verify')}?next={_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = twofactor.two_factor_enrol(request=request, token=form.cleaned_data["token"])
        except twofactor.TwoFactorRefused:  # paired in another tab meanwhile
            return redirect(f"{reverse('two_factor_verify')}?next={_next(request)}")
        if codes is not None:
            return TemplateResponse(
                request,
                "accounts/two_factor_codes.html",
                {"codes": codes, "next": _next(request), "heading": "Two-factor sign-in is on"},
            )
        form.add_error("token", WRONG_CODE)
    device = twofactor.totp_device_pending(request.user)
    return TemplateResponse(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "next": _next(request), **_pairing(device)},
    )


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in for MSP staff."""
    if not twofactor.has_device(request.user):
        return redirect(f"{reverse('two_factor_setup')}?next={_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.two_factor_verify(request=request, token=form.cleaned_data["token"])
        if device is not None:
            if twofactor.is_recovery_code(device):
                left = twofactor.recovery_codes_left(request.user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code: {left} left. Lost your phone? Replace "
                    "your authenticator under Two-factor sign-in in the menu.",
                )
            return redirect(_next(request))
        form.add_error(
            "token",
            "That code is not right. Type the current code from your app, or a recovery code.",
        )
    return TemplateResponse(
        request, "accounts/two_factor_verify.html", {"form": form, "next": _next(request)}
    )


@login_required
def two_factor_manage(request: HttpRequest) -> HttpResponse:
    """Your two-factor sign-in: the paired app, recovery codes left, and changing either."""
    device = twofactor.authenticator(request.user)
    if device is not None and not twofactor.session_verified(request):
        return redirect(f"{reverse('two_factor_verify')}?next={request.path}")
    return TemplateResponse(
        request,
        "accounts/two_factor_manage.html",
        {
            "device": device,
            "codes_left": twofactor.recovery_codes_left(request.user) if device else 0,
        },
    )


@login_required
def two_factor_replace(request: HttpRequest) -> HttpResponse:
    """Move to a new authenticator: the password and a current code, then pair the new app.

    Steps are posted as `step`: confirm_identity, pair, cancel. The old app keeps working until
    the new one is confirmed.
    """
    if (refused := _verified_owner_only(request)) is not None:
        return refused
    step = request.POST.get("step") if request.method == "POST" else None
    identity = IdentityForm(request.POST if step == "confirm_identity" else None)
    pair = NewDeviceTokenForm(request.POST if step == "pair" else None)
    if step == "cancel":
        twofactor.two_factor_replace_cancel(request=request)
        messages.info(request, "Nothing changed: your authenticator app is the one you had.")
        return redirect("two_factor_manage")
    if step == "confirm_identity" and identity.is_valid():
        if twofactor.two_factor_replace_begin(request=request, **identity.cleaned_data):
            return redirect("two_factor_replace")
        identity.add_error(None, WRONG_IDENTITY)
    pending = twofactor.two_factor_replace_pending(request)
    notice = ""
    if step == "pair" and pending is None:
        notice = (
            "Confirm it is you again: more than ten minutes passed since you did, or the "
            "pairing was cancelled."
        )
    elif step == "pair" and pair.is_valid():
        codes = twofactor.two_factor_replace(request=request, token=pair.cleaned_data["token"])
        if codes is not None:
            return TemplateResponse(
                request,
                "accounts/two_factor_codes.html",
                {
                    "codes": codes,
                    "next": reverse("two_factor_manage"),
                    "heading": "Your new authenticator app is paired",
                },
            )
        pair.add_error("token", WRONG_CODE)
    if pending is None:
        return TemplateResponse(
            request,
            "accounts/two_factor_identity.html",
            {
                "form": identity,
                "step": "confirm_identity",
                "title": "Replace your authenticator app",
                "lead": "Before a new app can be paired, confirm it is you: your password, and a "
                "current code from the app you have now (or one of your recovery codes). The "
                "app you have keeps working until the new one is confirmed.",
                "action": "Continue",
                "notice": notice,
            },
        )
    return TemplateResponse(
        request, "accounts/two_factor_replace.html", {"form": pair, **_pairing(pending)}
    )


@login_required
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Ten new recovery codes, after the password and a current code; the old ones stop."""
    if (refused := _verified_owner_only(request)) is not None:
        return refused
    form = IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.recovery_codes_renew(request=request, **form.cleaned_data)
        if codes is not None:
            return TemplateResponse(
                request,
                "accounts/two_factor_codes.html",
                {
                    "codes": codes,
                    "next": reverse("two_factor_manage"),
                    "heading": "Your new recovery codes",
                },
            )
        form.add_error(None, WRONG_IDENTITY)
    return TemplateResponse(
        request,
        "accounts/two_factor_identity.html",
        {
            "form": form,
            "title": "New recovery codes",
            "lead": "Confirm it is you: your password, and a current code from your app (or one "
            "of your recovery codes). Ten new codes replace all the old ones.",
            "action": "Make new codes",
        },
    )
