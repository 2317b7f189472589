"""1 000 concurrent debits against one customer: nothing lost, nothing doubled (PostgreSQL)."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from credits.models import CreditAccount, CreditEntry
from credits.services import InsufficientCredits, credit_debit, credit_grant, credit_hard_limit_set
from customers.services import customer_settings_update

DEBITS, THREADS = 1000, 32


@pytest.fixture
def customer(tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    return customer


def _debit_all(customer) -> list[bool]:
    def debit(i: int) -> bool:
        try:
            credit_debit(
                actor=None,
                customer=customer,
                amount=Decimal("1"),
                reason="load",
                idempotency_key=f"load:{i}",
            )
            return True
        except InsufficientCredits:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(debit, range(DEBITS)))


@pytest.mark.django_db(transaction=True)
def test_a_hard_limited_balance_of_800_serves_exactly_800_debits(customer, catalog_admin):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("800"), reason="load")
    credit_hard_limit_set(actor=catalog_admin, customer=customer, hard_limit=True)
    results = _debit_all(customer)
    assert results.count(True) == 800
    assert CreditAccount.objects.get(customer=customer).balance == 0
    debits = CreditEntry.objects.filter(account__customer=customer, kind="debit")
    assert debits.count() == 800
    assert sum(debits.values_list("amount", flat=True)) == -800


@pytest.mark.django_db(transaction=True)
def test_without_the_hard_limit_every_debit_lands_and_none_is_lost(customer, catalog_admin):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("800"), reason="load")
    results = _debit_all(customer)
    assert all(results)
    assert CreditAccount.objects.get(customer=customer).balance == -200
    entries = CreditEntry.objects.filter(account__customer=customer)
    assert sum(entries.values_list("amount", flat=True)) == -200
    assert sorted(entries.filter(kind="debit").values_list("balance_after", flat=True)) == [
        Decimal(b) for b in range(-200, 800)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_same_key_from_many_threads_debits_once(customer):
    def debit(_: int) -> int:
        try:
            return credit_debit(
                actor=None,
                customer=customer,
                amount=Decimal("3"),
                reason="x",
                idempotency_key="once",
            ).pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = set(pool.map(debit, range(64)))
    assert len(ids) == 1
    assert CreditAccount.objects.get(customer=customer).balance == -3
