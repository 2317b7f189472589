"""Fulfilment pages: a service's fulfilment settings, the Fulfilment page of pushes to watch,
and the request page's ticket panel with its "Check now"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from catalog.selectors import service_list
from customers.views import msp_mode_page
from entitlements.selectors import request_list, request_reader_or_403
from msp_portal.auth import permission_required
from msp_portal.errors import NotAllowed
from msp_portal.forms import form_add_error
from msp_portal.pagination import keyset_page
from msp_portal.tenancy import get_visible_or_404

from . import selectors, services
from .forms import FulfilmentSettingsForm, field_map_text
from .models import PushState

STATES = [("attention", "Needs attention"), ("", "All"), *PushState.choices]


@permission_required("catalog.change_service")
def settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_visible_or_404(request.user, service_list(user=request.user), pk=pk)
    current = services.fulfilment_settings_for(service)
    initial = {
        name: getattr(current, name)
        for name in FulfilmentSettingsForm.base_fields
        if name != "field_map"
    }
    initial["field_map"] = field_map_text(current.field_map)
    form = FulfilmentSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.fulfilment_settings_save(
                actor=request.user, service=service, **form.cleaned_data
            )
        except NotAllowed as error:
            raise PermissionDenied(str(error)) from error
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(
                request,
                f"{service.name} is now fulfilled as: {form.cleaned_data['mode'].replace('_', ' ')}. "
                "Requests approved from now on follow it.",
            )
            return redirect("fulfilment:settings_edit", pk=service.pk)
    questions = list(service.questions.order_by("position", "id").values_list("label", flat=True))
    return TemplateResponse(
        request,
        "fulfilment/settings_edit.html",
        {"service": service, "form": form, "questions": questions},
    )


@permission_required("catalog.change_service")
def push_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "attention")
    if state not in dict(STATES):
        state = "attention"
    page = keyset_page(
        selectors.push_list(user=request.user, state=state),
        ordering=("-updated_at", "-id"),
        cursor=request.GET.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    return TemplateResponse(
        request,
        "fulfilment/push_list.html",
        {"page": page, "state": state, "states": STATES, "query": query.urlencode()},
    )


@permission_required("catalog.change_service")
@require_POST
def push_retry(request: HttpRequest, pk: int) -> HttpResponse:
    push = get_visible_or_404(request.user, selectors.push_list(user=request.user), pk=pk)
    try:
        services.ticket_push_retry(actor=request.user, push=push)
    except NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"The {push.form_label} of request #{push.request_id} is being sent again; this page "
            "shows it as created once the service desk has it.",
        )
    return redirect("fulfilment:push_list")


@login_required
@msp_mode_page
@require_POST
def request_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    request_reader_or_403(user=request.user)
    service_request = get_visible_or_404(request.user, request_list(user=request.user), pk=pk)
    try:
        status = services.ticket_refresh(actor=request.user, request=service_request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Checked with the service desk: the request is {status.replace('_', ' ')}."
        )
    return redirect("portal:request_detail", pk=pk)


def request_panel(request: HttpRequest, service_request) -> dict | None:
    """The request page's ticket panel (entitlements' REQUEST_PANELS hook)."""
    push, notes = selectors.request_ticket(user=request.user, request=service_request)
    if push is None:
        return None
    return {"template": "fulfilment/request_ticket.html", "push": push, "notes": notes}
