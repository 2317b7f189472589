"""Credits pages: the account page, writes from it, the overview, notifications and the bell."""

import csv
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditAccount, CreditEntry
from credits.services import account_for, credit_debit, credit_grant, credit_hard_limit_set
from customers.services import customer_settings_update
from msp_portal.models import AuditEvent, Notification
from tests.customers.factories import CustomerAdministratorFactory, CustomerFactory
from tests.itsm_sync.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin,
        customer=customer,
        credit_management=True,
        alert_threshold=Decimal("15"),
    )
    return customer


def _url(name: str, customer) -> str:
    return reverse(f"credits:{name}", kwargs={"pk": customer.pk})


def _entry(account: CreditAccount, *, kind: str, amount: str, days_ago: int = 0, **extra):
    """A ledger row written in the past, with the balance moved along, as the service would."""
    amount = Decimal(amount)
    CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    account.refresh_from_db()
    return CreditEntry.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        actor_label="test",
        reason=extra.pop("reason", f"{kind} {amount}"),
        idempotency_key=f"t:{CreditEntry.objects.count()}",
        created_at=timezone.now() - timedelta(days=days_ago, minutes=1),
        **extra,
    )


def _balance(customer) -> Decimal:
    return CreditAccount.objects.get(customer=customer).balance


# --- The account page -------------------------------------------------------------------------


def test_the_catalog_admin_sees_balance_history_chart_and_the_forms(
    client, catalog_admin, customer
):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("30"), reason="PO 7")
    client.force_login(catalog_admin)
    response = client.get(_url("account_detail", customer))
    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["balance"] == 30
    assert "PO 7" in content and 'data-testid="balance-chart"' in content
    assert 'data-testid="grant-form"' in content and 'data-testid="adjust-form"' in content
    assert "Too little history to forecast (0 debits in the last 30 days)." in content
    assert " style=" not in content and "<script>" not in content


def test_the_customer_admin_reads_their_own_account_without_forms(client, tenant_a, customer):
    credit_grant(actor=None, customer=customer, amount=Decimal("30"), reason="PO 7")
    client.force_login(tenant_a["admin"])
    response = client.get(_url("account_detail", customer))
    content = response.content.decode()
    assert response.status_code == 200 and "PO 7" in content
    assert "grant-form" not in content and "Switch the hard limit" not in content


def test_an_outsider_gets_404_and_an_end_user_403(client, tenant_a, tenant_b, customer):
    client.force_login(tenant_b["admin"])
    assert client.get(_url("account_detail", customer)).status_code == 404
    assert client.get(_url("ledger_export", customer)).status_code == 404
    client.force_login(tenant_a["eve"])
    assert client.get(_url("account_detail", customer)).status_code == 403


def test_an_administrator_moved_to_another_company_loses_the_page(client, tenant_a, customer):
    admin = tenant_a["admin"]
    admin.company = CompanyFactory(name="Elsewhere")
    admin.save()
    client.force_login(admin)
    assert client.get(_url("account_detail", customer)).status_code in (403, 404)


def test_the_customer_admin_cannot_post_a_grant(client, tenant_a, customer):
    client.force_login(tenant_a["admin"])
    response = client.post(_url("grant", customer), {"grant-amount": "5", "grant-reason": "x"})
    assert response.status_code == 403
    assert not CreditEntry.objects.exists()


def test_with_credit_management_off_the_page_says_so(client, catalog_admin, tenant_a):
    client.force_login(catalog_admin)
    content = client.get(_url("account_detail", tenant_a["customer"])).content.decode()
    assert "Credit Management is off for Acme Corp" in content
    assert not CreditAccount.objects.exists()


def test_the_forecast_appears_with_enough_history(client, catalog_admin, customer):
    account = account_for(customer)
    _entry(account, kind="grant", amount="200", days_ago=20)
    for day in range(10, 0, -1):
        _entry(account, kind="debit", amount="-10", days_ago=day)
    _entry(account, kind="refund", amount="10", days_ago=1)
    client.force_login(catalog_admin)
    outlook = client.get(_url("account_detail", customer)).context["outlook"]
    # 90 used (100 debited, 10 refunded) over the 11 days since the first debit.
    assert outlook.enough_history and outlook.per_day == Decimal("8.18")
    today = timezone.localdate()
    assert outlook.threshold_on == today + timedelta(days=11)  # (110 - 15) / 8.18 = 11.6
    assert outlook.zero_on == today + timedelta(days=13)  # 110 / 8.18 = 13.4


def test_the_chart_draws_at_most_the_last_200_entries(client, catalog_admin, customer):
    account = account_for(customer)
    for i in range(205):
        _entry(account, kind="grant", amount="1", reason=f"g{i}")
    client.force_login(catalog_admin)
    chart = client.get(_url("account_detail", customer)).context["chart"]
    assert chart.count == 200 and chart.low == 6 and chart.high == 205


# --- Ledger filters, pagination, export --------------------------------------------------------


@pytest.fixture
def ledger(customer):
    account = account_for(customer)
    _entry(account, kind="grant", amount="100", days_ago=9, reason="=HYPERLINK(evil)")
    _entry(account, kind="debit", amount="-20", days_ago=5, request_id=41, reason="Request #41")
    _entry(account, kind="debit", amount="-30", days_ago=2, request_id=42, reason="Request #42")
    _entry(account, kind="refund", amount="30", days_ago=1, request_id=42, reason="Refund #42")
    return account


def _reasons(response) -> list[str]:
    return [e.reason for e in response.context["page"].rows]


def test_the_ledger_filters_by_kind_day_range_and_request(client, catalog_admin, customer, ledger):
    client.force_login(catalog_admin)
    url = _url("account_detail", customer)
    assert _reasons(client.get(url, {"kind": "debit"})) == ["Request #42", "Request #41"]
    assert _reasons(client.get(url, {"request_id": "42"})) == ["Refund #42", "Request #42"]
    today = timezone.localdate()
    window = {"date_from": today - timedelta(days=6), "date_to": today - timedelta(days=2)}
    assert _reasons(client.get(url, window)) == ["Request #42", "Request #41"]
    response = client.get(url, {"kind": "nonsense", "request_id": "42"})
    assert _reasons(response) == ["Refund #42", "Request #42"]  # a bad field filters nothing


def test_the_ledger_filter_answers_htmx_with_the_table_only(
    client, catalog_admin, customer, ledger
):
    client.force_login(catalog_admin)
    response = client.get(
        _url("account_detail", customer),
        {"kind": "refund"},
        headers={"HX-Request": "true", "HX-Target": "ledger"},
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="ledger">')
    assert "Refund #42" in content and "Request #41" not in content


@pytest.mark.parametrize("n", [3, 120])
def test_the_ledger_page_query_count_does_not_grow(
    client, catalog_admin, customer, n, django_assert_max_num_queries
):
    account = account_for(customer)
    for i in range(n):
        _entry(account, kind="grant", amount="1", days_ago=i % 20)
    client.force_login(catalog_admin)
    with django_assert_max_num_queries(12):
        response = client.get(_url("account_detail", customer))
    assert len(response.context["page"].rows) == min(n, 50)
    if n > 50:
        cursor = response.context["page"].next_cursor
        with django_assert_max_num_queries(12):
            page2 = client.get(_url("account_detail", customer), {"after": cursor})
        assert len(page2.context["page"].rows) == 50
        assert not {e.pk for e in page2.context["page"].rows} & {
            e.pk for e in response.context["page"].rows
        }


def test_the_export_streams_the_filtered_ledger_with_formulas_defused(
    client, tenant_a, customer, ledger
):
    client.force_login(tenant_a["admin"])
    response = client.get(_url("ledger_export", customer), {"kind": "grant"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(b"".join(response.streaming_content).decode().splitlines()))
    assert rows[0][:4] == ["Date", "Kind", "Amount", "Balance after"]
    assert len(rows) == 2
    assert rows[1][1:4] == ["Grant", "100.00", "100.00"]
    assert rows[1][5] == "'=HYPERLINK(evil)"


def test_the_export_of_all_kinds_keeps_negative_amounts_as_numbers(
    client, catalog_admin, customer, ledger
):
    client.force_login(catalog_admin)
    response = client.get(_url("ledger_export", customer))
    rows = list(csv.reader(b"".join(response.streaming_content).decode().splitlines()))
    assert [r[2] for r in rows[1:]] == ["30.00", "-30.00", "-20.00", "100.00"]


# --- Writes: grant, adjust, hard limit ---------------------------------------------------------


def test_a_grant_from_the_page_lands_once_even_when_posted_twice(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    data = {"grant-amount": "30", "grant-reason": "PO 9", "grant-idempotency_key": "abc123"}
    response = client.post(_url("grant", customer), data, follow=True)
    assert "Granted 30.00 credits to Acme Corp. Balance: 30.00." in response.content.decode()
    client.post(_url("grant", customer), data)
    assert _balance(customer) == 30
    assert CreditEntry.objects.filter(kind="grant").count() == 1
    assert AuditEvent.objects.filter(action="credits.grant").count() == 1


def test_a_grant_without_a_reason_or_amount_is_a_form_error(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    response = client.post(_url("grant", customer), {"grant-amount": "-5", "grant-reason": ""})
    assert response.status_code == 200
    errors = response.context["grant_form"].errors
    assert "amount" in errors and "reason" in errors
    assert not CreditEntry.objects.exists()


def test_a_refused_grant_shows_the_services_message_and_writes_nothing(
    client, catalog_admin, tenant_a
):
    client.force_login(catalog_admin)
    response = client.post(
        _url("grant", tenant_a["customer"]), {"grant-amount": "5", "grant-reason": "x"}
    )
    assert "Credit Management is off for Acme Corp" in response.content.decode()
    assert (
        not CreditEntry.objects.exists()
        and not AuditEvent.objects.filter(action="credits.grant").exists()
    )


def test_an_adjustment_may_take_credits_away(client, catalog_admin, customer):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("30"), reason="PO")
    client.force_login(catalog_admin)
    response = client.post(
        _url("adjust", customer),
        {"adjust-amount": "-12.5", "adjust-reason": "double booking"},
        follow=True,
    )
    assert "Adjusted Acme Corp by -12.50. Balance: 17.50." in response.content.decode()
    assert _balance(customer) == Decimal("17.50")


def test_an_adjustment_of_zero_is_refused(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    response = client.post(_url("adjust", customer), {"adjust-amount": "0", "adjust-reason": "x"})
    assert "An adjustment of 0 changes nothing" in response.content.decode()
    assert not CreditEntry.objects.exists()


def test_the_hard_limit_keeps_an_adjustment_from_going_below_zero(client, catalog_admin, customer):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("10"), reason="PO")
    credit_hard_limit_set(actor=catalog_admin, customer=customer, hard_limit=True)
    client.force_login(catalog_admin)
    response = client.post(_url("adjust", customer), {"adjust-amount": "-11", "adjust-reason": "x"})
    assert "has 10.00 credits, and this needs 11.00" in response.content.decode()
    assert _balance(customer) == 10 and CreditEntry.objects.count() == 1


def test_the_hard_limit_switches_on_and_off(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    response = client.post(_url("hard_limit", customer), {"hard_limit": "on"}, follow=True)
    assert "Hard limit on" in response.content.decode()
    assert CreditAccount.objects.get(customer=customer).hard_limit
    client.post(_url("hard_limit", customer), {})
    assert not CreditAccount.objects.get(customer=customer).hard_limit


def test_the_hard_limit_cant_go_on_below_zero(client, catalog_admin, customer):
    credit_debit(
        actor=None, customer=customer, amount=Decimal("5"), reason="r", idempotency_key="k"
    )
    client.force_login(catalog_admin)
    response = client.post(_url("hard_limit", customer), {"hard_limit": "on"})
    assert "The balance is -5.00" in response.content.decode()
    assert not CreditAccount.objects.get(customer=customer).hard_limit


# --- The catalog administrators' overview ------------------------------------------------------


def test_the_overview_sorts_by_urgency(client, catalog_admin, msp_enabled):
    def make(name, balance, threshold=None, debits=0):
        customer = CustomerFactory(
            company=CompanyFactory(name=name), credit_management=True, alert_threshold=threshold
        )
        account = account_for(customer)
        _entry(account, kind="grant", amount=balance, days_ago=15)
        for day in range(debits):
            _entry(account, kind="debit", amount="-1", days_ago=day)
        return customer

    make("Calm", "1000", threshold=Decimal("10"))
    make("Soon", "60", threshold=Decimal("10"), debits=10)
    make("Later", "900", threshold=Decimal("10"), debits=10)
    make("Under", "5", threshold=Decimal("10"))
    make("Negative", "1", debits=2)
    CustomerFactory(company=CompanyFactory(name="Off"), credit_management=False)
    client.force_login(catalog_admin)
    response = client.get(reverse("credits:account_list"))
    names = [r.customer.company.name for r in response.context["rows"]]
    assert names == ["Negative", "Under", "Soon", "Later", "Calm"]
    assert response.context["below_zero"] == 1 and response.context["below_threshold"] == 1
    soon = response.context["rows"][2]
    assert soon.burn == 10 and soon.outlook.enough_history


@pytest.mark.parametrize("n", [3, 60])
def test_the_overview_query_count_does_not_grow(
    client, catalog_admin, msp_enabled, n, django_assert_max_num_queries
):
    for i in range(n):
        customer = CustomerFactory(credit_management=True, alert_threshold=Decimal("5"))
        account = account_for(customer)
        _entry(account, kind="grant", amount="50", days_ago=3)
        _entry(account, kind="debit", amount=f"-{i % 7 + 1}", days_ago=1)
    client.force_login(catalog_admin)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("credits:account_list"))
    assert len(response.context["rows"]) == n


def test_the_overview_is_for_catalog_admins_only(client, tenant_a):
    client.force_login(tenant_a["admin"])
    assert client.get(reverse("credits:account_list")).status_code == 403


# --- Notifications and the bell ----------------------------------------------------------------


@pytest.fixture
def alerts(tenant_a, tenant_b):
    mine = [
        Notification.objects.create(user=tenant_a["admin"], title=f"Alert {i}") for i in range(3)
    ]
    theirs = Notification.objects.create(user=tenant_b["admin"], title="Not yours")
    return mine, theirs


def test_the_list_shows_only_my_notifications(client, tenant_a, alerts):
    client.force_login(tenant_a["admin"])
    content = client.get(reverse("credits:notification_list")).content.decode()
    assert "Alert 0" in content and "Alert 2" in content and "Not yours" not in content


def test_marking_read_works_on_my_own_and_404s_on_anyone_elses(client, tenant_a, alerts):
    mine, theirs = alerts
    client.force_login(tenant_a["admin"])
    url = reverse("credits:notification_read", kwargs={"pk": mine[0].pk})
    response = client.post(url, {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("credits:notification_list")
    mine[0].refresh_from_db()
    assert mine[0].read_at is not None
    for hostile in ("0", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(url, {"next": hostile})
        assert response.url == reverse("credits:notification_list")
    back = client.post(url, {"next": "/credits/notifications/?unread=1"})
    assert back.url == "/credits/notifications/?unread=1"
    other = client.post(reverse("credits:notification_read", kwargs={"pk": theirs.pk}))
    assert other.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    unread = client.get(reverse("credits:notification_list"), {"unread": "1"}).context["page"]
    assert [n.title for n in unread.rows] == ["Alert 2", "Alert 1"]


def test_mark_all_read_touches_only_mine(client, tenant_a, alerts):
    _, theirs = alerts
    client.force_login(tenant_a["admin"])
    client.post(reverse("credits:notification_read_all"))
    assert not Notification.objects.filter(user=tenant_a["admin"], read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_bell_counts_my_unread_notifications_in_the_top_bar(client, tenant_a, alerts):
    client.force_login(tenant_a["admin"])
    content = client.get(reverse("credits:notification_list")).content.decode()
    assert 'data-testid="notification-count">3<' in content
    client.force_login(tenant_a["ed"])
    content = client.get(reverse("credits:notification_list")).content.decode()
    assert 'data-testid="notification-bell"' in content and "notification-count" not in content


def test_the_bell_menu_shows_the_balance_to_the_customer_admin(client, tenant_a, customer, alerts):
    credit_grant(actor=None, customer=customer, amount=Decimal("30"), reason="PO")
    client.force_login(tenant_a["admin"])
    content = client.get(
        reverse("credits:notification_menu"), headers={"HX-Request": "true"}
    ).content.decode()
    assert "Balance: 30.00" in content and "Alert 2" in content
    assert "<html" not in content
    client.force_login(tenant_a["eve"])
    content = client.get(reverse("credits:notification_menu")).content.decode()
    assert "Balance:" not in content and "No notifications yet." in content


def test_a_crossing_alert_reaches_the_bell(
    client, tenant_a, catalog_admin, customer, django_capture_on_commit_callbacks
):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("30"), reason="PO")
    with django_capture_on_commit_callbacks(execute=True):
        credit_debit(
            actor=None, customer=customer, amount=Decimal("20"), reason="r", idempotency_key="k"
        )
    client.force_login(tenant_a["admin"])
    content = client.get(reverse("credits:notification_list")).content.decode()
    assert 'data-testid="notification-count">1<' in content
    assert "below the alert threshold" in content


def test_the_overview_needs_msp_mode(client, catalog_admin):
    client.force_login(catalog_admin)
    assert client.get(reverse("credits:account_list")).status_code == 409


def test_a_second_customer_of_the_same_admin_company_is_not_mixed_in(client, msp_enabled):
    admin = CustomerAdministratorFactory(customer__credit_management=True)
    other = CustomerFactory(credit_management=True)
    client.force_login(admin.user)
    assert client.get(_url("account_detail", admin.customer)).status_code == 200
    assert client.get(_url("account_detail", other)).status_code == 404


def _list_row(client, name: str) -> str:
    content = client.get(reverse("customers:customer_list"), {"q": name}).content.decode()
    rows = content.split("<tbody>")[1]
    return rows[rows.index(name) :].split("</tr>")[0]


def test_the_customers_list_shows_each_balance_and_flags_a_low_one(client, catalog_admin, customer):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("1234.5"), reason="PO 1")
    client.force_login(catalog_admin)
    row = _list_row(client, customer.company.name)
    assert "1,234.50" in row and "Low balance" not in row

    credit_debit(
        actor=None,
        customer=customer,
        amount=Decimal("1230"),
        reason="Laptops",
        idempotency_key="r1",
    )
    row = _list_row(client, customer.company.name)
    assert "4.50" in row and "Low balance" in row  # below the alert threshold of 15


def test_the_customers_list_flags_a_balance_below_zero_and_says_off_without_credits(
    client, catalog_admin, customer
):
    credit_debit(
        actor=None, customer=customer, amount=Decimal("20"), reason="Laptop", idempotency_key="r2"
    )
    other = CustomerFactory(company=CompanyFactory(name="No Credits Ltd"))
    CustomerAdministratorFactory(customer=other)
    client.force_login(catalog_admin)
    row = _list_row(client, customer.company.name)
    assert "-20.00" in row and "Balance below zero" in row and "text-danger" in row
    row = _list_row(client, "No Credits Ltd")
    assert ">off<" in row and "Balance" not in row


def test_a_customer_with_credits_but_no_entry_yet_shows_zero(client, catalog_admin, customer):
    client.force_login(catalog_admin)
    row = _list_row(client, customer.company.name)
    assert "0.00" in row and "Low balance" in row  # 0 is below the threshold of 15
