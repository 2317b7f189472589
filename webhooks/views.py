"""Pages of webhooks (A2): the endpoints a person manages, one endpoint with its secret and
delivery log (Resend), adding, changing and removing endpoints."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from customers.scope import administered_customer
from msp_portal.forms import form_add_error
from msp_portal.pagination import keyset_page
from msp_portal.tenancy import get_visible_or_404

from . import selectors, services
from .forms import EndpointAddForm, EndpointChangeForm
from .models import WebhookDelivery, WebhookEndpoint
from .scope import may_manage_all

REVEAL_KEY = "webhooks.reveal"


def webhooks_role(view):
    """Catalog administrators and customer administrators manage webhooks; others get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may_manage_all(request.user) and administered_customer(request.user) is None:
            raise PermissionDenied(
                "Only catalog administrators and customer administrators manage webhooks."
            )
        return view(request, *args, **kwargs)

    return wrapper


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    return get_visible_or_404(request.user, selectors.endpoint_list(user=request.user), pk=pk)


@webhooks_role
def endpoint_list(request: HttpRequest) -> HttpResponse:
    page = keyset_page(
        selectors.endpoint_list(user=request.user),
        ordering=("-created_at", "-id"),
        cursor=request.GET.get("after"),
    )
    return TemplateResponse(
        request,
        "webhooks/endpoint_list.html",
        {"page": page, "query": "", "all_customers": may_manage_all(request.user)},
    )


@webhooks_role
def endpoint_add(request: HttpRequest) -> HttpResponse:
    choose = may_manage_all(request.user)
    form = EndpointAddForm(request.POST or None, user=request.user, choose_customer=choose)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        customer = data.pop("customer", None) if choose else administered_customer(request.user)
        try:
            endpoint = services.webhook_endpoint_add(actor=request.user, customer=customer, **data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            request.session[REVEAL_KEY] = endpoint.pk
            messages.success(
                request,
                "Endpoint added. Copy its signing secret into your receiver: it verifies every "
                "delivery with it.",
            )
            return redirect("webhooks:endpoint_detail", pk=endpoint.pk)
    return TemplateResponse(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": None, "customer": administered_customer(request.user)},
    )


@webhooks_role
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    revealed = request.session.get(REVEAL_KEY) == endpoint.pk
    if revealed:
        del request.session[REVEAL_KEY]
    page = keyset_page(
        selectors.delivery_list(user=request.user, endpoint=endpoint),
        ordering=("-created_at", "-id"),
        cursor=request.GET.get("after"),
        size=25,
    )
    return TemplateResponse(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "secret": endpoint.secret if revealed else None,
            "page": page,
            "query": "",
        },
    )


@webhooks_role
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "active": endpoint.active,
    }
    form = EndpointChangeForm(
        request.POST or None, initial=initial, customer_wide=endpoint.customer_id is None
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_change(
                actor=request.user, endpoint=endpoint, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:endpoint_detail", pk=endpoint.pk)
    return TemplateResponse(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": endpoint, "customer": endpoint.customer},
    )


@webhooks_role
@require_POST
def endpoint_remove(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.webhook_endpoint_remove(actor=request.user, endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} removed; nothing more is sent to it.")
    return redirect("webhooks:endpoint_list")


@webhooks_role
@require_POST
def endpoint_secret_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.webhook_secret_reveal(actor=request.user, endpoint=endpoint)
    request.session[REVEAL_KEY] = endpoint.pk
    return redirect("webhooks:endpoint_detail", pk=endpoint.pk)


@webhooks_role
@require_POST
def endpoint_secret_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    services.webhook_secret_rotate(actor=request.user, endpoint=endpoint)
    request.session[REVEAL_KEY] = endpoint.pk
    messages.success(
        request,
        "New signing secret made: every delivery from now on is signed with it. Put it in your "
        "receiver now; the old one no longer verifies.",
    )
    return redirect("webhooks:endpoint_detail", pk=endpoint.pk)


@webhooks_role
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_visible_or_404(
        request.user, WebhookDelivery.objects.select_related("endpoint"), pk=pk
    )
    try:
        services.webhook_delivery_resend(actor=request.user, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Delivery {delivery.msg_id} queued to be sent again with the same id."
        )
    return redirect("webhooks:endpoint_detail", pk=delivery.endpoint_id)
