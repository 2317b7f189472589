"""The requester, and the colleague a request is for, are told what each approver decided, with
the note, in the app and by e-mail; once, however often the telling runs."""

import pytest
from django.core import mail

from approvals.models import ApprovalStep
from approvals.notify import decision_send
from approvals.services import approval_decide
from catalog.models import ApprovalPolicy
from msp_portal.models import Notification

from .conftest import set_policy

pytestmark = pytest.mark.django_db


def test_requester_and_colleague_are_told_each_decision_with_its_note(
    acme, submit, catalog_admin, django_capture_on_commit_callbacks
):
    set_policy(acme["service"], ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP)
    request = submit(acme, beneficiary=acme["ed"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(actor=acme["admin"], request=request, approve=True, note="Fine")
    told = Notification.objects.filter(key__startswith="approvals.decided:")
    assert {n.user for n in told} == {acme["eve"], acme["ed"]}
    first = told.first()
    assert first.title == f"Request #{request.pk}: approved by your administrator"
    assert 'Their note: "Fine"' in first.body
    assert "It now waits for an MSP catalog administrator." in first.body
    assert "1 × Laptop for Ed Stone" in first.body
    decided_mail = [m for m in mail.outbox if m.subject.startswith(f"Request #{request.pk}")]
    assert {m.to[0] for m in decided_mail} == {acme["eve"].email, acme["ed"].email}

    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(actor=catalog_admin, request=request, approve=False, note="Out of stock")
    last = Notification.objects.filter(user=acme["eve"]).order_by("-id").first()
    assert last.title == f"Request #{request.pk} rejected"
    assert "its 10.00 credits are refunded" in last.body

    # Told once, however often the task runs again.
    step = ApprovalStep.objects.get(request=request, order=2)
    sent = len(mail.outbox)
    decision_send(step_id=step.pk)
    assert len(mail.outbox) == sent
    assert Notification.objects.filter(key=f"approvals.decided:{step.pk}").count() == 2
