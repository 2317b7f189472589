"""Drill: the Celery worker creating a work order is killed (SIGKILL) while the ITSM makes it.

The attempt was counted and the push claimed (committed) before the create was sent, so the
killed worker leaves a push "sending" whose claim runs out; the next poll sends it again, the
new worker looks the ticket up by its reference first, finds the one the killed attempt made,
and records it: one work order, never two (R4).
"""

import time

import pytest
from celery import Celery

from entitlements.services import request_submit
from fulfilment.models import FulfilmentSettings, PushState, TicketPush
from fulfilment.services import ticket_push_queue
from tests.drills.conftest import wait_for
from tests.fulfilment import conftest as fulfilment
from tests.itsm_sync.sync_helpers import PASSWORD, USER

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]

sim = fulfilment.sim
work_orders = fulfilment.work_orders
LEASE = 4


def _send(broker_url: str, name: str, *args) -> None:
    app = Celery("drill", broker=broker_url, set_as_current=False)
    try:
        app.send_task(name, args=list(args))
    finally:
        app.close()


def test_a_push_whose_worker_is_killed_mid_create_makes_one_work_order(
    sim, work_orders, own_redis, workers, monkeypatch
):
    # Made in the portal; its push written as the outbox does, sent to the drill's broker below
    # (the suite itself runs tasks eagerly).
    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(mode="portal")
    request = request_submit(
        actor=work_orders["eve"], service=work_orders["service"], quantity=1, justification="x"
    )
    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(mode="work_order")
    monkeypatch.setattr("fulfilment.services.push.enqueue_on_commit", lambda *a, **k: None)
    push = ticket_push_queue(request=request)
    sim.set_faults(create_delay_ms=3000)
    broker = own_redis.url(1)
    env = {
        "ITSM_FILE": "",
        "ITSM_URL": sim.url,
        "ITSM_USER": USER,
        "ITSM_PASSWORD": PASSWORD,
        "ITSM_RETRIES": "0",
        "FULFILMENT_PUSH_LEASE_SECONDS": str(LEASE),
        "FULFILMENT_BACKOFF_SECONDS": "0",
    }
    first = workers(broker, **env)
    _send(broker, "fulfilment.push", push.pk)

    sending = TicketPush.objects.filter(pk=push.pk, state=PushState.SENDING)
    wait_for(sending.first, timeout=30, what="the push to be claimed", details=first.tail)
    time.sleep(0.5)  # the create is on its way, the simulator sleeping before it makes it
    first.kill()
    wait_for(
        lambda: sim.stats()["tickets_created"] == 1,
        timeout=10,
        what="the simulator to make the work order the killed worker asked for",
    )
    assert TicketPush.objects.get(pk=push.pk).state == PushState.SENDING
    sim.set_faults(create_delay_ms=0)

    time.sleep(LEASE + 1)  # the killed worker's claim runs out
    second = workers(broker, **env)
    _send(broker, "fulfilment.poll")

    created = TicketPush.objects.filter(pk=push.pk, state=PushState.CREATED)
    done = wait_for(
        created.first, timeout=40, what="the push to be sent again", details=second.tail
    )

    [ticket] = sim.tickets()
    assert ticket["number"] == done.number
    assert done.attempts == 2
    assert sim.stats()["tickets_created"] == 1
