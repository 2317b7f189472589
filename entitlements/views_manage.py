"""Pages of customer administrators (and MSP staff acting as a customer, T2).

Every object is reached through customers.scope.managed_customer(request): another customer's marketplace, rule,
user or service answers 404 (T1). Rules live in services.py; access questions go to access.py.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from catalog.models import Service
from credits.selectors import customer_credit_account_get
from customers.models import Customer
from customers.scope import managed_customer
from customers.selectors import PICKER_LIMIT, customer_assignment_list, end_user_list
from msp_portal.forms import form_add_error, form_errors_text
from msp_portal.pagination import keyset_page
from msp_portal.params import id_list_param, id_param, parse_id, search_param, value_param
from msp_portal.tenancy import get_visible_or_404
from msp_portal.views import removal_confirmed

from . import services
from .access import (
    audience_reach,
    customer_access_matrix,
    explain_access,
    visible_services,
    who_would_lose_access,
)
from .forms_manage import (
    AUDIENCE_FORMS,
    AudienceEveryoneForm,
    MarketplaceForm,
    OfferAddForm,
    active_end_users,
    department_choices,
    offerable_services,
)
from .models import AudienceKind, AudienceRule, Marketplace, MarketplaceService
from .selectors import marketplace_list, request_list

LOSSES_SHOWN = 200


def manager_required(view):
    """Pass the managed customer to the view; anyone managing none gets a 403 saying why."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        customer = managed_customer(request)
        if customer is None:
            return TemplateResponse(
                request,
                "entitlements/manage/no_customer.html",
                {"can_act_as": request.user.has_perm("customers.change_customer")},
                status=403,
            )
        return view(request, customer, *args, **kwargs)

    return wrapper


def _words(query: str) -> list[str]:
    return query.split()[:4]


def _search_users(users, query: str):
    for word in _words(query):
        users = users.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(email__icontains=word)
        )
    return users


# ---------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------

HOME_ROWS = 12


@manager_required
def home(request: HttpRequest, customer: Customer) -> HttpResponse:
    assignments = list(
        customer_assignment_list(customer=customer).annotate(
            marketplaces_count=Count("offers", distinct=True)
        )[: HOME_ROWS + 1]
    )
    marketplaces = list(_marketplaces_with_counts(request.user, customer)[: HOME_ROWS + 1])
    end_users = end_user_list(customer=customer)
    return TemplateResponse(
        request,
        "entitlements/manage/home.html",
        {
            "customer": customer,
            "assignments": assignments[:HOME_ROWS],
            "more_assignments": len(assignments) > HOME_ROWS,
            "marketplaces": marketplaces[:HOME_ROWS],
            "more_marketplaces": len(marketplaces) > HOME_ROWS,
            "assignments_count": customer.assignments.count(),
            "marketplaces_count": marketplace_list(user=request.user, customer=customer).count(),
            "end_users_active": end_users.filter(is_active=True).count(),
            "end_users_inactive": end_users.filter(is_active=False).count(),
            "requests": list(request_list(user=request.user, customer=customer)[:10]),
            "credit_account": customer_credit_account_get(customer=customer),
        },
    )


# ---------------------------------------------------------------------------------------------
# Marketplaces
# ---------------------------------------------------------------------------------------------


def _marketplaces_with_counts(user: User, customer: Customer):
    return marketplace_list(user=user, customer=customer).annotate(
        services_count=Count("offers", distinct=True),
        rules_count=Count("rules", distinct=True),
    )


@manager_required
def marketplace_list_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    return _marketplace_list_response(request, customer, MarketplaceForm())


def _marketplace_list_response(request, customer, form, status=200) -> HttpResponse:
    page = keyset_page(
        _marketplaces_with_counts(request.user, customer).prefetch_related(
            Prefetch("rules", queryset=AudienceRule.objects.select_related("user")),
            Prefetch(
                "offers",
                queryset=MarketplaceService.objects.select_related("assignment__service").order_by(
                    "assignment__service__name"
                ),
            ),
        ),
        ordering=("name", "id"),
        cursor=request.GET.get("after"),
    )
    company = customer.company.name
    rows = [
        {
            "marketplace": m,
            "rules": [r.describe(company) for r in m.rules.all()],
            "services": [o.assignment.service for o in m.offers.all()],
        }
        for m in page.rows
    ]
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_list.html",
        {"customer": customer, "page": page, "rows": rows, "form": form, "query": ""},
        status=status,
    )


@manager_required
def marketplace_create(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = MarketplaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            marketplace = services.marketplace_create(
                actor=request.user, customer=customer, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(
                request,
                f"Marketplace “{marketplace.name}” created. Next: add services and say who may "
                "see them.",
            )
            return redirect("entitlements:marketplace_detail", pk=marketplace.pk)
    return _marketplace_list_response(request, customer, form)


def _marketplace(request: HttpRequest, customer: Customer, pk: int) -> Marketplace:
    marketplace = get_visible_or_404(
        request.user, marketplace_list(user=request.user, customer=customer), pk=pk
    )
    marketplace.customer = customer  # the services check scope on it; spare a query
    return marketplace


def _detail_context(customer: Customer, marketplace: Marketplace, **forms) -> dict:
    company = customer.company.name
    rules = list(marketplace.rules.select_related("user"))
    reach = audience_reach(customer=customer, rules=rules)
    data = forms.pop("bound_kind", None)
    audience_forms = {
        kind: forms.get(kind) or form_class(customer=customer)
        for kind, form_class in AUDIENCE_FORMS.items()
    }
    return {
        "customer": customer,
        "marketplace": marketplace,
        "rename_form": forms.get("rename")
        or MarketplaceForm(
            initial={"name": marketplace.name, "description": marketplace.description}
        ),
        "offers": list(
            marketplace.offers.select_related("assignment__service__category").order_by(
                "assignment__service__name", "id"
            )
        ),
        "offerable": list(offerable_services(marketplace)[:PICKER_LIMIT]),
        "rules": [(rule, rule.describe(company), reach.get(rule.pk, 0)) for rule in rules],
        "has_everyone": any(r.kind == AudienceKind.EVERYONE for r in rules),
        "group_form": audience_forms[AudienceKind.GROUP],
        "departments": [
            value
            for value, _ in audience_forms[AudienceKind.GROUP].fields["department"].choices
            if value
        ],
        "department_chosen": audience_forms[AudienceKind.GROUP]["department"].value(),
        "user_form": audience_forms[AudienceKind.USER],
        "filter_form": audience_forms[AudienceKind.FILTER],
        "active_tab": data or AudienceKind.GROUP,
    }


@manager_required
def marketplace_detail(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_detail.html",
        _detail_context(customer, marketplace),
    )


@manager_required
@require_POST
def marketplace_rename(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    form = MarketplaceForm(request.POST)
    if form.is_valid():
        try:
            services.marketplace_rename(
                actor=request.user, marketplace=marketplace, **form.cleaned_data
            )
        except ValidationError as error:
            form_add_error(form, error)
            marketplace.refresh_from_db(fields=["name", "description"])
        else:
            messages.success(request, "Marketplace saved.")
            return redirect("entitlements:marketplace_detail", pk=marketplace.pk)
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_detail.html",
        _detail_context(customer, marketplace, rename=form),
    )


@manager_required
def marketplace_service_options(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    """htmx: the services this marketplace could still offer, matching a search."""
    marketplace = _marketplace(request, customer, pk)
    query = search_param(request.GET, "service_q")
    candidates = offerable_services(marketplace)
    for word in _words(query):
        candidates = candidates.filter(Q(name__icontains=word) | Q(category__name__icontains=word))
    chosen = id_list_param(request.GET, "services")
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_detail.html#service_options",
        {"offerable": candidates.exclude(pk__in=chosen)[:PICKER_LIMIT], "searched": bool(query)},
    )


@manager_required
@require_POST
def marketplace_services_add(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    form = OfferAddForm(request.POST, marketplace=marketplace)
    if form.is_valid():
        try:
            added = services.marketplace_services_add(
                actor=request.user,
                marketplace=marketplace,
                services=list(form.cleaned_data["services"]),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"{added} service{'s' if added != 1 else ''} added. People see "
                f"{'them' if added != 1 else 'it'} once the audience includes them.",
            )
    else:
        messages.error(request, form_errors_text(form))
    return redirect(reverse("entitlements:marketplace_detail", args=[marketplace.pk]) + "#services")


def _confirm_removal(
    request: HttpRequest,
    customer: Customer,
    marketplace: Marketplace,
    *,
    losses: list[tuple[User, list[Service]]],
    back: str,
    **text: str,
) -> HttpResponse:
    """The page that asks before a removal, with who would lose what (E3)."""
    return TemplateResponse(
        request,
        "entitlements/manage/confirm_removal.html",
        {
            "customer": customer,
            "marketplace": marketplace,
            "losses": {"count": len(losses), "rows": losses[:LOSSES_SHOWN]},
            "back": back,
            **text,
        },
    )


@manager_required
def marketplace_service_remove(
    request: HttpRequest, customer: Customer, pk: int, service_pk: int
) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    offer = get_visible_or_404(
        request.user,
        marketplace.offers.select_related("assignment__service"),
        assignment__service_id=service_pk,
    )
    service = offer.assignment.service
    back = reverse("entitlements:marketplace_detail", args=[marketplace.pk])
    if request.method == "POST":
        return removal_confirmed(
            request,
            lambda: services.marketplace_service_remove(
                actor=request.user, marketplace=marketplace, service=service
            ),
            done=f"{service.name} is no longer offered in “{marketplace}”.",
            then=back + "#services",
        )
    return _confirm_removal(
        request,
        customer,
        marketplace,
        title=f"Stop offering {service.name} in “{marketplace}”?",
        consequence=f"{service.name} leaves this marketplace at once. Requests already "
        "made are kept. People who also get it from another marketplace keep it.",
        losses=who_would_lose_access(customer=customer, without_offer_id=offer.pk),
        confirm_label=f"Stop offering {service.name}",
        back=back,
    )


@manager_required
@require_POST
def audience_rule_add(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    kind = request.POST.get("kind", "")
    form_class = AUDIENCE_FORMS.get(kind)
    if form_class is None:
        messages.error(request, "Choose who to add: everyone, a person, a group or a filter.")
        return redirect("entitlements:marketplace_detail", pk=marketplace.pk)
    form = form_class(request.POST, customer=customer)
    if form.is_valid():
        try:
            rule = services.audience_rule_add(
                actor=request.user, marketplace=marketplace, **form.rule
            )
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(
                request,
                f"{rule.describe(customer.company.name)} now sees what “{marketplace}” offers.",
            )
            return redirect(
                reverse("entitlements:marketplace_detail", args=[marketplace.pk]) + "#audience"
            )
    if isinstance(form, AudienceEveryoneForm):
        messages.error(request, " ".join(form.non_field_errors()))
        return redirect("entitlements:marketplace_detail", pk=marketplace.pk)
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_detail.html",
        _detail_context(customer, marketplace, bound_kind=kind, **{kind: form}),
    )


@manager_required
def audience_rule_remove(
    request: HttpRequest, customer: Customer, pk: int, rule_pk: int
) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    rule = get_visible_or_404(request.user, marketplace.rules.select_related("user"), pk=rule_pk)
    description = rule.describe(customer.company.name)
    back = reverse("entitlements:marketplace_detail", args=[marketplace.pk])
    if request.method == "POST":
        return removal_confirmed(
            request,
            lambda: services.audience_rule_remove(
                actor=request.user, marketplace=marketplace, rule=rule
            ),
            done=f"{description} removed from “{marketplace}”.",
            then=back + "#audience",
        )
    return _confirm_removal(
        request,
        customer,
        marketplace,
        title=f"Remove “{description}” from the audience of “{marketplace}”?",
        consequence="The people only this rule includes stop seeing what the marketplace "
        "offers on their next page. Requests already made are kept.",
        losses=who_would_lose_access(customer=customer, without_rule_id=rule.pk),
        confirm_label="Remove from audience",
        back=back,
    )


@manager_required
def marketplace_delete(request: HttpRequest, customer: Customer, pk: int) -> HttpResponse:
    marketplace = _marketplace(request, customer, pk)
    back = reverse("entitlements:marketplace_detail", args=[marketplace.pk])
    if request.method == "POST":
        return removal_confirmed(
            request,
            lambda: services.marketplace_delete(actor=request.user, marketplace=marketplace),
            done=f"Marketplace “{marketplace.name}” deleted.",
            then=reverse("entitlements:marketplace_list"),
            refused=back,
        )
    return _confirm_removal(
        request,
        customer,
        marketplace,
        title=f"Delete the marketplace “{marketplace}”?",
        consequence="Its services and audience go with it. Requests already made are "
        "kept. People who get a service from another marketplace keep it.",
        losses=who_would_lose_access(customer=customer, without_marketplace_id=marketplace.pk),
        confirm_label="Delete marketplace",
        back=back,
    )


@manager_required
def end_user_options(request: HttpRequest, customer: Customer) -> HttpResponse:
    """htmx: the customer's active end users matching a search, as radio choices."""
    users = _search_users(active_end_users(customer), search_param(request.GET, "user_q"))
    marketplace_id = id_param(request.GET, "marketplace")
    if marketplace_id is not None:
        marketplace = _marketplace(request, customer, int(marketplace_id))
        users = users.exclude(
            pk__in=marketplace.rules.filter(kind=AudienceKind.USER).values("user_id")
        )
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_detail.html#user_options",
        {"users": users.order_by("last_name", "first_name", "id")[:PICKER_LIMIT]},
    )


@manager_required
def department_options(request: HttpRequest, customer: Customer) -> HttpResponse:
    """htmx: the department <option>s of the chosen organization."""
    organization = value_param(request.GET, "organization")
    return TemplateResponse(
        request,
        "entitlements/manage/marketplace_detail.html#department_options",
        {"departments": department_choices(customer, organization), "department_chosen": ""},
    )


# ---------------------------------------------------------------------------------------------
# Entitlements by user, and explain access (E3)
# ---------------------------------------------------------------------------------------------


def _assigned_services(customer: Customer) -> dict[int, Service]:
    return {a.service_id: a.service for a in customer_assignment_list(customer=customer)}


@manager_required
def access_by_user(request: HttpRequest, customer: Customer) -> HttpResponse:
    query = search_param(request.GET, "q")
    page = keyset_page(
        _search_users(active_end_users(customer), query),
        ordering=("last_name", "first_name", "id"),
        cursor=request.GET.get("after"),
    )
    matrix = customer_access_matrix(customer=customer, user_ids=[u.pk for u in page.rows])
    assigned = _assigned_services(customer)
    rows = [
        {
            "user": user,
            "services": sorted(
                (assigned[s] for s in matrix.get(user.pk, ()) if s in assigned),
                key=lambda s: s.name,
            ),
        }
        for user in page.rows
    ]
    template = "entitlements/manage/access_by_user.html"
    if request.htmx:
        template += "#results"
    return TemplateResponse(
        request,
        template,
        {
            "customer": customer,
            "page": page,
            "rows": rows,
            "q": query,
            "query": urlencode({"q": query}) if query else "",
            "assigned": sorted(assigned.values(), key=lambda s: s.name),
        },
    )


def _pk(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    if not value:
        return None
    pk = parse_id(value)
    if pk is None:
        raise Http404
    return pk


@manager_required
def explain(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Why can (or can't) this end user see this service: the decision chain, step by step."""
    user_pk, service_pk = _pk(request, "user"), _pk(request, "service")
    target = (
        get_visible_or_404(request.user, end_user_list(customer=customer), pk=user_pk)
        if user_pk
        else None
    )
    service = (
        get_visible_or_404(
            request.user, customer_assignment_list(customer=customer), service_id=service_pk
        ).service
        if service_pk
        else None
    )
    return TemplateResponse(
        request,
        "entitlements/manage/explain.html",
        {
            "customer": customer,
            "target": target,
            "service": service,
            "explanation": explain_access(user=target, service=service)
            if target and service
            else None,
            "visible": visible_services(user=target) if target else None,
            "assigned": sorted(_assigned_services(customer).values(), key=lambda s: s.name),
            "users": []
            if target
            else active_end_users(customer).order_by("last_name", "first_name", "id")[
                :PICKER_LIMIT
            ],
        },
    )
