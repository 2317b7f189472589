"""Pages of system administrators for external users and people groups."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from msp_portal.auth import permission_required
from msp_portal.forms import form_add_error
from msp_portal.pagination import keyset_page
from msp_portal.selectors import msp_mode_enabled
from msp_portal.tenancy import get_visible_or_404

from . import selectors, services
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
    group = get_visible_or_404(selectors.people_group_list(), pk=pk)
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
