"""Reads of credits, always scoped to the user asking."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from customers.models import Customer
from customers.scope import is_msp_staff
from msp_portal.models import Notification
from msp_portal.params import parse_id
from msp_portal.tenancy import get_visible_or_404, visible_to

from .forecast import WINDOW_DAYS, BurnStats, Forecast, forecast
from .models import CreditAccount, CreditEntry, EntryKind

CHART_ENTRIES = 200


def low_balance_list(*, user: User) -> QuerySet[Customer]:
    """Customers with Credit Management whose balance is below zero or their alert threshold (an
    account not opened yet holds 0), of those the user may see."""
    low = (
        Q(credit_account__balance__lt=0)
        | Q(credit_account__balance__lt=F("alert_threshold"))
        | Q(credit_account__isnull=True, alert_threshold__gt=0)
    )
    return visible_to(user, Customer.objects.filter(low, credit_management=True))


def credit_customer_list(*, user: User) -> QuerySet[Customer]:
    """Customers whose credits the user may see (customers.scope: staff all, an administrator
    their own)."""
    return visible_to(user, Customer.objects.select_related("company", "credit_account"))


def credit_customer_get(*, user: User, pk: int) -> Customer:
    """A customer whose credits the user may see: 404 outside their scope, 403 without a role."""
    customers = credit_customer_list(user=user)
    try:
        return get_visible_or_404(user, customers, pk=pk)
    except Http404:
        if not is_msp_staff(user) and not customers.exists():
            raise PermissionDenied(
                "Only catalog administrators and the customer's administrators see its credits."
            ) from None
        raise


def loaded_credit_account(*, customer: Customer) -> CreditAccount | None:
    """The account loaded with the customer (credit_customer_list), or None before its first
    entry: a page reads that as a zero balance without writing one."""
    return getattr(customer, "credit_account", None)


def credit_forecast_get(*, customer: Customer, account: CreditAccount | None) -> Forecast:
    """When the customer's balance reaches its alert threshold and zero at the recent burn rate."""
    stats = BurnStats()
    if account is not None:
        stats = burn_stats(accounts=[account.pk]).get(account.pk, BurnStats())
    return forecast(
        balance=account.balance if account else Decimal("0"),
        threshold=customer.alert_threshold,
        stats=stats,
        today=timezone.localdate(),
    )


def customer_ledger_entry_list(*, user: User, customer: Customer) -> QuerySet[CreditEntry]:
    """A customer's ledger as the user may read it, newest first; empty before its account opens."""
    account = loaded_credit_account(customer=customer)
    if account is None:
        return CreditEntry.objects.none()
    return ledger_entry_list(user=user, account=account)


def customer_credit_account_get(*, customer) -> CreditAccount | None:
    """A customer's credit account when Credit Management is on (callers scope the customer)."""
    if not customer.credit_management:
        return None
    return CreditAccount.objects.filter(customer=customer).first()


def administered_credit_account_get(*, user: User) -> CreditAccount | None:
    """The credit account of the customer the user administers, when Credit Management is on."""
    if user.company_id is None:
        return None
    accounts = CreditAccount.objects.select_related("customer__company").filter(
        customer__company_id=user.company_id, customer__credit_management=True
    )
    return visible_to(user, accounts).first()


def ledger_entry_list(*, user: User, account: CreditAccount) -> QuerySet[CreditEntry]:
    """One account's ledger as the user may read it, newest first (credits.filters narrows it)."""
    entries = CreditEntry.objects.filter(account=account).select_related("actor")
    return visible_to(user, entries).order_by("-created_at", "-id")


def balance_history(*, account: CreditAccount, limit: int = CHART_ENTRIES) -> list[tuple]:
    """(created_at, balance_after) of the account's last `limit` entries, oldest first."""
    rows = (
        CreditEntry.objects.filter(account=account)
        .order_by("-created_at", "-id")
        .values_list("created_at", "balance_after")[:limit]
    )
    return list(reversed(rows))


def burn_stats(*, accounts: Iterable[int] | QuerySet, now: datetime | None = None) -> dict:
    """Use of the last WINDOW_DAYS per account id, in one aggregate query over that window only."""
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    debit = Q(kind=EntryKind.DEBIT)
    rows = (
        CreditEntry.objects.filter(
            account__in=accounts,
            created_at__gte=since,
            kind__in=[EntryKind.DEBIT, EntryKind.REFUND],
        )
        .order_by()
        .values("account_id")
        .annotate(
            debits=Count("id", filter=debit),
            days=Count(TruncDate("created_at"), filter=debit, distinct=True),
            total=Sum("amount"),
            first=Min("created_at", filter=debit),
        )
    )
    return {
        r["account_id"]: BurnStats(
            debits=r["debits"],
            days=r["days"],
            net=-(r["total"] or 0),
            first=timezone.localdate(r["first"]) if r["first"] else None,
        )
        for r in rows
    }


def credit_overview_list(*, user: User) -> list[Customer]:
    """Customers with Credit Management on, with their account (or None); catalog administrators only."""
    if not is_msp_staff(user):
        return []
    return list(
        credit_customer_list(user=user).filter(credit_management=True).order_by("company__name")
    )


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    notifications = visible_to(user, Notification)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def customer_for_operator(reference: str) -> Customer | None:
    """An operator's customer by id or exact company name (commands only: no user scope)."""
    reference = reference.strip()
    customers = Customer.objects.select_related("company")
    if (pk := parse_id(reference)) is not None:
        found = customers.filter(pk=pk).first()
        if found is not None:
            return found
    return customers.filter(company__name=reference).first()


def ledger_total(*, account: CreditAccount) -> tuple:
    """(sum of the account's ledger amounts, number of entries)."""
    totals = CreditEntry.objects.filter(account=account).aggregate(
        total=Sum("amount"), n=Count("id")
    )
    return totals["total"] or 0, totals["n"]
