"""Pages of the lowest layer (the home dashboard and the audit trail), and what every app's
removal pages share."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from .auth import permission_required
from .filters import AuditEventFilterSet
from .pagination import keyset_page
from .selectors import audit_event_list as audit_event_list_selector
from .selectors import msp_mode_get

# Higher layers register callables here (in AppConfig.ready) that name the landing page of a
# request's user (for example an end user's catalog), or None.
HOME_PROVIDERS: list = []

# Higher layers register callables here (in AppConfig.ready) that return the numbers the staff
# home opens with, as tiles the user may see: dicts with key, order, label, value, detail, when
# (a moment shown as "… ago"), url and tone ("danger", "warning" or "").
HOME_TILES: list = []


def home_landing(request: HttpRequest) -> str | None:
    """The page Home opens for the request's user (a customer's overview, an end user's catalog),
    or None when it is the dashboard below."""
    for provider in HOME_PROVIDERS:
        url = provider(request)
        if url:
            return url
    return None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    landing = home_landing(request)
    if landing:
        return redirect(landing)
    tiles = sorted((t for tile in HOME_TILES for t in tile(request)), key=lambda t: t["order"])
    return TemplateResponse(request, "home.html", {"mode": msp_mode_get(), "tiles": tiles})


@permission_required("msp_portal.view_auditevent")
def audit_event_list(request: HttpRequest) -> HttpResponse:
    events = AuditEventFilterSet(request.GET or None, audit_event_list_selector(user=request.user))
    page = keyset_page(events.qs, ordering=("-at", "-id"), cursor=request.GET.get("after"))
    query = request.GET.copy()
    query.pop("after", None)
    template = "audit/audit_event_list.html"
    if request.htmx:
        template += "#results"
    return TemplateResponse(
        request, template, {"form": events.form, "page": page, "query": query.urlencode()}
    )


def removal_confirmed(
    request: HttpRequest,
    remove: Callable[[], object],
    *,
    done: str,
    then: str,
    refused: str | None = None,
) -> HttpResponse:
    """The POST of a confirmation page: remove, say so (or why not) and go to then (or refused)."""
    try:
        remove()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(refused or then)
    messages.success(request, done)
    return redirect(then)
