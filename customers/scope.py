"""Tenancy decisions (T1, T2): the one place that says which customer a user belongs to, whether
a user administers a customer, and which rows of each tenant-owned model a user may see or change.

Pages, exports, pickers, services and (later) the API and sign-in ask these functions; nothing
else answers those questions. The rules register with msp_portal.tenancy, so
`visible_to(user, Model)` and `get_visible_or_404(user, Model, pk=…)` work for every model.
"""

from django.db.models import Q
from django.http import HttpRequest

from accounts.models import User
from itsm_sync.models import Company, Person
from msp_portal.memo import memoized
from msp_portal.models import Notification
from msp_portal.tenancy import CHANGE, NOTHING, VIEW, ScopeRule, by_permission, scope_register

from .models import (
    Customer,
    CustomerAdministrator,
    CustomerService,
    EndUserFilter,
    EndUserRefusal,
)

STAFF_PERMISSION = {VIEW: "customers.view_customer", CHANGE: "customers.change_customer"}


def is_msp_staff(user: User, action: str = VIEW) -> bool:
    """MSP staff holding the customers role see (VIEW) or manage (CHANGE) every customer."""
    return user.is_authenticated and user.has_perm(STAFF_PERMISSION[action])


def _member(user: User) -> bool:
    """A signed-in, active person of a company who is not MSP staff."""
    return bool(user.is_authenticated and user.is_active and not user.is_staff and user.company_id)


def _administers_q(user: User, path: str = "") -> Q:
    """The customers (reached through path) that user administers, as a condition.

    The definition of "administers a customer": an active account, not MSP staff, of a person
    who still belongs to the customer's company and holds an administrator role for it.
    """
    if not _member(user):
        return NOTHING
    # A subquery, not a join over the customer's administrators: OR-ed with other conditions (a
    # requester's own requests), a join repeats each row once per administrator.
    return Q(
        **{
            f"{path}company_id": user.company_id,
            f"{path}pk__in": CustomerAdministrator.objects.filter(user=user).values("customer_id"),
        }
    )


def administers(user: User, customer: Customer) -> bool:
    """Whether user administers customer (see _administers_q)."""
    return Customer.objects.filter(Q(pk=customer.pk) & _administers_q(user)).exists()


def administered_customer(user: User) -> Customer | None:
    """The customer a person administers (one company at a time, so at most one)."""
    if not _member(user):
        return None
    return memoized(
        ("administered_customer", user.pk, user.company_id),
        lambda: Customer.objects.select_related("company").filter(_administers_q(user)).first(),
    )


def end_user_customer(user: User) -> Customer | None:
    """The customer whose end user this account is (a person of its company), or None."""
    if not _member(user) or user.person_id is None:
        return None
    return memoized(
        ("customer_of_company", user.company_id),
        lambda: (
            Customer.objects.select_related("company").filter(company_id=user.company_id).first()
        ),
    )


def managed_customer(request: HttpRequest) -> Customer | None:
    """The customer whose entitlements and requests this request manages.

    A customer administrator manages their own customer; MSP staff with the customers role
    manage the customer they act as (T2, chosen with "switch company"); anyone else, none.
    """
    acting_as = getattr(request, "acting_as", None)
    if acting_as is not None and is_msp_staff(request.user, CHANGE):
        return Customer.objects.select_related("company").filter(pk=acting_as.customer_id).first()
    return administered_customer(request.user)


def may_manage(user: User, customer: Customer) -> bool:
    """Catalog administrators manage every customer; a customer administrator only their own."""
    return is_msp_staff(user, CHANGE) or administers(user, customer)


def customer_of(user: User) -> Customer | None:
    """The customer an account belongs to as an end user or administrator (its company's), or None.

    MSP staff, accounts without a company and inactive accounts belong to no customer.
    """
    if not _member(user):
        return None
    return Customer.objects.select_related("company").filter(company_id=user.company_id).first()


def customer_accounts(customer: Customer):
    """The active accounts of customer's people (end users and administrators, never MSP staff);
    the only accounts a sign-in through that customer's identity provider may open (I1)."""
    return User.objects.filter(
        is_active=True,
        is_staff=False,
        company_id=customer.company_id,
        person__company_id=customer.company_id,
    ).select_related("person")


def administrator_users(customer: Customer):
    """The accounts that administer customer and can sign in (C2's "active administrators")."""
    return User.objects.filter(
        pk__in=CustomerAdministrator.objects.filter(customer=customer).active().values("user_id")
    )


# ---------------------------------------------------------------------------------------------
# Scope rules of every model a page, export or picker reads
# ---------------------------------------------------------------------------------------------


def by_customer(path: str) -> ScopeRule:
    """Rows owned by a customer reached through path ("" for Customer itself): MSP staff see
    every customer's, a customer administrator their own customer's, anyone else none."""

    def rule(user: User, action: str) -> Q:
        if is_msp_staff(user, action):
            return Q()
        return _administers_q(user, path)

    return rule


def requests_rule_at(path: str) -> ScopeRule:
    """Requests (reached through path, "" for ServiceRequest itself): staff all, an administrator
    their customer's, a requester their own, and the colleague a request is for theirs (R2)."""

    def rule(user: User, action: str) -> Q:
        if is_msp_staff(user, action):
            return Q()
        if not user.is_authenticated:
            return NOTHING
        # A requester keeps their requests after losing access or leaving the customer.
        return (
            _administers_q(user, f"{path}customer__")
            | Q(**{f"{path}requester": user})
            | Q(**{f"{path}beneficiary": user})
        )

    return rule


def requests_rule(user: User, action: str) -> Q:
    """Requests: staff all, an administrator their customer's, a requester and the person a
    request is for their own."""
    return requests_rule_at("")(user, action)


def _people_accounts(user: User, action: str) -> Q:
    """Accounts: staff all; an administrator the people of their customer; anyone else themself."""
    if is_msp_staff(user, action):
        return Q()
    if not user.is_authenticated:
        return NOTHING
    if administered_customer(user) is not None:
        return Q(company_id=user.company_id, is_staff=False) | Q(pk=user.pk)
    return Q(pk=user.pk)


def _people(user: User, action: str) -> Q:
    """ITSM people: readers of the directory all; an administrator their company's; else none.

    Nobody changes the mirror but the ITSM sync.
    """
    if action != VIEW:
        return NOTHING
    if user.is_authenticated and user.has_perm("itsm_sync.view_person"):
        return Q()
    if administered_customer(user) is not None:
        return Q(company_id=user.company_id)
    return NOTHING


def _own_notifications(user: User, action: str) -> Q:
    return Q(user=user) if user.is_authenticated else NOTHING


def register() -> None:
    """Register the rules of customers' models and of the lower layers' tenant data."""
    scope_register(Customer, by_customer(""))
    for model in (CustomerService, CustomerAdministrator, EndUserFilter, EndUserRefusal):
        scope_register(model, by_customer("customer__"))
    scope_register(User, _people_accounts)
    scope_register(Person, _people)
    scope_register(Company, by_permission("itsm_sync.view_company", "itsm_sync.change_company"))
    scope_register(Notification, _own_notifications)
