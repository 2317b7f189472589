"""Reads of customers, always scoped to the user asking."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Count, IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import User
from catalog.models import Service, ServiceStatus
from itsm_sync.models import GLOBAL_COMPANY_NAMES, Company, CompanyType, Person, RecordStatus
from msp_portal.fast_sql import ComposedOnce
from msp_portal.pagination import DEFAULT_PAGE_SIZE, KeysetPage
from msp_portal.tenancy import get_visible_or_404, visible_to

from .models import (
    FILTER_ATTRIBUTES,
    Customer,
    CustomerAdministrator,
    CustomerService,
    EndUserRefusal,
    MspModeRequest,
)

PICKER_LIMIT = 25


def msp_request_list() -> QuerySet[MspModeRequest]:
    """MSP mode requests (tickets), newest first."""
    return MspModeRequest.objects.select_related("requested_by").order_by("-requested_at", "-id")


def customer_list(*, user: User, query: str = "") -> QuerySet[Customer]:
    """Customers the user may see: all for catalog administrators, else the ones they administer."""
    return visible_to(user, _customers(query))


def _customers(query: str) -> QuerySet[Customer]:
    return _searched(Customer.objects.select_related("company"), query)


def customer_page(
    *, user: User, cursor: str | None = None, size: int = DEFAULT_PAGE_SIZE
) -> KeysetPage:
    """A page of customer_list by name (the API's list); for those who see every customer its
    SQL is composed once (msp_portal/fast_sql.py), as the customers page's."""
    return _CUSTOMERS.page(user=user, cursor=cursor, size=size)


def customer_get(*, user: User, pk: int) -> Customer:
    """One customer the user may see; 404 outside their scope (T1), for the pages and the API."""
    return get_visible_or_404(user, customer_list(user=user), pk=pk)


def _searched(customers: QuerySet, query: str) -> QuerySet:
    """The customers whose company's name or abbreviation holds query (all for none)."""
    if not query:
        return customers
    return customers.filter(
        Q(company__name__icontains=query) | Q(company__abbreviation__icontains=query)
    )


def _count_sql(table: str, where: str) -> RawSQL:
    # Identifiers from model metadata only; nothing from input reaches this SQL.
    return RawSQL(  # noqa: S611
        f"(SELECT COUNT(*) FROM {table} x WHERE {where})",  # noqa: S608
        [],
        output_field=IntegerField(),
    )


# An account x that administers the customer (rows of the customers list only).
_ADMINISTERS_SQL = (
    "SELECT 1 FROM {admins} a WHERE a.customer_id = {customer}.id AND a.user_id = x.id"
)


def _counts() -> dict[str, RawSQL]:
    """Service, administrator and active end-user counts as correlated subqueries in SQL text.

    Written as Subquery(queryset) the three cost the ORM about 1.5 ms to compose on every
    request, more than the database needs to run them; as text they cost a tenth of that
    (bench/pages).
    """
    customer = Customer._meta.db_table
    admins = CustomerAdministrator._meta.db_table
    return {
        "services_count": _count_sql(
            CustomerService._meta.db_table, f"x.customer_id = {customer}.id"
        ),
        "admins_count": _count_sql(
            CustomerAdministrator._meta.db_table,
            f"x.customer_id = {customer}.id AND "
            + CustomerAdministrator.ACTIVE_SQL.format(users=User._meta.db_table),
        ),
        # The customer's end users, as on its page: active portal accounts of its people, its
        # administrators counted apart (end_user_counts).
        "end_users_count": _count_sql(
            User._meta.db_table,
            f"x.company_id = {customer}.company_id AND x.person_id IS NOT NULL "
            "AND x.is_active AND NOT x.is_staff AND NOT EXISTS ("
            + _ADMINISTERS_SQL.format(admins=admins, customer=customer)
            + ")",
        ),
    }


def related_count_sql(table: str, where: str) -> RawSQL:
    """A correlated COUNT(*) of the rows of table (aliased x) meeting where, which may name the
    customer's table: how higher layers add a count to the customers list (CUSTOMER_LIST_COLUMNS).
    Identifiers from model metadata only."""
    return _count_sql(table, where)


def related_exists_sql(table: str, where: str) -> RawSQL:
    """Whether table (aliased x) has a row meeting where, as related_count_sql; for a flag, use
    this rather than a count compared with 0: PostgreSQL may read a small table once (a hashed
    subplan) instead of once a row (the customers list: 0.4 ms of its 1.1 ms query with 210
    marketplaces)."""
    # Identifiers from model metadata only; nothing from input reaches this SQL.
    return RawSQL(  # noqa: S611
        f"EXISTS (SELECT 1 FROM {table} x WHERE {where})",  # noqa: S608
        [],
        output_field=BooleanField(),
    )


# Higher layers add columns to the customers list (AppConfig.ready): name -> a callable that
# returns the expression to annotate, read from the row dict by that name (credits: balance).
CUSTOMER_LIST_COLUMNS: dict[str, Callable[[], Any]] = {}

CUSTOMER_ROW_FIELDS = (
    "id",
    "company__name",
    "company__company_type",
    "company__status",
    "company__is_active",
    "credit_management",
    "alert_threshold",
    "needs_administrator",
    "services_count",
    "admins_count",
    "end_users_count",
)


def customer_row_list(*, user: User, query: str = "") -> QuerySet[dict[str, Any]]:
    """The customers the user may see (as customer_list), as the rows the customers list shows:
    counts and the columns higher layers add (CUSTOMER_LIST_COLUMNS) included."""
    return visible_to(user, _customer_rows(query))


def _customer_rows(query: str) -> QuerySet[dict[str, Any]]:
    extra = {name: column() for name, column in CUSTOMER_LIST_COLUMNS.items()}
    rows = Customer.objects.annotate(**_counts(), **extra).values(*CUSTOMER_ROW_FIELDS, *extra)
    return _searched(rows, query)


CUSTOMER_ORDERING = ("company__name", "id")
# Composed on the first page asked for, after every app has added its columns (ready()).
_CUSTOMER_PAGES = ComposedOnce(_customer_rows, ordering=CUSTOMER_ORDERING)
_CUSTOMERS = ComposedOnce(_customers, ordering=CUSTOMER_ORDERING)


def customer_row_page(*, user: User, query: str = "", cursor: str | None = None) -> KeysetPage:
    """A page of customer_row_list after cursor. For those who see every customer (MSP staff)
    its SQL is composed once per shape (msp_portal/fast_sql.py: 1.2 ms a page)."""
    return _CUSTOMER_PAGES.page(user=user, search=query, cursor=cursor)


def customers_needing_attention(*, user: User) -> QuerySet[dict[str, Any]]:
    """The customers the user may see whose health (customer_row_health) flags their set-up: no
    administrator, no end users, no marketplace, or a company gone or not Enabled in ITSM."""
    attention = (
        Q(needs_administrator=True)
        | Q(admins_count=0)
        | Q(end_users_count=0)
        | Q(company__is_active=False)
        | ~Q(company__status=RecordStatus.ENABLED)
    )
    if "has_marketplace" in CUSTOMER_LIST_COLUMNS:
        attention |= Q(has_marketplace=False)
    return customer_row_list(user=user).filter(attention)


def customer_row_balance(v: dict) -> tuple[Decimal | None, str]:
    """A customer row's credit balance and how the list shows it."""
    if not v["credit_management"]:
        return None, "off"
    if "credit_balance" not in v:
        return None, "—"  # no app provides balances
    balance = v["credit_balance"] if v["credit_balance"] is not None else Decimal(0)
    return balance, f"{balance:,.2f}"  # no ledger entry yet: 0


def customer_row_health(v: dict, balance: Decimal | None) -> list[tuple[str, str]]:
    """What needs attention on a customer: (Bootstrap colour, label) pairs."""
    flags = []
    if v["needs_administrator"] or not v["admins_count"]:
        flags.append(("danger", "No administrator"))
    if not v["company__is_active"]:
        flags.append(("warning", "Company gone from ITSM"))
    elif v["company__status"] != RecordStatus.ENABLED:
        flags.append(("warning", f"Company {v['company__status'].lower()} in ITSM"))
    if not v["end_users_count"]:
        flags.append(("warning", "No end users"))
    if v.get("has_marketplace") is False:  # a column entitlements adds
        flags.append(("warning", "No marketplace"))
    threshold = v["alert_threshold"]
    if balance is not None and balance < 0:
        flags.append(("danger", "Balance below zero"))
    elif balance is not None and threshold is not None and balance < threshold:
        flags.append(("warning", "Low balance"))
    return flags


def provider_company_list() -> QuerySet[Company]:
    """The MSP's own company (C1: never a customer): MSP_PROVIDER_COMPANY when set, else the
    Service Provider companies its staff (accounts holding an MSP role) belong to."""
    name = getattr(settings, "MSP_PROVIDER_COMPANY", "")
    if name:
        return Company.objects.filter(name=name)
    staff = User.objects.filter(is_staff=True, is_active=True, company__isnull=False)
    return Company.objects.filter(
        company_type=CompanyType.SERVICE_PROVIDER, pk__in=staff.values("company_id")
    )


def eligible_company_list(*, query: str = "") -> QuerySet[Company]:
    """Companies that may become customers (C1): Enabled, not Manufacturer, not the global
    company, not the provider's own, not one yet."""
    companies = (
        Company.objects.filter(status=RecordStatus.ENABLED, is_active=True, customer__isnull=True)
        .exclude(company_type=CompanyType.MANUFACTURER)
        .exclude(name__in=GLOBAL_COMPANY_NAMES)
        .exclude(pk__in=provider_company_list().values("pk"))
    )
    if query:
        companies = companies.filter(Q(name__icontains=query) | Q(abbreviation__icontains=query))
    return companies.order_by("company_type", "name")


def company_people_list(*, company_id: int, query: str = "") -> QuerySet[Person]:
    """Enabled people of one company, searchable by name, login or e-mail."""
    people = Person.objects.filter(
        company_id=company_id, is_active=True, profile_status=RecordStatus.ENABLED
    )
    for word in query.split()[:4]:
        people = people.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(remedy_login_id__icontains=word)
            | Q(email__icontains=word)
        )
    return people.order_by("last_name", "first_name", "id")


def assignable_service_list(
    *, customer: Customer | None = None, query: str = ""
) -> QuerySet[Service]:
    """Published services, not yet assigned to the customer, searchable by name or category."""
    services = Service.objects.filter(status=ServiceStatus.PUBLISHED).select_related("category")
    if customer is not None:
        services = services.exclude(assignments__customer=customer)
    if query:
        services = services.filter(Q(name__icontains=query) | Q(category__name__icontains=query))
    return services.order_by("name", "id")


def customer_assignment_list(*, customer: Customer) -> QuerySet[CustomerService]:
    return customer.assignments.select_related("service__category").order_by("service__name")


def customer_admin_list(*, customer: Customer) -> QuerySet[CustomerAdministrator]:
    return customer.administrators.select_related("user__person").order_by(
        "user__last_name", "user__first_name", "id"
    )


def filter_attribute_values(*, company_id: int) -> dict[str, list[str]]:
    """For each filter attribute, the values present among the company's Enabled people."""
    people = Person.objects.filter(
        company_id=company_id, is_active=True, profile_status=RecordStatus.ENABLED
    )
    values: dict[str, list[str]] = {}
    for name, _ in FILTER_ATTRIBUTES:
        values[name] = list(
            people.exclude(**{name: ""}).order_by(name).values_list(name, flat=True).distinct()
        )
    return values


def end_user_refusal_list(*, customer: Customer) -> QuerySet[EndUserRefusal]:
    """People the customer's filters bring in who have no account, and why, by name."""
    return (
        EndUserRefusal.objects.filter(customer=customer)
        .select_related("person")
        .order_by("person__last_name", "person__first_name", "id")
    )


def end_user_counts(*, customer: Customer) -> dict[str, int]:
    """The customer's end-user accounts, active and deactivated; its administrators are counted
    apart (the customers list counts alike)."""
    users = end_user_list(customer=customer, administrators=False)
    return users.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        deactivated=Count("pk", filter=Q(is_active=False)),
    )


def end_user_list(
    *, customer: Customer, query: str = "", status: str = "", administrators: bool = True
) -> QuerySet[User]:
    """Portal accounts of the customer's people (active and deactivated), excluding MSP staff;
    without its administrators when administrators is False (the customer pages count them apart)."""
    users = User.objects.filter(
        company_id=customer.company_id, person__isnull=False, is_staff=False
    ).select_related("person")
    if not administrators:
        users = users.exclude(administered_customers__customer=customer)
    if status in ("active", "deactivated"):
        users = users.filter(is_active=status == "active")
    for word in query.split()[:4]:
        users = users.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(person__organization__icontains=word)
            | Q(person__department__icontains=word)
        )
    return users
