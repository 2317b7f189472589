"""1 000 approved requests pushed as work orders through a real Celery worker to the AR simulator,
which loses the answer of every 20th create (5 %): work orders/s beside the simulator's own create
rate from a bare client in the same run, duplicates, lost requests, credit drift, and the time
from a technician's status change to the portal showing it (R4).

The requests are real: each is submitted through `request_submit` (approved at submission, its
credits debited, its push written in the same transaction) while no worker runs, so the pushes
wait in Redis; then one worker in a child process takes them, started as docker-compose.yml
starts it (`celery -A msp_portal worker`: the prefork pool, one process per CPU). Each task sends
its own push and the others due with it (FULFILMENT_PUSH_BATCH, claimed together, one ITSM
session per process). A lost answer leaves its push waiting; the task sends it again
(FULFILMENT_BACKOFF_SECONDS=0.2) and that attempt finds the ticket by its reference. The bare
client is `ARRestSource.create_entry` on 8 threads, each with its own session, against the same
simulator, without the loss fault.

The status change: a technician completes one work order in the simulator while `fulfilment.poll`
runs every POLL seconds (what beat does every FULFILMENT_POLL_SECONDS); the figure is the time
until the request reads fulfilled. Its own database (BENCH_FULFILMENT_DB, `bench_fulfilment`; on
the server of DATABASE_URL) and Redis database (BENCH_FULFILMENT_BROKER, 8), both emptied first:
give each their own name when several people bench on one host.
    python -m bench fulfilment [--quick]
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

from bench.common import celery_bench_setup, celery_worker, row

DBNAME = os.environ.get("BENCH_FULFILMENT_DB", "bench_fulfilment")
BROKER = os.environ.get("BENCH_FULFILMENT_BROKER", "redis://127.0.0.1:6379/8")
REQUESTS_FULL, REQUESTS_QUICK = 1000, 200
THREADS = 8  # the bare client's
# The worker as deployed: docker-compose.yml's `celery -A msp_portal worker`, prefork, one
# process per CPU (Celery's default concurrency).
PROCESSES = os.cpu_count() or 1
POLL = 2.0
DEADLINE_SECONDS = 600


def _world(count: int):
    """A customer in MSP mode (the tests' make_tenant: an administrator, two end users, one
    service offered to everyone) whose service is a work order, with credits for every request."""
    from accounts.models import User
    from accounts.roles import CATALOG_ADMIN
    from accounts.services import user_role_grant
    from conftest import make_tenant
    from credits.services import credit_grant
    from customers.models import Customer
    from customers.services import customer_settings_update, msp_enable
    from fulfilment.models import FulfilmentMode, FulfilmentSettings
    from itsm_sync.models import CompanyType
    from msp_portal.selectors import msp_mode_enabled
    from tests.itsm_sync.factories import CompanyFactory

    staff = User.objects.filter(username="bench-catadmin").first()
    if staff is None:
        provider = CompanyFactory(name="Bench Provider", company_type=CompanyType.SERVICE_PROVIDER)
        staff = User.objects.create(username="bench-catadmin", company=provider)
        user_role_grant(actor=None, user=staff, role=CATALOG_ADMIN)
    if not msp_mode_enabled():
        msp_enable(actor=None)
    customer = Customer.objects.filter(company__name="Bench Customer").first()
    if customer is None:
        tenant = make_tenant(
            actor=staff, company_name="Bench Customer", prefix="bench", service_name="Bench laptop"
        )
        customer = tenant["customer"]
    from catalog.models import Service

    service = Service.objects.get(name="Bench laptop")
    service.price = Decimal("1")
    service.save(update_fields=["price"])
    customer_settings_update(
        actor=staff, customer=customer, credit_management=True, alert_threshold=None
    )
    credit_grant(actor=staff, customer=customer, amount=Decimal(count + 10), reason="Bench")
    FulfilmentSettings.objects.update_or_create(
        service=service, defaults={"mode": FulfilmentMode.WORK_ORDER}
    )
    return customer, service, User.objects.get(username="bench-eve")


def _bare_rate(sim, count: int) -> float:
    """Creates/s of ARRestSource.create_entry on THREADS threads, each its own session."""
    from itsm_sync.sources import ARRestSource, SourceConfig

    config = SourceConfig(url=sim.url, user="Demo", password="Demo", retries=0)
    per_thread = count // THREADS

    def work(n: int) -> None:
        with ARRestSource(config) as client:
            for i in range(per_thread):
                client.create_entry(
                    "WOI:WorkOrderInterface_Create",
                    {
                        "z1D_Action": "CREATE",
                        "Customer Company": "Bare",
                        "Location Company": "Bare",
                        "Summary": "Bare client",
                        "SRID": f"BARE-{n}-{i}",
                    },
                    answer=("Request ID", "WorkOrder_ID"),
                )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * THREADS / (time.perf_counter() - started)


def run(quick: bool = False) -> list[dict]:
    celery_bench_setup(DBNAME, BROKER)
    from celery import current_app
    from django.conf import settings
    from django.db.models import Max, Min, Sum

    from credits.models import CreditAccount, CreditEntry
    from entitlements.models import RequestStatus, ServiceRequest
    from entitlements.services import request_submit
    from fulfilment.models import PollCursor, PushState, TicketPush
    from itsm_sync.simulator import Simulator

    count = REQUESTS_QUICK if quick else REQUESTS_FULL
    batch = settings.FULFILMENT_PUSH_BATCH
    TicketPush.objects.all().delete()
    PollCursor.objects.all().delete()
    customer, service, eve = _world(count)
    sim = Simulator(companies=1, people=1, user="Demo", password="Demo")
    sim.start()
    try:
        bare = _bare_rate(sim, count)
        sim.reset(data=True)
        sim.set_faults(lose_create_every=20)
        first_request = ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first()
        submitted = time.perf_counter()
        for _ in range(count):
            request_submit(actor=eve, service=service, quantity=1, justification="Bench")
        submit_seconds = time.perf_counter() - submitted
        ours = TicketPush.objects.filter(request_id__gt=first_request or 0)
        with celery_worker(
            pool="prefork",
            concurrency=PROCESSES,
            ITSM_FILE="",
            ITSM_URL=sim.url,
            ITSM_USER="Demo",
            ITSM_PASSWORD="Demo",
            ITSM_RETRIES="0",
            ITSM_TIMEOUT="10",
            FULFILMENT_BACKOFF_SECONDS="0.2",
            FULFILMENT_MAX_ATTEMPTS="20",
        ):
            started = time.perf_counter()
            waiting = ours.exclude(state=PushState.CREATED)
            while waiting.exists() and time.perf_counter() - started < DEADLINE_SECONDS:
                time.sleep(0.2)
            not_created = waiting.count()
            # The worker's own pace, first push to last (its start-up is not the ITSM's).
            span = ours.aggregate(first=Min("pushed_at"), last=Max("pushed_at"))
            elapsed = max((span["last"] - span["first"]).total_seconds(), 1e-6)
            rate = (count - 1) / elapsed

            # A technician completes one; beat's poll runs every POLL seconds meanwhile.
            sim.set_faults(lose_create_every=0)
            # The first poll reads every ticket once (each request goes in progress, its people
            # told); the figure is about a change read afterwards.
            current_app.send_task("fulfilment.poll")
            fresh = ServiceRequest.objects.filter(pk__in=ours.values("request_id")).exclude(
                status=RequestStatus.IN_PROGRESS
            )
            read_all = time.perf_counter()
            while fresh.exists() and time.perf_counter() - read_all < DEADLINE_SECONDS:
                time.sleep(0.5)
            first_poll = time.perf_counter() - read_all
            push = ours.order_by("pk").first()
            sim.ticket_act(push.number, status="Completed")
            changed = time.perf_counter()
            request = ServiceRequest.objects.filter(pk=push.request_id)
            next_poll = changed
            while request.values_list("status", flat=True).get() != RequestStatus.FULFILLED:
                if time.perf_counter() >= next_poll:
                    current_app.send_task("fulfilment.poll")
                    next_poll += POLL
                if time.perf_counter() - changed > 60:
                    break
                time.sleep(0.05)
            latency = time.perf_counter() - changed
        references = Counter(t.get("SRID") for t in sim.tickets())
        lost_answers = sim.stats()["lost_create_responses"]
    finally:
        sim.stop()

    duplicates = sum(n - 1 for n in references.values() if n > 1)
    pushed = sum(1 for ref, _n in references.items() if ref and ref.startswith("MSP-PORTAL-"))
    account = CreditAccount.objects.get(customer=customer)
    ledger = CreditEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    drift = abs(account.balance - ledger)
    return [
        row(
            f"work orders/s (worker as deployed: prefork ×{PROCESSES}; batch {batch}), "
            f"{count} requests, 5 % lost answers",
            rate,
            "WO/s",
            target="≥ 70 % of the bare client",
            reference=bare,
            ratio=rate / bare,
            ok=rate >= 0.7 * bare,
        ),
        row(f"bare client creates/s ({THREADS} threads), same simulator", bare, "creates/s"),
        row(f"seconds to submit {count} requests (push written with each)", submit_seconds, "s"),
        row("answers the simulator lost after a create", lost_answers, "creates", target="≈ 5 %"),
        row(
            f"duplicate work orders (of {pushed})",
            duplicates,
            "WOs",
            target="= 0",
            ok=duplicates == 0,
        ),
        row(
            f"requests without a work order (of {count})",
            not_created,
            "requests",
            target="= 0",
            ok=not_created == 0 and pushed == count,
        ),
        row(
            "credit drift (balance vs ledger)", float(drift), "credits", target="= 0", ok=drift == 0
        ),
        row(f"seconds of the first poll reading {count} new work orders", first_poll, "s"),
        row(
            f"seconds from a technician's change to the portal (poll every {POLL:g} s)",
            latency,
            "s",
            target=f"≤ one poll interval ({POLL:g} s) + a poll",
            ok=latency <= 2 * POLL,
        ),
    ]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
