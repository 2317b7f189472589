"""Pages of end users (catalog, service detail, their requests) and of request handling.

End users see only what access resolution (E2) gives them; administrators see the requests of
the customer they administer, catalog administrators every customer's (T1, T2).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from catalog.models import QuestionKind, Service
from catalog.questions import answer_field, answers_from_post, questions_asked
from catalog.selectors import question_list, service_list
from customers.models import Customer, CustomerService
from customers.scope import customer_accounts, end_user_customer, is_msp_staff, managed_customer
from customers.selectors import customer_admin_list, customer_list
from customers.views import msp_mode_page
from msp_portal.errors import run_and_say
from msp_portal.exports import csv_response
from msp_portal.forms import form_errors_text
from msp_portal.pagination import KeysetPage, keyset_page
from msp_portal.params import id_param, search_param, value_param
from msp_portal.tenancy import get_visible_or_404, visible_to

from . import selectors, services
from .access import (
    CatalogEntry,
    catalog_entries,
    catalog_page_services,
    visible_service,
)
from .filters import OPEN_STATUSES, RequestFilterSet
from .forms_portal import RequestForm, TransitionForm
from .models import RequestAnswer, RequestStatus, ServiceRequest

CATALOG_PAGE_SIZE = 24
REQUEST_ORDERING = ("-submitted_at", "-id")


def end_user_required(view):
    """End users of a customer only; anyone else signed in gets 403 (after login and MSP mode)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        customer = end_user_customer(request.user)
        if customer is None:
            raise PermissionDenied("This page is for end users of a customer.")
        request.end_user_customer = customer
        return view(request, *args, **kwargs)

    return wrapper


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


# ---------------------------------------------------------------------------------------------
# End users: the catalog of their entitled services, a service, a request, their requests.
# ---------------------------------------------------------------------------------------------


@dataclass
class CategoryChip:
    pk: int
    name: str
    count: int


def _matches(entry: CatalogEntry, words: list[str]) -> bool:
    text = f"{entry.name} {entry.description} {entry.category}".casefold()
    return all(word in text for word in words)


@login_required
@msp_mode_page
@end_user_required
def catalog(request: HttpRequest) -> HttpResponse:
    entries = catalog_entries(user=request.user)
    chips: dict[int, CategoryChip] = {}
    for entry in entries:
        chip = chips.setdefault(
            entry.category_id, CategoryChip(entry.category_id, entry.category, 0)
        )
        chip.count += 1
    query = search_param(request.GET, "q")
    category_id = id_param(request.GET, "category")
    if category_id not in chips:
        category_id = None
    words = query.casefold().split()
    shown = [
        e
        for e in entries
        if (category_id is None or e.category_id == category_id) and _matches(e, words)
    ]
    # Access is resolved in memory, so a page is a slice: deep pages cost the same as the first.
    start = min(id_param(request.GET, "after") or 0, len(shown))
    end = start + CATALOG_PAGE_SIZE
    page = KeysetPage(
        rows=catalog_page_services(entries=shown[start:end]),
        next_cursor=str(end) if end < len(shown) else None,
        is_first=start == 0,
    )
    params = request.GET.copy()
    params.pop("after", None)
    administrators = []
    if not entries:
        administrators = [a.user for a in customer_admin_list(customer=request.end_user_customer)]
    template = "entitlements/portal/catalog.html"
    if _wants_partial(request):
        template += "#results"
    response = TemplateResponse(
        request,
        template,
        {
            "page": page,
            "total": len(entries),
            "matching": len(shown),
            "chips": sorted(chips.values(), key=lambda c: c.name.casefold()),
            "q": query,
            "category_id": category_id,
            "query": params.urlencode(),
            "filtered": bool(query or category_id),
            "administrators": administrators,
            "customer": request.end_user_customer,
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _visible_or_404(request: HttpRequest, pk: int):
    entry = visible_service(user=request.user, service_id=pk)
    if entry is None:
        raise Http404("No such service among yours.")
    return entry


def _colleagues(request: HttpRequest):
    """The people a request may be for or name: the requester's own customer's active people,
    never the requester (customers.scope decides who they are)."""
    return customer_accounts(request.end_user_customer).exclude(pk=request.user.pk)


def _named_colleagues(request: HttpRequest, questions, answers: dict) -> dict[int, str]:
    """The colleagues chosen in colleague answers, by id, to draw them again (a query only when
    a colleague question was answered)."""
    ids = set()
    for question in questions:
        raw = answers.get(answer_field(question.pk))
        if question.kind == QuestionKind.COLLEAGUE and isinstance(raw, str) and raw.isdigit():
            ids.add(int(raw[:11]))
    if not ids:
        return {}
    return {
        u.pk: f"{u.display_name} ({u.username})"
        for u in customer_accounts(request.end_user_customer).filter(pk__in=ids)
    }


def _asked(request: HttpRequest, form: RequestForm) -> list:
    answers = answers_from_post(form.data, form.questions) if form.is_bound else {}
    return questions_asked(
        form.questions,
        answers,
        errors=form.answer_errors,
        colleagues=_named_colleagues(request, form.questions, answers),
    )


def _service_page(request: HttpRequest, entry, form: RequestForm) -> TemplateResponse:
    # The total follows the quantity as it is typed, computed by the server (no inline script).
    form.fields["quantity"].widget.attrs.update(
        {
            "hx-get": reverse("portal:service_detail", args=[entry.service.pk]),
            "hx-trigger": "input changed delay:200ms",
            "hx-target": "#request-total",
            "hx-swap": "outerHTML",
        }
    )
    return TemplateResponse(
        request,
        "entitlements/portal/service_detail.html",
        {
            "service": entry.service,
            "grants": entry.grants,
            "marketplaces": sorted({g.marketplace for g in entry.grants}),
            "form": form,
            "total": form.total(),
            "credits_on": request.end_user_customer.credit_management,
            "asked": _asked(request, form),
            "refresh_url": reverse("portal:request_questions", args=[entry.service.pk]),
            "colleague_url": reverse("portal:colleague_options"),
            "beneficiary": getattr(form, "cleaned_data", {}).get("beneficiary"),
        },
    )


@login_required
@msp_mode_page
@end_user_required
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _visible_or_404(request, pk)
    if _wants_partial(request) and "quantity" in request.GET:
        form = RequestForm(request.GET, service=entry.service)
        problems = form.errors.get("quantity")
        return TemplateResponse(
            request,
            "entitlements/portal/service_detail.html#total",
            {
                "service": entry.service,
                "total": None if problems else form.total(),
                "quantity_problem": problems[0] if problems else "",
                "live": True,
                "credits_on": request.end_user_customer.credit_management,
            },
        )
    return _service_page(
        request,
        entry,
        RequestForm(service=entry.service, questions=question_list(service=entry.service)),
    )


@login_required
@msp_mode_page
@end_user_required
def request_questions(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: a service's questions drawn again for the answers so far (conditions shown or
    hidden); without scripts the form shows every question with its condition in words."""
    entry = _visible_or_404(request, pk)
    questions = question_list(service=entry.service)
    answers = answers_from_post(request.GET, questions)
    return TemplateResponse(
        request,
        "catalog/question_fields.html",
        {
            "asked": questions_asked(
                questions, answers, colleagues=_named_colleagues(request, questions, answers)
            ),
            "refresh_url": reverse("portal:request_questions", args=[pk]),
            "colleague_url": reverse("portal:colleague_options"),
        },
    )


PICKER_LIMIT = 20


@login_required
@msp_mode_page
@end_user_required
def colleague_options(request: HttpRequest) -> HttpResponse:
    """htmx: the requester's colleagues (their own customer's active people) matching a search,
    as radio choices named for the field that asked (the request's beneficiary or a colleague
    question); the one already chosen stays first."""
    name = value_param(request.GET, "name")
    if name != "beneficiary" and not (
        name.startswith("q_") and name[2:].isdigit() and len(name) < 14
    ):
        name = "beneficiary"
    people = _colleagues(request)
    chosen = id_param(request.GET, name)
    chosen_person = people.filter(pk=chosen).first() if chosen else None
    found = people
    for word in search_param(request.GET, "colleague_q").split()[:4]:
        found = found.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(email__icontains=word)
        )
    if chosen_person is not None:
        found = found.exclude(pk=chosen_person.pk)
    return TemplateResponse(
        request,
        "entitlements/portal/colleague_options.html",
        {
            "name": name,
            "chosen": chosen_person,
            "people": found.order_by("last_name", "first_name", "id")[:PICKER_LIMIT],
            "searched": bool(search_param(request.GET, "colleague_q")),
        },
    )


@login_required
@msp_mode_page
@end_user_required
@require_POST
def request_create(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _visible_or_404(request, pk)
    # The questions are read by request_submit; the form needs them only to be drawn again.
    form = RequestForm(request.POST, service=entry.service, colleagues=_colleagues(request))
    if form.is_valid():
        try:
            service_request = services.request_submit(
                actor=request.user, service=entry.service, access=entry, **form.cleaned_data
            )
        except services.RequestAlreadySubmitted as replay:
            messages.info(request, str(replay))
            return redirect("portal:request_detail", pk=replay.request.pk)
        except ValidationError as error:
            form.add_submit_error(error)
        else:
            messages.success(
                request,
                f"Request #{service_request.pk} for {service_request.quantity} × "
                f"{entry.service.name}"
                + (
                    f" for {service_request.beneficiary.display_name}"
                    if service_request.is_for_colleague
                    else ""
                )
                + " is submitted: "
                + (
                    "it waits for approval; "
                    if service_request.status == RequestStatus.AWAITING_APPROVAL
                    else "it is approved and goes to the service desk; "
                )
                + "you can cancel it here until work on it starts.",
            )
            return redirect("portal:my_requests")
    form.questions = question_list(service=entry.service)
    return _service_page(request, entry, form)


def _request_page(rows: QuerySet[ServiceRequest], cursor: str | None) -> KeysetPage:
    """One page of requests, newest first; a tampered cursor starts again from the first page."""
    return keyset_page(rows, ordering=REQUEST_ORDERING, cursor=cursor)


@login_required
@msp_mode_page
def my_requests(request: HttpRequest) -> HttpResponse:
    rows = selectors.request_list_for_requester(user=request.user)
    # Requests outlive access (a service unassigned, a customer left): their author still sees them.
    if end_user_customer(request.user) is None and not rows.exists():
        raise PermissionDenied("This page is for end users of a customer.")
    state = request.GET.get("state", "")
    if state == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif state == "closed":
        rows = rows.exclude(status__in=OPEN_STATUSES)
    else:
        state = ""
    page = _request_page(rows, request.GET.get("after"))
    params = request.GET.copy()
    params.pop("after", None)
    return TemplateResponse(
        request,
        "entitlements/portal/my_requests.html",
        {"page": page, "state": state, "query": params.urlencode()},
    )


@login_required
@msp_mode_page
@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.request_reader_or_403(user=request.user)
    service_request = get_visible_or_404(
        request.user, selectors.request_list(user=request.user), pk=pk
    )
    if service_request.requester_id != request.user.pk:
        raise PermissionDenied(
            "Only the requester cancels a request here; handlers decide on the request's page."
        )
    run_and_say(
        request,
        lambda: services.request_transition(
            actor=request.user, request=service_request, status=RequestStatus.CANCELLED
        ),
        done=f"Request #{pk} for {service_request.service.name} is cancelled. Request it again "
        "from the catalog if you still need it.",
    )
    if request.POST.get("next") == "detail":
        return redirect("portal:request_detail", pk=pk)
    return redirect("portal:my_requests")


# ---------------------------------------------------------------------------------------------
# Request handling: customer administrators (their customer), catalog administrators (all).
# ---------------------------------------------------------------------------------------------


@dataclass
class HandlerScope:
    """The requests a user handles: customer None means every customer (catalog administrators)."""

    requests: QuerySet[ServiceRequest]
    customer: Customer | None


def _handler_scope(request: HttpRequest) -> HandlerScope | None:
    if is_msp_staff(request.user):
        return HandlerScope(selectors.request_list(user=request.user), None)
    customer = managed_customer(request)
    if customer is None:
        return None
    return HandlerScope(selectors.request_list(user=request.user, customer=customer), customer)


def _handler_scope_or_403(request: HttpRequest) -> HandlerScope:
    scope = _handler_scope(request)
    if scope is None:
        raise PermissionDenied(
            "Only customer administrators and catalog administrators handle requests."
        )
    return scope


def _request_filters(request: HttpRequest, scope: HandlerScope) -> RequestFilterSet:
    """The request list's filters over the handler's scoped requests, with choices of their own
    scope: every service and customer for catalog administrators, the customer's assigned
    services for its administrators."""
    if scope.customer is None:
        data = request.GET.copy()
        acting_as = getattr(request, "acting_as", None)
        # Acting as a customer (T2) starts from that customer's requests; "Every customer" is one
        # choice away.
        if acting_as is not None and "customer" not in data:
            data["customer"] = str(acting_as.customer_id)
        return RequestFilterSet(
            data or None,
            scope.requests,
            services=service_list(user=request.user),
            customers=customer_list(user=request.user).order_by("company__name", "id"),
        )
    assigned = visible_to(request.user, CustomerService).filter(customer=scope.customer)
    return RequestFilterSet(
        request.GET or None,
        scope.requests,
        services=Service.objects.filter(pk__in=assigned.values("service_id")).order_by(
            "name", "id"
        ),
    )


@login_required
@msp_mode_page
def request_list(request: HttpRequest) -> HttpResponse:
    scope = _handler_scope_or_403(request)
    filters = _request_filters(request, scope)
    form = filters.form
    page = _request_page(filters.qs, request.GET.get("after"))
    params = request.GET.copy()
    params.pop("after", None)
    export_params = form.data.copy() if form.is_bound else {}
    if export_params:
        export_params.pop("after", None)
    template = "entitlements/portal/request_list.html"
    if _wants_partial(request):
        template += "#results"
    response = TemplateResponse(
        request,
        template,
        {
            "form": form,
            "page": page,
            "query": params.urlencode(),
            "export_query": export_params.urlencode() if export_params else "",
            "filtered": bool(filters.applied),
            "staff": scope.customer is None,
            "customer": scope.customer,
        },
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


EXPORT_HEADER = [
    "Request",
    "Submitted",
    "Customer",
    "Requester",
    "Login",
    "Requested for",
    "Service",
    "Quantity",
    "Unit price",
    "Total",
    "Status",
    "Status note",
    "Justification",
    "Answers",
    "Last change",
]


def _answers_text(answers) -> str:
    """A request's answers in one cell, one "label: answer" per line, in the order asked."""
    return "\n".join(f"{a.label}: {a.display}" for a in answers)


def _export_rows(rows: QuerySet[ServiceRequest]) -> Iterator[tuple]:
    # Answers come with each chunk of requests (one more query per 1,000 rows, not per row).
    rows = rows.prefetch_related(
        Prefetch("answers", queryset=RequestAnswer.objects.order_by("position", "id"))
    )
    for r in rows.iterator(chunk_size=1000):
        yield (
            r.pk,
            timezone.localtime(r.submitted_at).strftime("%Y-%m-%d %H:%M"),
            r.customer.company.name,
            r.requester.display_name,
            r.requester.username,
            r.beneficiary.display_name if r.is_for_colleague else "",
            r.service.name,
            r.quantity,
            r.unit_price,
            r.total,
            r.get_status_display(),
            r.status_note,
            r.justification,
            _answers_text(r.answers.all()),
            timezone.localtime(r.updated_at).strftime("%Y-%m-%d %H:%M"),
        )


@login_required
@msp_mode_page
def request_export(request: HttpRequest) -> StreamingHttpResponse:
    scope = _handler_scope_or_403(request)
    rows = _request_filters(request, scope).qs.order_by(*REQUEST_ORDERING)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(_export_rows(rows), header=EXPORT_HEADER, filename=f"requests-{stamp}.csv")


def _visible_requests(request: HttpRequest) -> tuple[QuerySet[ServiceRequest], bool]:
    """Requests this user may open (those they handle, and their own), and whether they handle any."""
    return selectors.request_list(user=request.user), _handler_scope(request) is not None


ACTIONS = {
    RequestStatus.IN_PROGRESS: ("Start work", "btn-primary", "play-circle"),
    RequestStatus.FULFILLED: ("Mark fulfilled", "btn-success", "check2-circle"),
    RequestStatus.REJECTED: ("Reject", "btn-outline-danger", "x-circle"),
    RequestStatus.FAILED: ("Mark failed", "btn-outline-danger", "exclamation-octagon"),
    RequestStatus.CANCELLED: ("Cancel request", "btn-outline-secondary", "slash-circle"),
}

DONE = {
    RequestStatus.IN_PROGRESS: "is in progress. Mark it fulfilled once delivered, or failed if it can't be.",
    RequestStatus.FULFILLED: "is fulfilled. The requester sees it in their requests.",
    RequestStatus.REJECTED: "is rejected. The requester sees your note in their requests.",
    RequestStatus.FAILED: "is marked failed. The requester sees your note in their requests.",
    RequestStatus.CANCELLED: "is cancelled.",
}


# Panels the apps above add to a request's page (fulfilment's ticket and notes): each hook takes
# (request, service_request) and returns a dict naming its "template" and its context, or None.
REQUEST_PANELS: list = []


def _actions(request: HttpRequest, service_request: ServiceRequest) -> list[tuple]:
    """The buttons to show: what request_transition would accept from this user now."""
    allowed = services.request_transitions_for(actor=request.user, request=service_request)
    return [(status, *ACTIONS[status]) for status in ACTIONS if status in allowed]


@login_required
@msp_mode_page
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.request_reader_or_403(user=request.user)
    requests, handler = _visible_requests(request)
    service_request = get_visible_or_404(request.user, requests, pk=pk)
    return TemplateResponse(
        request,
        "entitlements/portal/request_detail.html",
        {
            "r": service_request,
            "actions": _actions(request, service_request),
            "history": selectors.request_history(request=service_request),
            "handler": handler,
            "own": service_request.requester_id == request.user.pk,
            "answers": selectors.request_answers(request=service_request),
            "panels": [p for hook in REQUEST_PANELS if (p := hook(request, service_request))],
        },
    )


@login_required
@msp_mode_page
@require_POST
def request_transition(request: HttpRequest, pk: int) -> HttpResponse:
    selectors.request_reader_or_403(user=request.user)
    service_request = get_visible_or_404(request.user, _visible_requests(request)[0], pk=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("portal:request_detail", pk=pk)
    run_and_say(
        request,
        lambda: services.request_transition(
            actor=request.user, request=service_request, **form.cleaned_data
        ),
        done=lambda: f"Request #{pk} {DONE[form.cleaned_data['status']]}",
    )
    return redirect("portal:request_detail", pk=pk)
