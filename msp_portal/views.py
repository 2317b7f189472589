"""Pages of the lowest layer: the home dashboard and the audit trail."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from .auth import permission_required
from .pagination import keyset_page
from .params import DateRangeForm
from .selectors import audit_event_list as audit_event_list_selector
from .selectors import msp_mode_get

# Higher layers register callables here (in AppConfig.ready) that name the landing page of a
# request's user (for example an end user's catalog), or None.
HOME_PROVIDERS: list = []


@login_required
def home(request: HttpRequest) -> HttpResponse:
    for provider in HOME_PROVIDERS:
        url = provider(request)
        if url:
            return redirect(url)
    return TemplateResponse(request, "home.html", {"mode": msp_mode_get()})


def _input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control", **attrs})


class AuditFilterForm(DateRangeForm):
    """Filters of the audit trail, rendered as plain inputs: it sits on a page read often."""

    actor = forms.CharField(required=False, max_length=150, widget=_input())
    action = forms.CharField(
        required=False, max_length=64, widget=_input(placeholder="e.g. msp_mode")
    )
    object_query = forms.CharField(label="Object", required=False, max_length=200, widget=_input())

    field_order = ["actor", "action", "object_query", "date_from", "date_to"]


@permission_required("msp_portal.view_auditevent")
def audit_event_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    page = keyset_page(
        audit_event_list_selector(**filters),
        ordering=("-at", "-id"),
        cursor=request.GET.get("after"),
    )
    query = request.GET.copy()
    query.pop("after", None)
    template = "audit/audit_event_list.html"
    if request.htmx:
        template += "#results"
    return TemplateResponse(
        request, template, {"form": form, "page": page, "query": query.urlencode()}
    )
