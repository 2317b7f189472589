"""Pages of catalog administrators: services (list, search, create, edit) and categories."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from msp_portal.auth import permission_required
from msp_portal.forms import form_add_error
from msp_portal.pagination import keyset_page
from msp_portal.tenancy import get_visible_or_404

from . import selectors, services
from .forms import CategoryForm, ServiceFilterForm, ServiceForm
from .models import Service

TRANSITIONS = {
    "publish": (
        services.service_publish,
        "“{name}” is published: it can now be assigned to customers.",
    ),
    "retire": (
        services.service_retire,
        "“{name}” is retired: it can no longer be assigned, and end users no longer see it. "
        "Publish it again to bring it back.",
    ),
}


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@permission_required("catalog.view_service")
def service_list(request: HttpRequest) -> HttpResponse:
    form = ServiceFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if form.is_bound else {}
    page = keyset_page(
        selectors.service_list(user=request.user, **filters),
        ordering=("name", "id"),
        cursor=request.GET.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    template = "catalog/service_list.html"
    if _wants_partial(request):
        template += "#results"
    response = TemplateResponse(
        request,
        template,
        {"form": form, "page": page, "query": query.urlencode(), "filtered": bool(filters)},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@permission_required("catalog.add_service")
def service_create(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            service = services.service_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(
                request,
                f"“{service.name}” created as a draft. Publish it when it is ready to be "
                "assigned to customers.",
            )
            return redirect("catalog:service_edit", pk=service.pk)
    return TemplateResponse(
        request,
        "catalog/service_create.html",
        {"form": form, "has_categories": form.fields["category"].queryset.exists()},
    )


def _service_initial(service: Service) -> dict:
    return {
        "name": service.name,
        "category": service.category_id,
        "description": service.description,
        "price": service.price,
        "min_quantity": service.min_quantity,
        "max_quantity": service.max_quantity,
    }


@permission_required("catalog.change_service")
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_visible_or_404(request.user, selectors.service_list(user=request.user), pk=pk)
    transition = request.POST.get("transition") if request.method == "POST" else None
    if transition is not None:
        if transition not in TRANSITIONS:
            return HttpResponseBadRequest("Unknown change of status.")
        action, done = TRANSITIONS[transition]
        try:
            action(actor=request.user, service=service)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done.format(name=service.name))
        return redirect("catalog:service_edit", pk=service.pk)
    form = ServiceForm(request.POST or None, initial=_service_initial(service), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_update(actor=request.user, service=service, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"“{form.cleaned_data['name'].strip()}” saved.")
            return redirect("catalog:service_list")
    return TemplateResponse(
        request,
        "catalog/service_edit.html",
        {"form": form, "service": service, "history": selectors.service_history(service=service)},
    )


@permission_required("catalog.view_category")
def category_list(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("catalog.add_category"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                category = services.category_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form_add_error(form, error)
            else:
                messages.success(
                    request,
                    f"Category “{category.name}” created. File services under it when you "
                    "create or edit them.",
                )
                return redirect("catalog:category_list")
    page = keyset_page(
        selectors.category_list_with_counts(user=request.user),
        ordering=("name", "id"),
        cursor=request.GET.get("after"),
    )
    return TemplateResponse(request, "catalog/category_list.html", {"form": form, "page": page})


@permission_required("catalog.change_category")
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_visible_or_404(request.user, selectors.category_list(user=request.user), pk=pk)
    initial = {"name": category.name, "description": category.description}
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.category_update(actor=request.user, category=category, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Category “{form.cleaned_data['name'].strip()}” saved.")
            return redirect("catalog:category_list")
    return TemplateResponse(
        request, "catalog/category_edit.html", {"form": form, "category": category}
    )
