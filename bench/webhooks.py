"""1 000 webhook events through a real Celery worker to a receiver that fails 10 % of POSTs
(A2): every message must arrive exactly once (0 lost, 0 duplicated), each verified with the
`standardwebhooks` library.

The events are real: each is one `sync_run_finished` signal, whose receiver writes the delivery
in its own transaction and enqueues `webhooks.deliver` on commit, to Redis. A worker in a child
process (threads pool) sends them to a threaded HTTP server on loopback that answers 500 to
every tenth POST; a refused delivery is retried with backoff (WEBHOOK_RETRY_BASE_SECONDS=0.2 in
the worker) by the task itself. After the queue drains, the sweep (what beat runs every minute)
is run until nothing is waiting. "Duplicated" counts a message id the receiver accepted twice.

Runs in its own PostgreSQL database `bench_webhooks` and Redis database 9 (override with
BENCH_WEBHOOKS_BROKER):
    python -m bench.webhooks [--quick]
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

from bench.common import celery_bench_setup, celery_worker, row

DBNAME = "bench_webhooks"
BROKER = os.environ.get("BENCH_WEBHOOKS_BROKER", "redis://127.0.0.1:6379/9")
EVENTS_FULL, EVENTS_QUICK = 1000, 200
DEADLINE_SECONDS = 600


def run(quick: bool = False) -> list[dict]:
    celery_bench_setup(DBNAME, BROKER)
    from standardwebhooks import Webhook

    from itsm_sync.models import SyncRun
    from itsm_sync.signals import sync_run_finished
    from tests.webhooks.receiver import Receiver
    from webhooks.models import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
    from webhooks.services import deliveries_sweep, secret_new

    events = EVENTS_QUICK if quick else EVENTS_FULL
    WebhookDelivery.objects.all().delete()
    WebhookEndpoint.objects.all().delete()

    receiver = Receiver(answer=lambda n: 500 if n % 10 == 0 else 200).start()
    endpoint = WebhookEndpoint.objects.create(
        url=receiver.url, events=[Event.SYNC_RUN_FINISHED], secret=secret_new()
    )
    # A companies run: a people run would also make the worker re-evaluate end-user filters.
    run_row = SyncRun.objects.create(kind="companies", status="succeeded")
    worker = celery_worker(
        pool="threads",
        concurrency=8,
        WEBHOOK_RETRY_BASE_SECONDS="0.2",
        WEBHOOK_RETRY_MAX_SECONDS="2",
        WEBHOOK_MAX_ATTEMPTS="20",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",  # the receiver listens on loopback
    )
    try:
        with worker:
            started = time.perf_counter()
            for _ in range(events):
                sync_run_finished.send(sender=SyncRun, run=run_row)
            queued = time.perf_counter() - started
            waiting = WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED)
            while waiting.exists() and time.perf_counter() - started < DEADLINE_SECONDS:
                time.sleep(0.5)
                if time.perf_counter() - started > 60:
                    deliveries_sweep()  # what beat does every minute, for anything lost
            elapsed = time.perf_counter() - started
    finally:
        receiver.stop()

    ids = set(WebhookDelivery.objects.values_list("msg_id", flat=True))
    accepted = Counter()
    unverified = 0
    for post in receiver.accepted:
        try:
            Webhook(endpoint.secret).verify(post.body, post.headers)
        except Exception:
            unverified += 1
        accepted[post.headers.get("webhook-id")] += 1
    lost = len(ids - set(accepted)) + (events - len(ids))
    duplicated = sum(n - 1 for n in accepted.values() if n > 1)
    refused = len(receiver.posts) - len(receiver.accepted)
    return [
        row(
            f"events delivered/s through one worker (8 threads), {events} events",
            events / elapsed,
            "events/s",
            target="(figure)",
        ),
        row(f"seconds to write and enqueue {events} events", queued, "s", target="(figure)"),
        row(
            f"POSTs the receiver refused (every 10th of {len(receiver.posts)})",
            refused,
            "POSTs",
            target="≈ 10 %",
            ok=refused > 0,
        ),
        row(f"messages lost (of {events})", lost, "messages", target="= 0", ok=lost == 0),
        row(
            f"messages accepted twice (of {events})",
            duplicated,
            "messages",
            target="= 0",
            ok=duplicated == 0,
        ),
        row(
            "deliveries failing verification", unverified, "POSTs", target="= 0", ok=unverified == 0
        ),
    ]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(r)
