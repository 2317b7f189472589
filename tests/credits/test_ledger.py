"""Rules K1–K5 at the service level: the ledger, debits and refunds, the hard limit, alerts."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction

from credits.models import CreditAccount, CreditEntry
from credits.services import (
    InsufficientCredits,
    credit_adjust,
    credit_debit,
    credit_grant,
    credit_hard_limit_set,
    credit_reconcile,
    credit_refund,
    crossings,
)
from customers.services import customer_settings_update
from entitlements.models import RequestStatus
from entitlements.services import request_submit, request_transition
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin,
        customer=customer,
        credit_management=True,
        alert_threshold=Decimal("50"),
    )
    return customer


def _sum(customer) -> Decimal:
    return sum(
        CreditEntry.objects.filter(account__customer=customer).values_list("amount", flat=True),
        Decimal("0"),
    )


def test_a_grant_raises_the_balance_and_is_audited(customer, catalog_admin):
    entry = credit_grant(
        actor=catalog_admin, customer=customer, amount=Decimal("100"), reason="PO 42"
    )
    assert entry.balance_after == 100 and entry.actor == catalog_admin and entry.reason == "PO 42"
    assert CreditAccount.objects.get(customer=customer).balance == 100 == _sum(customer)
    assert AuditEvent.objects.filter(action="credits.grant").exists()


def test_grants_need_credit_management_a_reason_and_the_role(tenant_a, customer, catalog_admin):
    with pytest.raises(DomainError, match="Say why"):
        credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("1"), reason=" ")
    with pytest.raises(DomainError, match="positive"):
        credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("-1"), reason="x")
    with pytest.raises(NotAllowed):
        credit_grant(actor=tenant_a["admin"], customer=customer, amount=Decimal("1"), reason="x")
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=False, alert_threshold=None
    )
    with pytest.raises(DomainError, match="Credit Management is off"):
        credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("1"), reason="x")


def test_the_balance_may_go_below_zero_without_the_hard_limit(customer):
    credit_debit(
        actor=None, customer=customer, amount=Decimal("30"), reason="r", idempotency_key="k1"
    )
    assert CreditAccount.objects.get(customer=customer).balance == -30 == _sum(customer)


def test_the_hard_limit_refuses_and_shows_the_balance(customer, catalog_admin):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("10"), reason="r")
    credit_hard_limit_set(actor=catalog_admin, customer=customer, hard_limit=True)
    with pytest.raises(InsufficientCredits, match=r"has 10\.00 credits, and this needs 25\.00"):
        credit_debit(
            actor=None, customer=customer, amount=Decimal("25"), reason="r", idempotency_key="k"
        )
    assert CreditAccount.objects.get(customer=customer).balance == 10 == _sum(customer)


def test_the_hard_limit_cannot_be_switched_on_below_zero(customer, catalog_admin):
    credit_debit(
        actor=None, customer=customer, amount=Decimal("5"), reason="r", idempotency_key="k"
    )
    with pytest.raises(DomainError, match=r"-5\.00"):
        credit_hard_limit_set(actor=catalog_admin, customer=customer, hard_limit=True)


def test_replaying_an_idempotency_key_never_debits_twice(customer):
    first = credit_debit(
        actor=None, customer=customer, amount=Decimal("5"), reason="r", idempotency_key="same"
    )
    again = credit_debit(
        actor=None, customer=customer, amount=Decimal("5"), reason="r", idempotency_key="same"
    )
    assert first.pk == again.pk
    assert CreditAccount.objects.get(customer=customer).balance == -5


def test_ledger_rows_are_append_only(customer, catalog_admin):
    entry = credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("5"), reason="r")
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic():
            CreditEntry.objects.filter(pk=entry.pk).update(amount=Decimal("500"))
        with pytest.raises(IntegrityError), transaction.atomic():
            CreditEntry.objects.filter(pk=entry.pk).delete()


def test_a_priced_request_debits_and_a_cancelled_one_is_refunded_once(
    tenant_a, customer, catalog_admin
):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("100"), reason="r")
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=3, justification="For the team"
    )
    assert CreditAccount.objects.get(customer=customer).balance == 70
    request_transition(actor=tenant_a["eve"], request=request, status=RequestStatus.CANCELLED)
    assert CreditAccount.objects.get(customer=customer).balance == 100
    credit_refund(
        actor=None,
        customer=customer,
        amount=Decimal("30"),
        reason="again",
        idempotency_key=f"request:{request.pk}:refund",
    )
    assert CreditAccount.objects.get(customer=customer).balance == 100 == _sum(customer)


@pytest.mark.parametrize("status", [RequestStatus.REJECTED, RequestStatus.FAILED])
def test_rejected_and_failed_requests_are_refunded(tenant_a, customer, catalog_admin, status):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    request_transition(actor=catalog_admin, request=request, status=status)
    assert CreditAccount.objects.get(customer=customer).balance == 0 == _sum(customer)


def test_a_fulfilled_request_keeps_its_debit(tenant_a, customer, catalog_admin):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    request_transition(actor=catalog_admin, request=request, status=RequestStatus.IN_PROGRESS)
    request_transition(actor=catalog_admin, request=request, status=RequestStatus.FULFILLED)
    assert CreditAccount.objects.get(customer=customer).balance == -10


def test_with_the_hard_limit_a_request_the_balance_cannot_cover_is_refused_and_not_saved(
    tenant_a, customer, catalog_admin
):
    credit_hard_limit_set(actor=catalog_admin, customer=customer, hard_limit=True)
    with pytest.raises(InsufficientCredits, match=r"has 0\.00 credits"):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=1,
            justification="For the team",
        )
    assert not tenant_a["customer"].requests.exists()


def test_requests_are_free_when_credit_management_is_off(tenant_a):
    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    assert not CreditEntry.objects.exists()


def test_crossings_fire_once_and_re_arm_on_recovery():
    t = Decimal("50")
    assert [c.line for c in crossings(before=Decimal("60"), after=Decimal("40"), threshold=t)] == [
        "threshold"
    ]
    assert crossings(before=Decimal("40"), after=Decimal("30"), threshold=t) == []
    assert [c.line for c in crossings(before=Decimal("30"), after=Decimal("-1"), threshold=t)] == [
        "zero"
    ]
    assert crossings(before=Decimal("-1"), after=Decimal("-5"), threshold=t) == []
    assert [c.line for c in crossings(before=Decimal("60"), after=Decimal("-5"), threshold=t)] == [
        "threshold",
        "zero",
    ]
    assert crossings(before=Decimal("40"), after=Decimal("60"), threshold=t) == []


def test_alerts_reach_administrators_in_the_app_and_by_mail(
    tenant_a, customer, catalog_admin, django_capture_on_commit_callbacks
):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("55"), reason="r")
    with django_capture_on_commit_callbacks(execute=True):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=1,
            justification="For the team",
        )
    admin = tenant_a["admin"]
    note = Notification.objects.get(user=admin)
    assert "below the alert threshold of 50.00 (45.00)" in note.title
    assert Notification.objects.filter(user=catalog_admin).count() == 1
    assert any(admin.email in m.to for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=1,
            justification="For the team",
        )
    assert Notification.objects.filter(user=admin).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=4,
            justification="For the team",
        )
    assert Notification.objects.filter(user=admin, title__contains="below zero").count() == 1


def test_an_alert_task_delivered_twice_notifies_and_mails_each_person_once(
    tenant_a, customer, catalog_admin, django_capture_on_commit_callbacks
):
    from credits.models import CreditEntry
    from credits.tasks import send_balance_alert

    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("55"), reason="r")
    with django_capture_on_commit_callbacks(execute=True):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=1,
            justification="For the team",
        )
    entry = CreditEntry.objects.filter(amount__lt=0).latest("id")
    sent = len(mail.outbox)
    notified = Notification.objects.count()

    # The outbox or a redelivery after a worker crash runs the same task again.
    assert send_balance_alert(entry.pk, "threshold") == 0

    assert Notification.objects.count() == notified
    assert len(mail.outbox) == sent
    assert Notification.objects.filter(user=tenant_a["admin"]).count() == 1


def test_an_alert_whose_mail_failed_is_mailed_by_the_retry_and_only_then(
    tenant_a, customer, catalog_admin, django_capture_on_commit_callbacks, monkeypatch
):
    from credits import notify
    from credits.models import CreditEntry
    from msp_portal import notify as mailing

    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("55"), reason="r")
    real_send_mail, calls = mailing.send_mail, []

    def second_mail_fails(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise OSError("SMTP connection dropped")
        return real_send_mail(*args, **kwargs)

    monkeypatch.setattr(mailing, "send_mail", second_mail_fails)
    with pytest.raises(OSError), django_capture_on_commit_callbacks(execute=True):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=1,
            justification="For the team",
        )
    entry = CreditEntry.objects.filter(amount__lt=0).latest("id")
    first = {tuple(m.to) for m in mail.outbox}
    assert len(first) == 1  # one mail went out before the failure

    notify.balance_alert_send(entry_id=entry.pk, line="threshold")  # the task's retry

    recipients = [tuple(m.to) for m in mail.outbox]
    assert len(recipients) == len(set(recipients))  # nobody mailed twice
    notified = Notification.objects.filter(key__startswith="credits.balance:")
    assert {(n.user.email,) for n in notified if n.user.email} == set(recipients)
    assert not notified.filter(mailed_at__isnull=True).exclude(user__email="").exists()


def test_adjustments_go_either_way_with_a_reason(customer, catalog_admin):
    credit_adjust(
        actor=catalog_admin, customer=customer, amount=Decimal("-7.5"), reason="correction"
    )
    credit_adjust(
        actor=catalog_admin, customer=customer, amount=Decimal("2.5"), reason="correction"
    )
    assert CreditAccount.objects.get(customer=customer).balance == -5 == _sum(customer)


def test_reconciliation_finds_drift_and_audits_it(customer, catalog_admin):
    credit_grant(actor=catalog_admin, customer=customer, amount=Decimal("10"), reason="r")
    assert credit_reconcile() == []
    CreditAccount.objects.filter(customer=customer).update(balance=Decimal("11"))
    drifts = credit_reconcile()
    assert [(d.balance, d.ledger_sum) for d in drifts] == [(Decimal("11"), Decimal("10"))]
    assert AuditEvent.objects.filter(action="credits.drift").exists()
