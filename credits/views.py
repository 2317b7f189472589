"""Pages of credits: a customer's account (balance, history, chart, forecast), the catalog
administrators' overview sorted by urgency, and everyone's notifications (the bell)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from customers.models import Customer
from customers.scope import is_msp_staff
from customers.views import msp_mode_page
from msp_portal.auth import permission_required
from msp_portal.exports import csv_response
from msp_portal.forms import form_add_error
from msp_portal.pagination import KeysetPage, keyset_page
from msp_portal.selectors import capped_count
from msp_portal.tenancy import get_visible_or_404

from . import selectors, services
from .filters import LedgerFilterSet, NotificationFilterSet
from .forecast import BurnStats, Forecast, balance_chart, forecast, urgency
from .forms import CreditAdjustForm, CreditGrantForm, HardLimitForm
from .models import CreditEntry

MANAGE = "customers.change_customer"
MENU_SIZE = 6


def _ledger(request: HttpRequest, customer: Customer) -> LedgerFilterSet:
    """The ledger's filters (the query string but the cursor) over the account's scoped entries."""
    entries = selectors.customer_ledger_entry_list(user=request.user, customer=customer)
    data = {k: v for k, v in request.GET.items() if k != "after"}
    return LedgerFilterSet(data or None, entries)


def _query(request: HttpRequest) -> str:
    """The page's filters for links (pager, export), without the cursor or empty fields."""
    query = request.GET.copy()
    query.pop("after", None)
    for key in [k for k, v in query.items() if not v.strip()]:
        query.pop(key)
    return query.urlencode()


def _detail_response(request: HttpRequest, customer: Customer, **forms) -> TemplateResponse:
    account = selectors.loaded_credit_account(customer=customer)
    ledger = _ledger(request, customer)
    page = keyset_page(
        ledger.qs,
        ordering=("-created_at", "-id"),
        cursor=request.GET.get("after"),
    )
    context = {"customer": customer, "filter_form": ledger.form, "page": page}
    context["query"] = _query(request)
    if request.htmx and request.method == "GET" and request.htmx.target == "ledger":
        return TemplateResponse(request, "credits/account_detail.html#ledger", context)
    can_manage = request.user.has_perm(MANAGE)
    hard_limit = account.hard_limit if account else False
    context.update(
        account=account,
        balance=account.balance if account else Decimal("0"),
        hard_limit=hard_limit,
        chart=balance_chart(
            selectors.balance_history(account=account) if account else [],
            threshold=customer.alert_threshold,
            now=timezone.now(),
        ),
        outlook=selectors.credit_forecast_get(customer=customer, account=account),
        can_manage=can_manage,
        grant_form=forms.get("grant_form") or CreditGrantForm(),
        adjust_form=forms.get("adjust_form") or CreditAdjustForm(),
        hard_limit_form=forms.get("hard_limit_form") or HardLimitForm(),
    )
    return TemplateResponse(request, "credits/account_detail.html", context)


@login_required
@msp_mode_page
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_response(request, selectors.credit_customer_get(user=request.user, pk=pk))


EXPORT_HEADER = [
    "Date",
    "Kind",
    "Amount",
    "Balance after",
    "Request",
    "Reason",
    "Actor",
    "Acting as",
    "Idempotency key",
]


CENT = Decimal("0.01")


def _export_rows(entries: Iterable[CreditEntry]) -> Iterator[tuple]:
    # Amounts are numbers, written as such (negative ones too); every text cell is defused.
    for e in entries:
        yield (
            timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            e.get_kind_display(),
            e.amount.quantize(CENT),
            e.balance_after.quantize(CENT),
            e.request_id,
            e.reason,
            e.actor_label,
            e.acting_as_label,
            e.idempotency_key,
        )


@login_required
@msp_mode_page
def ledger_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The ledger as CSV with the page's filters, streamed so its size never loads into memory."""
    customer = selectors.credit_customer_get(user=request.user, pk=pk)
    entries = _ledger(request, customer).qs
    name = f"credits-{slugify(customer.company.name) or customer.pk}-{timezone.localdate():%Y%m%d}"
    return csv_response(
        _export_rows(entries.iterator(chunk_size=2000)),
        header=EXPORT_HEADER,
        filename=f"{name}.csv",
    )


def _write(request: HttpRequest, pk: int, form_name: str, form, action) -> HttpResponse:
    """Run one credit service from a posted form; its refusal shows on the form, nothing written."""
    customer = selectors.credit_customer_get(user=request.user, pk=pk)
    if form.is_valid():
        try:
            text = action(customer, form.cleaned_data)
        except ValidationError as error:
            form_add_error(form, error)
        else:
            messages.success(request, text)
            return _local_next(request) or redirect("credits:account_detail", pk=customer.pk)
    return _detail_response(request, customer, **{form_name: form})


def _local_next(request: HttpRequest) -> HttpResponse | None:
    """A redirect to the form's next page (the customer page's Grant), if it is a path here."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return None


def home_tiles(request: HttpRequest) -> list[dict]:
    """The staff home's credits tile (msp_portal.views.HOME_TILES)."""
    if not is_msp_staff(request.user):
        return []
    count, more = capped_count(selectors.low_balance_list(user=request.user))
    return [
        {
            "key": "low-balances",
            "order": 30,
            "label": "Low balances",
            "value": f"{count}{'+' if more else ''}",
            "detail": "Below the alert threshold or zero." if count else "No balance is low.",
            "when": None,
            "url": reverse("credits:account_list"),
            "tone": "warning" if count else "",
        }
    ]


def customer_panel(request: HttpRequest, customer: Customer) -> dict | None:
    """The customer page's Credits card: the balance, the forecast and Grant (a CUSTOMER_PANEL)."""
    if not is_msp_staff(request.user):
        return None
    account = selectors.loaded_credit_account(customer=customer)
    return {
        "template": "credits/customer_panel.html",
        "balance": account.balance if account else Decimal("0"),
        "outlook": selectors.credit_forecast_get(customer=customer, account=account),
        "can_manage": request.user.has_perm(MANAGE),
        "grant_form": CreditGrantForm(),
    }


@permission_required(MANAGE)
@msp_mode_page
@require_POST
def account_grant(request: HttpRequest, pk: int) -> HttpResponse:
    def grant(customer: Customer, data: dict) -> str:
        entry = services.credit_grant(actor=request.user, customer=customer, **data)
        return (
            f"Granted {entry.amount:.2f} credits to {customer}. Balance: {entry.balance_after:.2f}."
        )

    return _write(request, pk, "grant_form", CreditGrantForm(request.POST), grant)


@permission_required(MANAGE)
@msp_mode_page
@require_POST
def account_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    def adjust(customer: Customer, data: dict) -> str:
        entry = services.credit_adjust(actor=request.user, customer=customer, **data)
        return f"Adjusted {customer} by {entry.amount:+.2f}. Balance: {entry.balance_after:.2f}."

    return _write(request, pk, "adjust_form", CreditAdjustForm(request.POST), adjust)


@permission_required(MANAGE)
@msp_mode_page
@require_POST
def account_hard_limit(request: HttpRequest, pk: int) -> HttpResponse:
    def switch(customer: Customer, data: dict) -> str:
        account = services.credit_hard_limit_set(
            actor=request.user, customer=customer, hard_limit=data["hard_limit"]
        )
        if account.hard_limit:
            return f"Hard limit on: {customer}'s requests the balance can't cover are refused."
        return f"Hard limit off: {customer}'s balance may go below zero."

    return _write(request, pk, "hard_limit_form", HardLimitForm(request.POST), switch)


@dataclass
class OverviewRow:
    customer: Customer
    balance: Decimal
    hard_limit: bool
    burn: Decimal
    outlook: Forecast

    @property
    def state(self) -> str:
        if self.outlook.below_zero:
            return "below-zero"
        return "below-threshold" if self.outlook.below_threshold else "ok"


@permission_required("customers.view_customer")
@msp_mode_page
def account_list(request: HttpRequest) -> HttpResponse:
    """Every customer with Credit Management on, most urgent first; two queries at any size."""
    customers = selectors.credit_overview_list(user=request.user)
    accounts = [
        a for a in (selectors.loaded_credit_account(customer=c) for c in customers) if a is not None
    ]
    stats = selectors.burn_stats(accounts=[a.pk for a in accounts]) if accounts else {}
    today = timezone.localdate()
    rows = []
    for customer in customers:
        account = selectors.loaded_credit_account(customer=customer)
        balance = account.balance if account else Decimal("0")
        burn = stats.get(account.pk, BurnStats()) if account else BurnStats()
        outlook = forecast(
            balance=balance, threshold=customer.alert_threshold, stats=burn, today=today
        )
        rows.append(
            OverviewRow(customer, balance, bool(account and account.hard_limit), burn.net, outlook)
        )
    rows.sort(
        key=lambda r: urgency(
            balance=r.balance, threshold=r.customer.alert_threshold, outlook=r.outlook
        )
    )
    return TemplateResponse(
        request,
        "credits/account_list.html",
        {
            "rows": rows,
            "below_zero": sum(r.state == "below-zero" for r in rows),
            "below_threshold": sum(r.state == "below-threshold" for r in rows),
        },
    )


# ---------------------------------------------------------------------------------------------
# Notifications: the bell of every signed-in user.
# ---------------------------------------------------------------------------------------------


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = NotificationFilterSet(
        request.GET or None, selectors.notification_list(user=request.user)
    )
    unread_only = notifications.unread_only
    page: KeysetPage = keyset_page(
        notifications.qs, ordering=("-created_at", "-id"), cursor=request.GET.get("after")
    )
    return TemplateResponse(
        request,
        "credits/notification_list.html",
        {"page": page, "unread_only": unread_only, "query": "unread=1" if unread_only else ""},
    )


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the form was on, if it is a path of this site; else to the list."""
    return _local_next(request) or redirect("credits:notification_list")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's own notifications read; anyone else's is a 404."""
    notification = get_visible_or_404(
        request.user, selectors.notification_list(user=request.user), pk=pk
    )
    services.notification_read(user=request.user, notification=notification)
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_read_all(user=request.user)
    if count:
        messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return _back(request)


@login_required
def notification_menu(request: HttpRequest) -> HttpResponse:
    """htmx: the bell's dropdown, drawn when opened: latest notifications and, for a customer
    administrator with Credit Management on, the balance."""
    notifications = list(selectors.notification_list(user=request.user)[:MENU_SIZE])
    account = None
    if not is_msp_staff(request.user):
        account = selectors.administered_credit_account_get(user=request.user)
    return TemplateResponse(
        request,
        "components/notification_bell.html#menu",
        {"notifications": notifications, "account": account, "next": request.GET.get("next", "")},
    )
