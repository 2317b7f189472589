"""Debits per second on one hot credit account from 16 threads, and the drift they leave (K2).

Every debit is the real service (`credit_debit`): a conditional UPDATE of the account row plus
one ledger row, so the 16 threads queue on one row lock, which is the worst case. The reference
is the same service from one thread, measured in the same run, and the server's rate of durable
commits: a hot row serialises its writers on the row lock until each commit is flushed, so
that rate bounds any one account whatever the number of threads. Drift is the balance minus the
ledger sum, over the whole account, after the run: it must be 0, and no debit lost or doubled.

Runs in its own PostgreSQL database `bench_credits` (created and migrated on first use):
    python -m bench.credits [--quick]
"""

import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from bench.common import django_setup, row

DBNAME = "bench_credits"
THREADS = 16
TARGET = 300  # debits per second (issue 6)
DEBITS_FULL, DEBITS_QUICK = 4000, 800
SINGLE_FULL, SINGLE_QUICK = 500, 150


def _customer():
    from customers.models import Customer
    from itsm_sync.models import Company

    company, _ = Company.objects.get_or_create(
        entry_id="BENCHCREDITS",
        defaults={
            "name": "Bench Credits Corp",
            "company_type": "Customer",
            "status": "Enabled",
            "last_modified": "2025-01-01T00:00:00Z",
        },
    )
    customer, _ = Customer.objects.get_or_create(
        company=company, defaults={"credit_management": True}
    )
    return customer


def _debit(customer, key: str) -> None:
    from credits.services import credit_debit

    credit_debit(
        actor=None, customer=customer, amount=Decimal("1"), reason="bench", idempotency_key=key
    )


def _hammer(customer, run_id: str, debits: int, threads: int) -> float:
    """Seconds for `debits` debits spread over `threads` threads, each on its own connection."""
    from django.db import connections

    def worker(t: int) -> int:
        done = 0
        try:
            for i in range(t, debits, threads):
                _debit(customer, f"bench:{run_id}:{i}")
                done += 1
        finally:
            connections.close_all()
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = sum(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - started
    assert done == debits, f"{debits - done} debits did not run"
    return elapsed


def _drift(customer) -> tuple[Decimal, Decimal, Decimal]:
    from django.db.models import Sum

    from credits.models import CreditAccount, CreditEntry

    account = CreditAccount.objects.get(customer=customer)
    total = CreditEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
    return account.balance - total, account.balance, total


def _commits_per_second(n: int) -> float:
    """The ceiling of a hot row on this server: one durable commit (WAL flush) after another."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)")
        started = time.perf_counter()
        for _ in range(n):
            cursor.execute("INSERT INTO bench_commit_probe VALUES (1)")
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_commit_probe")
    return n / elapsed


def run(quick: bool = False) -> list[dict]:
    django_setup(DBNAME)
    from credits.models import CreditEntry
    from credits.services import account_for

    customer = _customer()
    account = account_for(customer)
    debits = DEBITS_QUICK if quick else DEBITS_FULL
    single = SINGLE_QUICK if quick else SINGLE_FULL
    run_id = uuid.uuid4().hex[:12]

    # Warm up connections and caches, then the single-thread reference.
    _hammer(customer, f"{run_id}w", 20, 1)
    one = _hammer(customer, f"{run_id}s", single, 1)
    balance_before = type(account).objects.get(pk=account.pk).balance
    many = _hammer(customer, f"{run_id}c", debits, THREADS)
    drift, balance_after, _ = _drift(customer)
    landed = CreditEntry.objects.filter(
        account=account, idempotency_key__startswith=f"bench:{run_id}c:"
    ).count()
    lost_or_doubled = abs(landed - debits) + abs((balance_before - balance_after) - debits)
    rate, reference = debits / many, single / one
    ceiling = _commits_per_second(single)
    return [
        row(
            f"debits/s, {THREADS} threads, one hot account ({debits} debits)",
            rate,
            "debits/s",
            target=f"≥ {TARGET}",
            reference=reference,
            ratio=rate / reference,
            ok=rate >= TARGET,
        ),
        row(
            "debits/s, 1 thread, same account (reference)",
            reference,
            "debits/s",
            target="(reference)",
        ),
        row(
            "durable commits/s, 1 thread, plain INSERT (the hot-row ceiling)",
            ceiling,
            "commits/s",
            target="(reference)",
            reference=ceiling,
            ratio=rate / ceiling,
        ),
        row(
            "drift: balance − ledger sum after the run",
            float(drift),
            "credits",
            target="= 0",
            ok=drift == 0,
        ),
        row(
            f"debits lost or doubled (of {debits})",
            int(lost_or_doubled),
            "debits",
            target="= 0",
            ok=lost_or_doubled == 0,
        ),
    ]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
