"""The ledger's filters (a django-filter FilterSet over the account's scoped entries)."""

import csv
import io
from decimal import Decimal

import pytest
from django.db.models import F
from django.urls import reverse

from credits.models import CreditAccount, CreditEntry, EntryKind
from credits.services import account_for, credit_adjust, credit_grant
from customers.services import customer_settings_update

pytestmark = pytest.mark.django_db


def _credits_on(customer, actor) -> None:
    customer_settings_update(
        actor=actor, customer=customer, credit_management=True, alert_threshold=None
    )


def _grant(customer, actor, reason: str, key: str, request_id: int | None = None):
    if request_id is None:
        credit_grant(
            actor=actor,
            customer=customer,
            amount=Decimal("10"),
            reason=reason,
            idempotency_key=key,
        )
        return
    # An entry of a request, as a debit's refund writes it (entries are append-only).
    account = account_for(customer)
    CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + 10)
    account.refresh_from_db()
    CreditEntry.objects.create(
        account=account,
        kind=EntryKind.REFUND,
        amount=Decimal("10"),
        balance_after=account.balance,
        actor_label="test",
        reason=reason,
        idempotency_key=key,
        request_id=request_id,
    )


@pytest.fixture
def ledgers(tenant_a, tenant_b, catalog_admin):
    for tenant in (tenant_a, tenant_b):
        _credits_on(tenant["customer"], catalog_admin)
    a, b = tenant_a["customer"], tenant_b["customer"]
    _grant(a, catalog_admin, "A opening", "a1")
    _grant(a, catalog_admin, "A for request 7", "a2", request_id=7)
    _grant(b, catalog_admin, "B for request 8", "b1", request_id=8)
    credit_adjust(
        actor=catalog_admin, customer=a, amount=Decimal("-3"), reason="A fix", idempotency_key="a3"
    )
    return a, b


def _reasons(response) -> list[str]:
    return [e.reason for e in response.context["page"].rows]


def _export_reasons(response) -> list[str]:
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [r[5] for r in rows[1:]]


def test_a_kind_filter_narrows_the_page_and_the_export_alike(client, tenant_a, ledgers):
    a, _b = ledgers
    client.force_login(tenant_a["admin"])
    page = client.get(reverse("credits:account_detail", args=[a.pk]), {"kind": "adjustment"})
    assert _reasons(page) == ["A fix"]
    export = client.get(reverse("credits:ledger_export", args=[a.pk]), {"kind": "grant"})
    assert _export_reasons(export) == ["A opening"]


def test_another_customers_request_number_finds_none_of_its_entries(client, tenant_a, ledgers):
    a, _b = ledgers
    client.force_login(tenant_a["admin"])
    url = reverse("credits:account_detail", args=[a.pk])
    assert _reasons(client.get(url, {"request_id": "7"})) == ["A for request 7"]
    assert _reasons(client.get(url, {"request_id": "8"})) == []  # B's request: not in A's ledger
    export = client.get(reverse("credits:ledger_export", args=[a.pk]), {"request_id": "8"})
    assert _export_reasons(export) == []


@pytest.mark.parametrize("value", ["٧", "7.5", "99999999999999999999999", "0"])
def test_a_request_number_that_is_not_one_is_refused_beside_the_filter(
    client, tenant_a, ledgers, value
):
    a, _b = ledgers
    client.force_login(tenant_a["admin"])
    response = client.get(reverse("credits:account_detail", args=[a.pk]), {"request_id": value})
    assert response.status_code == 200
    assert len(response.context["page"].rows) == 3  # the refused filter narrows nothing
    assert response.context["filter_form"].errors["request_id"]
