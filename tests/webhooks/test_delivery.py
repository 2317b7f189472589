"""Deliveries reach a real HTTP receiver on loopback, signed (Standard Webhooks), through the
outbox: only after the change commits, only to the endpoints allowed to hear of it, retried with
backoff, never sent twice once delivered."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from credits.services import credit_adjust, credit_grant
from webhooks import services, tasks
from webhooks.models import DeliveryStatus, Event, WebhookDelivery

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def _below_zero(actor, customer, amount="-10"):
    return credit_adjust(actor=actor, customer=customer, amount=Decimal(amount), reason="Audit fix")


@pytest.fixture
def below_zero_sent(catalog_admin, tenant_a, credits_on, django_capture_on_commit_callbacks):
    """Sends the usual event: tenant A's balance goes below zero (-10) and the change commits."""

    def send():
        with django_capture_on_commit_callbacks(execute=True):
            return _below_zero(catalog_admin, tenant_a["customer"])

    return send


def _verified(receiver, endpoint) -> list[dict]:
    """Every accepted POST, verified with the endpoint's secret by the library."""
    return [Webhook(endpoint.secret).verify(post.body, post.headers) for post in receiver.accepted]


def test_a_balance_below_zero_arrives_signed_and_verifies(tenant_a, below_zero_sent, receiver):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    entry = below_zero_sent()

    [payload] = _verified(receiver, endpoint)
    assert payload["type"] == "credits.below_zero"
    assert payload["data"]["customer"] == {"id": tenant_a["customer"].pk, "name": "Acme Corp"}
    assert payload["data"]["balance"] == "-10.00"
    assert payload["data"]["entry"]["id"] == entry.pk
    post = receiver.accepted[0]
    delivery = WebhookDelivery.objects.get()
    assert post.headers["webhook-id"] == delivery.msg_id
    assert post.headers["content-type"] == "application/json"
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 204
    assert delivery.delivered_at is not None


def test_a_delivery_does_not_verify_with_another_secret(tenant_a, below_zero_sent, receiver):
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    below_zero_sent()
    post = receiver.accepted[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(services.secret_new()).verify(post.body, post.headers)
    tampered = post.body.replace(b"-10.00", b"10.00")
    with pytest.raises(WebhookVerificationError):
        Webhook(WebhookDelivery.objects.get().endpoint.secret).verify(tampered, post.headers)


def test_a_low_balance_is_its_own_event(
    catalog_admin, tenant_a, credits_on, receiver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpointFactory(
        customer=tenant_a["customer"], url=receiver.url, events=[Event.CREDITS_LOW_BALANCE]
    )
    credit_grant(
        actor=catalog_admin, customer=tenant_a["customer"], amount=Decimal(100), reason="PO"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _below_zero(catalog_admin, tenant_a["customer"], amount="-60")
        _below_zero(catalog_admin, tenant_a["customer"], amount="-60")  # below zero: not chosen

    [payload] = _verified(receiver, endpoint)
    assert payload["type"] == "credits.low_balance"
    assert payload["data"]["balance"] == "40.00"
    assert payload["data"]["alert_threshold"] == "50.00"


def test_a_rolled_back_change_sends_nothing_and_leaves_no_delivery(
    catalog_admin, tenant_a, credits_on, receiver, django_capture_on_commit_callbacks
):
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    WebhookEndpointFactory(customer=None, url=receiver.url)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _below_zero(catalog_admin, tenant_a["customer"])
        assert WebhookDelivery.objects.count() == 2  # written with the change...
        raise RuntimeError("the page failed after the debit")
    assert WebhookDelivery.objects.count() == 0  # ...and rolled back with it
    assert callbacks == []
    assert receiver.posts == []


def test_nothing_is_sent_before_the_change_commits(
    catalog_admin, tenant_a, credits_on, receiver, django_capture_on_commit_callbacks
):
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _below_zero(catalog_admin, tenant_a["customer"])
    assert receiver.posts == []
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    for callback in callbacks:
        callback()
    assert len(receiver.accepted) == 1


def test_a_customers_endpoint_never_gets_another_customers_event(
    catalog_admin,
    tenant_a,
    tenant_b,
    credits_on,
    receiver_factory,
    django_capture_on_commit_callbacks,
):
    a_receiver, b_receiver, wide_receiver = (
        receiver_factory(),
        receiver_factory(),
        receiver_factory(),
    )
    WebhookEndpointFactory(customer=tenant_a["customer"], url=a_receiver.url)
    WebhookEndpointFactory(customer=tenant_b["customer"], url=b_receiver.url)
    wide = WebhookEndpointFactory(customer=None, url=wide_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        _below_zero(catalog_admin, tenant_a["customer"])
        _below_zero(catalog_admin, tenant_b["customer"])
        _below_zero(catalog_admin, tenant_a["customer"], amount="-5")  # already below: no event

    a_customers = {json.loads(p.body)["data"]["customer"]["id"] for p in a_receiver.accepted}
    b_customers = {json.loads(p.body)["data"]["customer"]["id"] for p in b_receiver.accepted}
    assert a_customers == {tenant_a["customer"].pk}
    assert b_customers == {tenant_b["customer"].pk}
    assert len(a_receiver.accepted) == len(b_receiver.accepted) == 1
    # The catalog-wide endpoint hears of both customers.
    assert sorted(p["data"]["customer"]["name"] for p in _verified(wide_receiver, wide)) == [
        "Acme Corp",
        "Bright Media",
    ]


def test_an_endpoint_gets_only_the_events_it_chose_and_none_while_switched_off(
    tenant_a, below_zero_sent, receiver
):
    WebhookEndpointFactory(
        customer=tenant_a["customer"], url=receiver.url, events=[Event.REQUEST_CREATED]
    )
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url, active=False)
    below_zero_sent()
    assert receiver.posts == []
    assert not WebhookDelivery.objects.exists()


def test_a_finished_sync_run_goes_to_catalog_wide_endpoints_only(
    tenant_a, receiver_factory, django_capture_on_commit_callbacks
):
    from itsm_sync.models import SyncRun
    from itsm_sync.signals import sync_run_finished

    wide_receiver, a_receiver = receiver_factory(), receiver_factory()
    wide = WebhookEndpointFactory(url=wide_receiver.url, events=[Event.SYNC_RUN_FINISHED])
    # A customer's endpoint can't choose the event (the service refuses it); planted anyway.
    WebhookEndpointFactory(
        customer=tenant_a["customer"], url=a_receiver.url, events=[Event.SYNC_RUN_FINISHED]
    )
    run = SyncRun.objects.create(kind="people", status="succeeded", seen=3)
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_finished.send(sender=SyncRun, run=run)

    [payload] = _verified(wide_receiver, wide)
    assert payload["type"] == "sync_run.finished"
    assert payload["data"]["run"]["id"] == run.pk
    assert payload["data"]["run"]["seen"] == 3
    assert a_receiver.posts == []


def test_failures_are_retried_with_doubling_waits_until_the_receiver_answers(
    settings,
    tenant_a,
    below_zero_sent,
    receiver_factory,
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.3
    receiver = receiver_factory(answer=lambda n: 503 if n <= 2 else 200)
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    below_zero_sent()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    assert "answered 503" in delivery.last_error
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=0.3) <= first_wait < timedelta(seconds=5)
    # Before it is due, a redelivered task or an early sweep sends nothing.
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.posts) == 1

    _wait_until(delivery.next_attempt_at)
    assert tasks.deliver(delivery.pk) == "retry"
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=0.6) <= second_wait < timedelta(seconds=5)

    _wait_until(delivery.next_attempt_at)
    assert tasks.deliver(delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, "")
    ids = {p.headers["webhook-id"] for p in receiver.posts}
    assert ids == {delivery.msg_id}  # one message, three attempts
    assert len(_verified(receiver, endpoint)) == 1


def test_it_gives_up_after_the_configured_attempts(
    settings,
    tenant_a,
    below_zero_sent,
    receiver_factory,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.1
    receiver = receiver_factory(answer=lambda n: 500)
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    below_zero_sent()
    delivery = WebhookDelivery.objects.get()
    _wait_until(delivery.next_attempt_at)
    assert tasks.deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    _wait_until(timezone.now() + timedelta(seconds=0.2))
    assert tasks.deliver(delivery.pk) == "skipped"
    assert len(receiver.posts) == 2


def test_an_unreachable_or_slow_receiver_is_a_failure_that_says_what_to_do(
    settings,
    tenant_a,
    below_zero_sent,
    receiver_factory,
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    slow = receiver_factory(delay=1.0)
    gone = receiver_factory()
    gone_url = gone.url
    gone.stop()
    WebhookEndpointFactory(customer=tenant_a["customer"], url=slow.url, description="slow")
    WebhookEndpointFactory(customer=tenant_a["customer"], url=gone_url, description="gone")
    below_zero_sent()
    by_name = {
        d.endpoint.description: d for d in WebhookDelivery.objects.select_related("endpoint")
    }
    assert by_name["slow"].status == by_name["gone"].status == "pending"
    assert "No answer within 0.3 s" in by_name["slow"].last_error
    assert "answer at once" in by_name["slow"].last_error
    assert "Could not reach the receiver" in by_name["gone"].last_error
    assert by_name["gone"].last_status_code is None


def test_a_delivered_message_is_never_sent_again_by_a_retry_or_the_sweep(
    settings, tenant_a, below_zero_sent, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    below_zero_sent()
    delivery = WebhookDelivery.objects.get()
    for _ in range(3):  # a redelivered task, twice, then the sweep
        assert tasks.deliver(delivery.pk) == "skipped"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_sweep() == 0
    assert len(receiver.posts) == 1


def test_the_claim_lets_one_attempt_through(
    catalog_admin, tenant_a, credits_on, receiver, django_capture_on_commit_callbacks
):
    """Two workers holding the same due delivery: the conditional UPDATE lets exactly one send."""
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    with django_capture_on_commit_callbacks(execute=False):
        _below_zero(catalog_admin, tenant_a["customer"])
    delivery = WebhookDelivery.objects.get()
    # The first worker has claimed it (as delivery_attempt's UPDATE does) and is sending.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert receiver.posts == []


def test_the_sweep_sends_due_retries_and_attempts_cut_off_by_a_stopped_worker(
    settings, catalog_admin, tenant_a, credits_on, receiver, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    settings.WEBHOOK_STALE_SENDING_SECONDS = 60
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    with django_capture_on_commit_callbacks(execute=False):
        _below_zero(catalog_admin, tenant_a["customer"])
        _below_zero(catalog_admin, tenant_a["customer"], amount="20")
        _below_zero(catalog_admin, tenant_a["customer"], amount="-30")
    _lost, cut_off = WebhookDelivery.objects.order_by("id")
    long_ago = timezone.now() - timedelta(minutes=5)
    WebhookDelivery.objects.filter(pk=cut_off.pk).update(
        status=DeliveryStatus.SENDING, attempts=1, last_attempt_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep() == 2
    assert len(_verified(receiver, endpoint)) == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert WebhookDelivery.objects.get(pk=cut_off.pk).attempts == 2


def test_resend_sends_the_same_message_again(
    tenant_a, below_zero_sent, receiver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    below_zero_sent()
    delivery = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_resend(actor=tenant_a["admin"], delivery=delivery)
    first, second = _verified(receiver, endpoint)
    assert first == second
    assert [p.headers["webhook-id"] for p in receiver.accepted] == [delivery.msg_id] * 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    from msp_portal.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="webhooks.delivery_resent", actor=tenant_a["admin"]
    ).exists()


def test_retry_delay_doubles_up_to_the_cap(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 600
    waits = [services.retry_delay(n).total_seconds() for n in range(1, 7)]
    assert waits == [30, 60, 120, 240, 480, 600]


def _wait_until(moment) -> None:
    while timezone.now() < moment:
        time.sleep(0.05)


def test_the_sweep_forgets_finished_deliveries_past_the_log_days_but_never_waiting_ones(
    settings, tenant_a
):
    from .factories import WebhookDeliveryFactory

    settings.WEBHOOK_LOG_DAYS = 30
    endpoint = WebhookEndpointFactory(customer=tenant_a["customer"])
    long_ago = timezone.now() - timedelta(days=31)
    old_delivered = WebhookDeliveryFactory(endpoint=endpoint, created_at=long_ago)
    old_failed = WebhookDeliveryFactory(endpoint=endpoint, created_at=long_ago, status="failed")
    old_waiting = WebhookDeliveryFactory(
        endpoint=endpoint,
        created_at=long_ago,
        status="pending",
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    recent = WebhookDeliveryFactory(endpoint=endpoint)
    services.deliveries_sweep()
    kept = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert kept == {old_waiting.pk, recent.pk}
    assert not {old_delivered.pk, old_failed.pk} & kept


def test_a_long_wait_is_left_to_the_sweep_instead_of_a_countdown_task(
    settings,
    catalog_admin,
    tenant_a,
    credits_on,
    receiver_factory,
    django_capture_on_commit_callbacks,
):
    from unittest import mock

    settings.WEBHOOK_RETRY_BASE_SECONDS = 3600
    receiver = receiver_factory(answer=lambda n: 500)
    WebhookEndpointFactory(customer=tenant_a["customer"], url=receiver.url)
    with (
        mock.patch.object(tasks.deliver, "apply_async", wraps=tasks.deliver.apply_async) as sent,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _below_zero(catalog_admin, tenant_a["customer"])
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    assert sent.call_count == 1  # the first send only; no countdown task for the hour's wait
