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
# Two-factor sign-in (MSP staff)
# ---------------------------------------------------------------------------------------------


class TokenForm(PortalForm):
    token = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Pair an authenticator app: scan the QR code, confirm with a code, keep the recovery codes."""
    device = twofactor.totp_device_pending(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.two_factor_enrol(request=request, token=form.cleaned_data["token"])
        if codes is not None:
            return TemplateResponse(
                request, "accounts/two_factor_codes.html", {"codes": codes, "next": _next(request)}
            )
        form.add_error(
            "token",
            "That code is not right. Check the time on your phone and type the current code.",
        )
    qr = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return TemplateResponse(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "qr": qr, "secret": secret, "next": _next(request)},
    )


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in for MSP staff."""
    if not twofactor.has_device(request.user):
        return redirect(f"{reverse('two_factor_setup')}?next={_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.two_factor_verify(request=request, token=form.cleaned_data["token"]):
            return redirect(_next(request))
        form.add_error(
            "token",
            "That code is not right. Type the current code from your app, or a recovery code.",
        )
    return TemplateResponse(
        request, "accounts/two_factor_verify.html", {"form": form, "next": _next(request)}
    )
