"""approval_decide: any one customer administrator decides step 1, a catalog administrator step 2;
a rejection refunds once; a decided request stays decided; nobody bypasses the approval by hand."""

from decimal import Decimal

import pytest
from django.http import Http404

from approvals.models import ApprovalStep, StepKind, StepStatus
from approvals.services import approval_decide
from approvals.signals import approval_waiting
from catalog.models import ApprovalPolicy
from credits.models import CreditAccount, CreditEntry
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_transition, request_transitions_for
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.models import AuditEvent

from .conftest import set_policy

pytestmark = pytest.mark.django_db


def balance(tenant) -> Decimal:
    return CreditAccount.objects.get(customer=tenant["customer"]).balance


def test_a_request_needing_approval_waits_for_its_customers_administrators(acme, submit):
    request = submit(acme, quantity=2)
    assert request.status == RequestStatus.AWAITING_APPROVAL
    [step] = ApprovalStep.objects.filter(request=request)
    assert (step.order, step.kind, step.status) == (1, StepKind.CUSTOMER_ADMIN, StepStatus.PENDING)
    assert step.waiting_since is not None
    # Credits are debited at submission, as without approval.
    assert balance(acme) == Decimal("80")


def test_a_service_without_approval_is_approved_at_submission_with_no_steps(tenant_a, submit):
    request = submit(tenant_a)
    assert request.status == RequestStatus.APPROVED
    assert not ApprovalStep.objects.exists()


def test_above_an_amount_only_dearer_requests_wait(acme, submit):
    set_policy(acme["service"], ApprovalPolicy.ABOVE_AMOUNT, Decimal("25"))
    assert submit(acme, quantity=2).status == RequestStatus.APPROVED
    assert submit(acme, quantity=3).status == RequestStatus.AWAITING_APPROVAL
    assert ApprovalStep.objects.count() == 1


def test_the_administrators_approval_approves_the_request(acme, submit):
    request = submit(acme)
    approval_decide(actor=acme["admin"], request=request, approve=True, note="Go ahead")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    step = ApprovalStep.objects.get(request=request)
    assert (step.status, step.decided_by, step.note) == (
        StepStatus.APPROVED,
        acme["admin"],
        "Go ahead",
    )
    assert AuditEvent.objects.filter(action="approval.approved", object_id=str(request.pk)).exists()


def test_a_rejection_rejects_and_refunds_exactly_once(acme, submit):
    request = submit(acme, quantity=3)
    assert balance(acme) == Decimal("70")
    approval_decide(actor=acme["admin"], request=request, approve=False, note="Not this quarter")
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert request.status_note == "Not this quarter"
    assert balance(acme) == Decimal("100")
    with pytest.raises(DomainError, match="decided already: rejected by"):
        approval_decide(actor=acme["admin"], request=request, approve=True, note="")
    assert CreditEntry.objects.filter(kind="refund", request_id=request.pk).count() == 1
    assert balance(acme) == Decimal("100")


def test_a_rejection_needs_a_note_and_writes_nothing_without_one(acme, submit):
    request = submit(acme)
    with pytest.raises(DomainError, match="Say why you reject"):
        approval_decide(actor=acme["admin"], request=request, approve=False, note="  ")
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL


def test_two_steps_the_customer_then_the_msp(acme, submit, catalog_admin):
    set_policy(acme["service"], ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP)
    waiting = []
    approval_waiting.connect(
        lambda sender, **kw: waiting.append((kw["step"].order, len(kw["approvers"]))),
        weak=False,
        dispatch_uid="test-waiting",
    )
    try:
        request = submit(acme)
        approval_decide(actor=acme["admin"], request=request, approve=True, note="")
        request.refresh_from_db()
        assert request.status == RequestStatus.AWAITING_APPROVAL
        # The customer's administrator can't decide the MSP's step.
        with pytest.raises(NotAllowed, match="MSP catalog administrator"):
            approval_decide(actor=acme["admin"], request=request, approve=True, note="")
        approval_decide(actor=catalog_admin, request=request, approve=True, note="Stock ok")
    finally:
        approval_waiting.disconnect(dispatch_uid="test-waiting")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert list(
        ApprovalStep.objects.filter(request=request).values_list("kind", "status", "decided_by")
    ) == [
        (StepKind.CUSTOMER_ADMIN, StepStatus.APPROVED, acme["admin"].pk),
        (StepKind.MSP, StepStatus.APPROVED, catalog_admin.pk),
    ]
    assert waiting == [(1, 1), (2, 1)]


def test_a_catalog_administrator_does_not_decide_the_customers_step(acme, submit, catalog_admin):
    request = submit(acme)
    with pytest.raises(NotAllowed, match="administrator of Acme Corp"):
        approval_decide(actor=catalog_admin, request=request, approve=True, note="")


def test_another_customers_administrator_finds_no_such_request(acme, submit, outsider):
    request = submit(acme)
    with pytest.raises(Http404):
        approval_decide(actor=outsider, request=request, approve=True, note="")
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_the_requester_may_not_approve_their_own_request(acme, submit):
    request = submit(acme)
    with pytest.raises(NotAllowed):
        approval_decide(actor=acme["eve"], request=request, approve=True, note="")


def test_nobody_approves_or_rejects_a_waiting_request_by_hand(acme, submit, catalog_admin):
    request = submit(acme)
    for actor in (acme["admin"], catalog_admin):
        assert request_transitions_for(actor=actor, request=request) == {RequestStatus.CANCELLED}
        for status in (RequestStatus.APPROVED, RequestStatus.REJECTED):
            with pytest.raises(DomainError, match="waiting for its approvers"):
                request_transition(actor=actor, request=request, status=status, note="x")
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL
    assert balance(acme) == Decimal("90")


def test_a_cancelled_request_asks_nobody_any_more(acme, submit):
    request = submit(acme)
    request_transition(actor=acme["eve"], request=request, status=RequestStatus.CANCELLED)
    assert ApprovalStep.objects.get(request=request).status == StepStatus.SKIPPED
    with pytest.raises(DomainError, match="is cancelled: there is nothing left to decide"):
        approval_decide(actor=acme["admin"], request=request, approve=True, note="")
    assert balance(acme) == Decimal("100")


def test_a_request_from_before_approvals_is_still_decided_by_hand(acme):
    request = ServiceRequest.objects.create(
        customer=acme["customer"],
        requester=acme["eve"],
        beneficiary=acme["eve"],
        service=acme["service"],
        status=RequestStatus.AWAITING_APPROVAL,
    )
    request_transition(actor=acme["admin"], request=request, status=RequestStatus.APPROVED)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
