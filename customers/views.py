"""Pages of customers; first of them, the MSP mode page of system administrators."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from msp_portal.auth import permission_required
from msp_portal.forms import form_add_error, form_errors_text
from msp_portal.pagination import keyset_page, row_url
from msp_portal.params import id_list_param, id_param, parse_id, search_param
from msp_portal.selectors import (
    capped_count,
    installation_get,
    msp_mode_enabled,
    msp_mode_get,
    release_change_list,
)
from msp_portal.tenancy import ACTING_AS_SESSION_KEY, get_visible_or_404
from msp_portal.views import removal_confirmed

from . import selectors, services
from .fast_html import customer_rows
from .forms import (
    AdministratorAddForm,
    CustomerAddForm,
    CustomerSettingsForm,
    EndUserFilterForm,
    MspDisableForm,
    MspEnableForm,
    MspRequestForm,
    ServicesAddForm,
)
from .models import FILTER_ATTRIBUTES, Customer
from .readiness import msp_readiness


@permission_required("msp_portal.manage_msp_mode")
def msp_mode(request: HttpRequest) -> HttpResponse:
    saas = settings.DEPLOYMENT_MODE == "saas"
    disabling = request.method == "POST" and request.POST.get("action") == "disable"
    form_class = MspRequestForm if saas else MspEnableForm
    form = form_class(None if disabling else request.POST or None)
    disable_form = MspDisableForm(request.POST if disabling else None)
    bound = disable_form if disabling else form
    if request.method == "POST" and bound.is_valid():
        try:
            if disabling:
                services.msp_disable(actor=request.user)
                messages.success(
                    request,
                    "MSP mode is off again. The readiness checklist below applies when you "
                    "switch it on.",
                )
            elif saas:
                ticket = services.msp_request_file(actor=request.user, **form.cleaned_data)
                messages.success(
                    request,
                    f"Request filed as ticket #{ticket.pk}. The operator will switch "
                    "MSP mode on and you will see it here.",
                )
            else:
                services.msp_enable(actor=request.user)
                messages.success(request, "MSP mode is on. You can now add customers.")
        except ValidationError as error:
            form_add_error(bound, error)
        else:
            return redirect("customers:msp_mode")
    mode = msp_mode_get()
    return TemplateResponse(
        request,
        "customers/msp_mode.html",
        {
            "mode": mode,
            "readiness": None if mode.enabled else msp_readiness(),
            "form": form,
            "disable_form": disable_form,
            "disable_problem": services.msp_disable_problem() if mode.enabled else "",
            "saas": saas,
            "installation": installation_get(),
            "release_changes": list(release_change_list()[:20]),
            "requests": list(selectors.msp_request_list()[:10]),
        },
    )


# ---------------------------------------------------------------------------------------------
# Catalog > Customers
# ---------------------------------------------------------------------------------------------


def home_tiles(request: HttpRequest) -> list[dict]:
    """The staff home's customers tile (msp_portal.views.HOME_TILES)."""
    if not request.user.has_perm("customers.view_customer"):
        return []
    count, more = capped_count(selectors.customers_needing_attention(user=request.user))
    return [
        {
            "key": "customers-attention",
            "order": 20,
            "label": "Customers needing attention",
            "value": f"{count}{'+' if more else ''}",
            "detail": "No administrator, end users or marketplace, or gone from ITSM."
            if count
            else "Every customer is set up.",
            "when": None,
            "url": reverse("customers:customer_list"),
            "tone": "warning" if count else "",
        }
    ]


def _msp_mode_off(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "customers/msp_mode_off.html", status=409)


def msp_mode_page(view):
    """Customers exist only in MSP mode (M5): otherwise show a page saying so, with the way on."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not msp_mode_enabled():
            return _msp_mode_off(request)
        return view(request, *args, **kwargs)

    return wrapper


def _customer(request: HttpRequest, pk: int) -> Customer:
    return selectors.customer_get(user=request.user, pk=pk)


@permission_required("customers.view_customer")
def customer_list(request: HttpRequest) -> HttpResponse:
    query = search_param(request.GET, "q")
    page = selectors.customer_row_page(
        user=request.user, query=query, cursor=request.GET.get("after")
    )
    # As msp_mode_page, asked only when the page is empty: customers are added only in MSP mode,
    # which never turns off, so a page with rows proves it is on (one query less).
    if not page.rows and not msp_mode_enabled():
        return _msp_mode_off(request)
    rows = customer_rows(page.rows, row_url("customers:customer_detail"))
    template = "customers/customer_list.html"
    if request.htmx:
        template += "#results"
    return TemplateResponse(
        request,
        template,
        {"page": page, "rows": rows, "q": query, "query": urlencode({"q": query})},
    )


@permission_required("customers.add_customer")
@msp_mode_page
def customer_add(request: HttpRequest) -> HttpResponse:
    form = CustomerAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_add(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, _added_message(customer))
            return redirect("customers:customer_detail", pk=customer.pk)
    chosen_admins = form["administrators"].value() or [] if form.is_bound else []
    company_id = form["company"].value() if form.is_bound else None
    chosen = _people(company_id, chosen_admins)
    services_ = list(selectors.assignable_service_list()[: selectors.PICKER_LIMIT])
    return TemplateResponse(
        request,
        "customers/customer_add.html",
        {
            "form": form,
            "company_groups": _grouped(selectors.eligible_company_list()[:500]),
            "chosen_company": str(company_id or ""),
            "chosen_admins": chosen,
            "candidates": _candidates(company_id, exclude=chosen),
            "services": services_,
            "no_service": "" if services_ else _no_service(),
            "chosen_services": [str(v) for v in (form["services"].value() or [])]
            if form.is_bound
            else [],
        },
    )


def _added_message(customer: Customer) -> str:
    """What adding a customer did for its administrators: who was e-mailed an invitation."""
    users = [a.user for a in selectors.customer_admin_list(customer=customer)]
    invited = [u for u in users if u.invited_at and u.invited_at >= customer.created_at]
    no_mail = [u for u in users if not u.email]
    text = f"{customer} is now a customer."
    if invited:
        names = ", ".join(f"{u.display_name} ({u.email})" for u in invited)
        text += (
            f" An invitation to choose a password was e-mailed to {names}."
            if len(invited) == 1
            else f" Invitations to choose a password were e-mailed to {names}."
        )
    for user in no_mail:
        text += (
            f" {user.display_name} has no e-mail in ITSM, so no invitation went out: fill in "
            "Internet E-mail there, then resend it from the administrators below."
        )
    return text


def _grouped(companies) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for company in companies:
        groups.setdefault(company.get_company_type_display(), []).append(company)
    return list(groups.items())


def _people(company_id, person_ids) -> list:
    company_id = parse_id(company_id)
    if company_id is None:
        return []
    ids = [i for i in map(parse_id, person_ids) if i is not None]
    return list(selectors.company_people_list(company_id=company_id).filter(pk__in=ids))


def _candidates(company_id, *, exclude) -> list | None:
    """The administrator picker of a form whose company is chosen (None: no company chosen)."""
    company_id = parse_id(company_id)
    if company_id is None or not selectors.eligible_company_list().filter(pk=company_id).exists():
        return None
    people = selectors.company_people_list(company_id=company_id)
    return list(people.exclude(pk__in=[p.pk for p in exclude])[: selectors.PICKER_LIMIT])


@permission_required("customers.add_customer")
@msp_mode_page
def company_options(request: HttpRequest) -> HttpResponse:
    """htmx: the eligible companies matching a search, as grouped <option>s."""
    query = search_param(request.GET, "company_q")
    companies = selectors.eligible_company_list(query=query)[:200]
    return TemplateResponse(
        request,
        "customers/customer_add.html#company_options",
        {"company_groups": _grouped(companies)},
    )


@permission_required("customers.view_customer")
@msp_mode_page
def person_options(request: HttpRequest) -> HttpResponse:
    """htmx: people of one company matching a search, as administrator candidates."""
    company_id = id_param(request.GET, "company")
    customer_id = id_param(request.GET, "customer")
    if customer_id is not None:
        company_id = _customer(request, customer_id).company_id
    elif not request.user.has_perm("customers.add_customer"):
        raise PermissionDenied
    if company_id is None:
        return HttpResponse('<p class="text-secondary small mb-0">Choose a company first.</p>')
    company = (
        get_visible_or_404(request.user, selectors.eligible_company_list(), pk=int(company_id))
        if customer_id is None
        else None
    )
    people = selectors.company_people_list(
        company_id=company_id, query=search_param(request.GET, "person_q")
    )
    if customer_id is not None:
        people = people.exclude(user__administered_customers__customer_id=customer_id)
    chosen = id_list_param(request.GET, "administrators")
    people = people.exclude(pk__in=chosen)[: selectors.PICKER_LIMIT]
    return TemplateResponse(
        request,
        "customers/components/person_options.html",
        {
            "people": people,
            "company": company,
            "customer_id": customer_id,
            "input": request.GET.get("input", "administrators"),
        },
    )


@permission_required("customers.view_customer")
@msp_mode_page
def service_options(request: HttpRequest) -> HttpResponse:
    """htmx: published services matching a search, not yet assigned to the customer."""
    customer = None
    customer_id = id_param(request.GET, "customer")
    if customer_id is not None:
        customer = _customer(request, customer_id)
    chosen = id_list_param(request.GET, "services")
    query = search_param(request.GET, "service_q")
    services_ = list(
        selectors.assignable_service_list(customer=customer, query=query).exclude(pk__in=chosen)[
            : selectors.PICKER_LIMIT
        ]
    )
    return TemplateResponse(
        request,
        "customers/components/service_options.html",
        {
            "services": services_,
            "customer": customer,
            "service_q": query,
            "no_service": "" if services_ else _no_service(query=query, chosen=chosen),
        },
    )


def _no_service(*, query: str = "", chosen=()) -> str:
    """Why the service picker is empty: the search matched nothing, every published service is
    chosen or assigned already, or none is published."""
    if query:
        return "no_match"
    if not selectors.assignable_service_list().exists():
        return "none_published"
    return "all_chosen" if chosen else "all_assigned"


@permission_required("customers.view_customer")
@msp_mode_page
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    settings_form = CustomerSettingsForm(
        initial={
            "credit_management": customer.credit_management,
            "alert_threshold": customer.alert_threshold,
        }
    )
    return TemplateResponse(
        request,
        "customers/customer_detail.html",
        _detail_context(customer, settings_form, panels=_panels(request, customer)),
    )


# Higher layers add cards to the customer page (AppConfig.ready): each callable takes the request
# and the customer and returns the card's context, its template under "template", or None.
CUSTOMER_PANELS: list = []


def _panels(request: HttpRequest, customer: Customer) -> list[dict]:
    return [p for p in (panel(request, customer) for panel in CUSTOMER_PANELS) if p]


def _detail_context(customer: Customer, settings_form, **extra) -> dict:
    end_users = selectors.end_user_counts(customer=customer)
    assignable = list(
        selectors.assignable_service_list(customer=customer)[: selectors.PICKER_LIMIT]
    )
    return {
        "customer": customer,
        "settings_form": settings_form,
        "assignments": list(selectors.customer_assignment_list(customer=customer)),
        "administrators": list(selectors.customer_admin_list(customer=customer)),
        "filters": list(customer.user_filters.all()),
        "end_users_active": end_users["active"],
        "end_users_inactive": end_users["deactivated"],
        "assignable": assignable,
        "no_service": "" if assignable else _no_service(),
        **extra,
    }


# People refused an account are listed above the end users, this many at most (the command
# `apply_user_filters --dry-run` lists every one).
REFUSALS_SHOWN = 50


@permission_required("customers.view_customer")
@msp_mode_page
def end_user_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's end-user accounts, active and deactivated, searchable, page by page."""
    customer = _customer(request, pk)
    query = search_param(request.GET, "q")
    status = request.GET.get("status", "")
    users = selectors.end_user_list(
        customer=customer, query=query, status=status, administrators=False
    )
    page = keyset_page(
        users, ordering=("last_name", "first_name", "id"), cursor=request.GET.get("after")
    )
    template = "customers/end_user_list.html"
    refusals: list = []
    if request.htmx:
        template += "#results"
    else:
        refusals = list(selectors.end_user_refusal_list(customer=customer)[: REFUSALS_SHOWN + 1])
    return TemplateResponse(
        request,
        template,
        {
            "customer": customer,
            "page": page,
            "q": query,
            "status": status,
            "query": urlencode({"q": query, "status": status}),
            "refusals": refusals[:REFUSALS_SHOWN],
            "more_refusals": len(refusals) > REFUSALS_SHOWN,
        },
    )


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def customer_settings(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    form = CustomerSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.customer_settings_update(
                actor=request.user, customer=customer, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect("customers:customer_detail", pk=customer.pk)
    return TemplateResponse(
        request,
        "customers/customer_detail.html",
        _detail_context(customer, form, panels=_panels(request, customer)),
        status=400,
    )


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def customer_services_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    form = ServicesAddForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            added = services.customer_services_add(
                actor=request.user, customer=customer, services=list(form.cleaned_data["services"])
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{len(added)} service{'s' if len(added) != 1 else ''} added."
            )
    else:
        messages.error(request, form_errors_text(form))
    return redirect("customers:customer_detail", pk=customer.pk)


@permission_required("customers.change_customer")
@msp_mode_page
def customer_service_remove(request: HttpRequest, pk: int, service_pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    assignment = get_visible_or_404(
        request.user, selectors.customer_assignment_list(customer=customer), service_id=service_pk
    )
    if request.method == "POST":
        return removal_confirmed(
            request,
            lambda: services.customer_service_remove(
                actor=request.user, customer=customer, service=assignment.service
            ),
            done=f"{assignment.service} removed from {customer}.",
            then=reverse("customers:customer_detail", args=[customer.pk]),
        )
    impact = services.service_removal_impact(customer=customer, service=assignment.service)
    return TemplateResponse(
        request,
        "customers/customer_service_remove.html",
        {"customer": customer, "assignment": assignment, "impact": impact},
    )


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def customer_admin_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    form = AdministratorAddForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            admin = services.customer_admin_add(
                actor=request.user, customer=customer, person=form.cleaned_data["person"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{admin.user.display_name} is now an administrator.")
    else:
        messages.error(request, form_errors_text(form))
    return redirect("customers:customer_detail", pk=customer.pk)


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def customer_admin_remove(request: HttpRequest, pk: int, admin_pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    administrator = get_visible_or_404(
        request.user, selectors.customer_admin_list(customer=customer), pk=admin_pk
    )
    return removal_confirmed(
        request,
        lambda: services.customer_admin_remove(
            actor=request.user, customer=customer, administrator=administrator
        ),
        done=f"{administrator.user.display_name} is no longer an administrator.",
        then=reverse("customers:customer_detail", args=[customer.pk]),
    )


@permission_required("customers.change_customer")
@msp_mode_page
def end_user_filter_edit(
    request: HttpRequest, pk: int, filter_pk: int | None = None
) -> HttpResponse:
    customer = _customer(request, pk)
    user_filter = None
    initial = {}
    if filter_pk is not None:
        user_filter = get_visible_or_404(request.user, customer.user_filters.all(), pk=filter_pk)
        initial = {"name": user_filter.name, **user_filter.criteria}
    values = selectors.filter_attribute_values(company_id=customer.company_id)
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "preview" in request.GET else None)
    )
    form = EndUserFilterForm(data, initial=initial, attribute_values=values)
    preview = None
    if form.is_bound and "preview" in (request.GET if request.method == "GET" else request.POST):
        form.is_valid()
        criteria = {
            k: v for k, v in ((n, form.cleaned_data.get(n) or []) for n, _ in FILTER_ATTRIBUTES)
        }
        people = services.end_user_people(
            customer=customer, filters=[services.criteria_clean(criteria)]
        )
        preview = {
            "count": people.count(),
            "first": list(people.order_by("last_name", "first_name")[:20]),
        }
        if request.htmx:
            return TemplateResponse(
                request, "customers/end_user_filter_edit.html#preview", {"preview": preview}
            )
    elif request.method == "POST" and form.is_valid():
        try:
            services.end_user_filter_save(
                actor=request.user,
                customer=customer,
                name=form.cleaned_data["name"],
                criteria=form.criteria,
                user_filter=user_filter,
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, f"Filter “{form.cleaned_data['name']}” saved and applied.")
            return redirect("customers:customer_detail", pk=customer.pk)
    return TemplateResponse(
        request,
        "customers/end_user_filter_edit.html",
        {"customer": customer, "form": form, "user_filter": user_filter, "preview": preview},
    )


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def end_user_filter_delete(request: HttpRequest, pk: int, filter_pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    user_filter = get_visible_or_404(request.user, customer.user_filters.all(), pk=filter_pk)
    services.end_user_filter_delete(actor=request.user, customer=customer, user_filter=user_filter)
    messages.success(request, f"Filter “{user_filter.name}” deleted; access re-evaluated.")
    return redirect("customers:customer_detail", pk=customer.pk)


# ---------------------------------------------------------------------------------------------
# Switch company (T2): MSP staff act in one customer's context, with a banner all the time.
# ---------------------------------------------------------------------------------------------


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def invitation_resend(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    """E-mail one of the customer's people a new invitation; back to the page the button was on."""
    customer = _customer(request, pk)
    person = get_visible_or_404(
        request.user, selectors.end_user_list(customer=customer), pk=user_pk
    )
    try:
        services.customer_invitation_resend(actor=request.user, customer=customer, user=person)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"A new invitation was e-mailed to {person.display_name} ({person.email})."
        )
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("customers:customer_detail", args=[customer.pk])
    return redirect(target)


@permission_required("customers.change_customer")
@msp_mode_page
@require_POST
def switch_company(request: HttpRequest) -> HttpResponse:
    customer_id = id_param(request.POST, "customer")
    if customer_id is None:
        messages.error(request, "Choose a customer to act as.")
        return redirect("customers:customer_list")
    customer = _customer(request, customer_id)
    request.session[ACTING_AS_SESSION_KEY] = {"customer_id": customer.pk, "label": str(customer)}
    messages.info(request, f"You are now acting as {customer}. Every change records it.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    return redirect(target)


@require_POST
def switch_back(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    request.session.pop(ACTING_AS_SESSION_KEY, None)
    messages.info(request, "Back to your own view.")
    return redirect(
        "customers:customer_list" if request.user.has_perm("customers.view_customer") else "home"
    )
