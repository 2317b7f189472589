"""Drill: Redis, the Celery broker, is down while an end user submits a request.

The request debits credits past the alert threshold, which enqueues the alert after commit.
With the broker down the request is still saved and the user lands on My requests as usual;
the alert waits as a PendingTask, and once Redis is back the periodic flush sends it to a real
worker, which delivers it exactly once.
"""

import re
import time
from decimal import Decimal

import pytest
from django.urls import reverse

from credits.models import CreditAccount, CreditEntry
from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.models import ServiceRequest
from msp_portal import outbox, tasks
from msp_portal.celery import app
from msp_portal.models import Notification, PendingTask
from tests.drills.conftest import wait_for

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]

ALERT = "below the alert threshold"


def _reset_broker_connections() -> None:
    # The app connects lazily and keeps its pools: drop them so the next send uses the new URL.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(own_redis):
    """This process sends its tasks through the drill's own Redis instead of running them eagerly."""
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=own_redis.url(2), task_always_eager=False)
    _reset_broker_connections()
    try:
        yield own_redis
    finally:
        app.conf.update(saved)
        _reset_broker_connections()


@pytest.fixture
def low_balance(tenant_a, catalog_admin):
    """55 credits with an alert at 50: one Laptop (10 credits) crosses the threshold."""
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin,
        customer=customer,
        credit_management=True,
        alert_threshold=Decimal("50"),
    )
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("55"), reason="PO 7")
    return customer


def test_a_request_made_while_redis_is_down_is_saved_and_its_alert_is_delivered_once_redis_is_back(
    client, tenant_a, catalog_admin, low_balance, broker, workers
):
    broker.stop()
    client.force_login(tenant_a["eve"])
    started = time.monotonic()
    response = client.post(
        reverse("portal:request_create", args=[tenant_a["service"].pk]),
        {"quantity": "1", "justification": "New hire"},
        follow=True,
    )
    answered_in = time.monotonic() - started

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("portal:my_requests")
    request = ServiceRequest.objects.get()
    assert f"Request #{request.pk} for 1 × Laptop is submitted" in response.content.decode()
    assert answered_in < 10, "an unreachable broker must not keep the user waiting"
    assert CreditAccount.objects.get(customer=low_balance).balance == Decimal("45")
    debit = CreditEntry.objects.get(request_id=request.pk)
    kept = PendingTask.objects.get()
    assert (kept.task, kept.args, kept.kwargs) == (
        "credits.send_balance_alert",
        [debit.pk, "threshold"],
        {},
    )
    assert not Notification.objects.exists()

    broker.start()
    worker = workers(broker.url(2))
    # What beat does every minute, sent by hand so as not to wait for it.
    tasks.flush_pending_tasks.delay()

    delivered = re.compile(r"Task credits\.send_balance_alert\[[-\w]+\] succeeded")
    wait_for(
        lambda: delivered.search(worker.output()),
        timeout=40,
        what="the kept alert to be delivered",
        details=worker.tail,
    )
    assert not PendingTask.objects.exists()
    # Nothing is left to send, so nothing can be delivered twice.
    assert outbox.pending_tasks_flush() == 0
    queue = broker.client(2)
    assert queue.llen("celery") == 0
    assert worker.output().count("Task credits.send_balance_alert[") == 2  # received, succeeded
    alerts = Notification.objects.filter(title__contains=ALERT)
    assert sorted(alerts.values_list("user_id", flat=True)) == sorted(
        [tenant_a["admin"].pk, catalog_admin.pk]
    )
    assert "(45.00)" in alerts.first().title
