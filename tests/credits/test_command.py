"""`manage.py credits grant|balance`: the operators' way in, with clear errors and exit code 1."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from credits.models import CreditAccount, CreditEntry
from credits.services import credit_debit
from customers.services import customer_settings_update
from entitlements.models import RequestStatus
from entitlements.services import request_submit, request_transition
from msp_portal.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(tenant_a, catalog_admin):
    customer = tenant_a["customer"]
    customer_settings_update(
        actor=catalog_admin, customer=customer, credit_management=True, alert_threshold=None
    )
    return customer


def run(*args) -> str:
    out = StringIO()
    call_command("credits", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _ledger_sum(customer) -> Decimal:
    return sum(
        CreditEntry.objects.filter(account__customer=customer).values_list("amount", flat=True),
        Decimal("0"),
    )


def test_grant_by_company_name_adds_credits_and_is_audited(customer):
    out = run("grant", "Acme Corp", "250", "--reason", "PO 77")
    assert "Granted 250.00 credits to Acme Corp. Balance: 250.00." in out
    entry = CreditEntry.objects.get()
    assert entry.kind == "grant" and entry.reason == "PO 77" and entry.actor_label == "system"
    assert AuditEvent.objects.filter(action="credits.grant").exists()


def test_grant_by_id_with_an_actor_and_a_key_is_safe_to_retry(customer, catalog_admin):
    args = ("grant", str(customer.pk), "12.50", "--reason", "PO", "--actor", "catadmin")
    run(*args, "--idempotency-key", "po-1")
    run(*args, "--idempotency-key", "po-1")
    entry = CreditEntry.objects.get()
    assert entry.amount == Decimal("12.50") and entry.actor == catalog_admin


def test_balance_prints_the_balance_and_the_ledger_sum(customer):
    run("grant", "Acme Corp", "100", "--reason", "PO")
    credit_debit(
        actor=None, customer=customer, amount=Decimal("30"), reason="r", idempotency_key="k"
    )
    out = run("balance", "Acme Corp")
    assert out.splitlines()[0] == "Acme Corp: 70.00 credits"
    assert "ledger sum 70.00 over 2 entries" in out and "hard limit off" in out


def test_balance_equals_the_ledger_after_requests_cancellations_and_rejections(tenant_a, customer):
    run("grant", "Acme Corp", "100", "--reason", "PO")
    eve, laptop = tenant_a["eve"], tenant_a["service"]
    kept = request_submit(actor=eve, service=laptop, quantity=3, justification="team")
    cancelled = request_submit(actor=eve, service=laptop, quantity=2, justification="oops")
    rejected = request_submit(actor=eve, service=laptop, quantity=1, justification="maybe")
    request_transition(actor=eve, request=cancelled, status=RequestStatus.CANCELLED)
    request_transition(actor=tenant_a["admin"], request=rejected, status=RequestStatus.REJECTED)
    out = run("balance", str(customer.pk))
    balance = CreditAccount.objects.get(customer=customer).balance
    assert balance == Decimal("100") - 3 * laptop.price == _ledger_sum(customer)
    assert out.splitlines()[0] == f"Acme Corp: {balance:.2f} credits"
    assert kept.status == RequestStatus.APPROVED


def test_balance_before_any_grant_is_zero_and_writes_nothing(customer):
    assert run("balance", "Acme Corp").splitlines()[0] == "Acme Corp: 0.00 credits"
    assert not CreditAccount.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("grant", "Nobody Inc", "5", "--reason", "x"), "No customer “Nobody Inc”"),
        (("balance", "999999"), "No customer “999999”"),
        (("grant", "Acme Corp", "lots", "--reason", "x"), "“lots” is not a positive amount"),
        (("grant", "Acme Corp", "-5", "--reason", "x"), "“-5” is not a positive amount"),
        (("grant", "Acme Corp", "NaN", "--reason", "x"), "“NaN” is not a positive amount"),
        (("grant", "Acme Corp", "5"), "Say why the credits are granted"),
        (("grant", "Acme Corp", "5", "--reason", "x", "--actor", "ghost"), "No active user"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_code_1(customer, args, message):
    with pytest.raises(CommandError, match=message) as error:
        run(*args)
    assert error.value.returncode == 1
    assert not CreditEntry.objects.exists()


def test_credit_management_off_is_refused_for_both_actions(tenant_a):
    for args in (("grant", "Acme Corp", "5", "--reason", "x"), ("balance", "Acme Corp")):
        with pytest.raises(CommandError, match="Credit Management is off for Acme Corp") as error:
            run(*args)
        assert error.value.returncode == 1


def test_a_customer_admin_cannot_be_the_actor_of_a_grant(tenant_a, customer):
    with pytest.raises(CommandError, match="Only catalog administrators"):
        run("grant", "Acme Corp", "5", "--reason", "x", "--actor", "acme-admin")
