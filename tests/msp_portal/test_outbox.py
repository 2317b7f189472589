"""The outbox: follow-up tasks are sent after commit, kept when the broker is down, flushed later.

The suite runs Celery eagerly, where no broker can fail, so the broker's refusal is played by a
fake send that raises what kombu raises then; the real outage is drilled in tests/drills.
"""

from decimal import Decimal

import pytest
from celery import shared_task
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from credits.services import credit_grant
from customers.services import customer_settings_update
from entitlements.models import ServiceRequest
from entitlements.services import request_submit
from msp_portal import outbox, tasks
from msp_portal.models import PendingTask

pytestmark = pytest.mark.django_db

RAN: list[tuple] = []


@shared_task(name="tests.outbox_record")
def record(*args, **kwargs) -> None:
    RAN.append((args, kwargs))


@pytest.fixture(autouse=True)
def _clear_ran():
    RAN.clear()


@pytest.fixture
def broker_down(monkeypatch):
    """Every send fails the way kombu fails when Redis refuses the connection."""
    tried = []

    def refuse(name, args, kwargs):
        tried.append((name, args, kwargs))
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "_send", refuse)
    return tried


@pytest.fixture
def sent(monkeypatch):
    """A broker that takes every task; the list is what it received, in order."""
    received = []
    monkeypatch.setattr(outbox, "_send", lambda name, args, kwargs: received.append((name, args)))
    return received


def test_the_task_is_sent_once_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue_on_commit(record, 7, "zero", flag=True)
        assert RAN == []
    assert RAN == [((7, "zero"), {"flag": True})]
    assert not PendingTask.objects.exists()


def test_nothing_is_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue_on_commit(record, 1)
        raise RuntimeError("the use case failed")
    assert RAN == []
    assert not PendingTask.objects.exists()


def test_a_broker_outage_keeps_the_task_instead_of_failing(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue_on_commit(record, 7, "zero", flag=True)
    assert broker_down == [("tests.outbox_record", [7, "zero"], {"flag": True})]
    kept = PendingTask.objects.get()
    assert (kept.task, kept.args, kept.kwargs, kept.attempts) == (
        "tests.outbox_record",
        [7, "zero"],
        {"flag": True},
        1,
    )
    assert "Connection refused" in kept.last_error


def test_a_flush_sends_every_kept_task_oldest_first_and_deletes_it(sent):
    PendingTask.objects.create(task="tests.outbox_record", args=[1])
    PendingTask.objects.create(task="tests.outbox_record", args=[2], kwargs={"x": 1})
    assert outbox.pending_tasks_flush() == 2
    assert sent == [("tests.outbox_record", [1]), ("tests.outbox_record", [2])]
    assert not PendingTask.objects.exists()
    assert outbox.pending_tasks_flush() == 0
    assert len(sent) == 2


def test_a_flush_while_the_broker_is_still_down_keeps_everything_and_counts_the_attempt(
    broker_down,
):
    first = PendingTask.objects.create(task="tests.outbox_record", args=[1])
    PendingTask.objects.create(task="tests.outbox_record", args=[2])
    assert outbox.pending_tasks_flush() == 0
    # It stops at the first refusal instead of knocking on a dead broker once per row.
    assert len(broker_down) == 1
    first.refresh_from_db()
    assert first.attempts == 2 and "Connection refused" in first.last_error
    assert PendingTask.objects.count() == 2


def test_a_kept_task_of_an_unknown_name_does_not_hold_up_the_others():
    unknown = PendingTask.objects.create(task="tests.no_such_task", args=[])
    PendingTask.objects.create(task="tests.outbox_record", args=[3])
    assert outbox.pending_tasks_flush() == 1
    assert RAN == [((3,), {})]
    unknown.refresh_from_db()
    assert unknown.attempts == 2 and "NotRegistered" in unknown.last_error


def test_the_flush_is_a_periodic_task_that_runs_every_minute():
    PendingTask.objects.create(task="tests.outbox_record", args=[4])
    assert tasks.flush_pending_tasks.delay().get() == 1
    assert RAN == [((4,), {})]
    entry = settings.CELERY_BEAT_SCHEDULE["flush-pending-tasks"]
    assert (entry["task"], entry["schedule"]) == ("msp_portal.flush_pending_tasks", 60.0)


def test_a_balance_alert_raised_during_an_outage_is_kept_with_the_saved_request(
    tenant_a, catalog_admin, broker_down, django_capture_on_commit_callbacks
):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin,
        customer=customer,
        credit_management=True,
        alert_threshold=Decimal("50"),
    )
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("55"), reason="PO 1")
    with django_capture_on_commit_callbacks(execute=True):
        request = request_submit(
            actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="x"
        )
    kept = PendingTask.objects.get()
    assert kept.task == "credits.send_balance_alert"
    assert kept.args[1] == "threshold"
    assert ServiceRequest.objects.filter(pk=request.pk).exists()
