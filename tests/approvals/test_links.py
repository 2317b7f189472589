"""E-mailed approval links: each approver gets their own approve and reject links, which open a
confirmation page and decide only when confirmed; a replayed, expired, tampered, foreign or
other request's link says so and writes nothing."""

import re
import time
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.urls import reverse

from approvals.models import ApprovalLink, ApprovalStep, StepStatus
from approvals.services import approval_decide
from credits.models import CreditAccount, CreditEntry
from entitlements.models import RequestStatus
from msp_portal.models import Notification

pytestmark = pytest.mark.django_db

LINK = re.compile(r"^(Approve|Reject): (http\S+)$", re.MULTILINE)


def links_in(message) -> dict[str, str]:
    """{"Approve": path, "Reject": path} of an approval e-mail."""
    return {word: re.sub(r"^https?://[^/]+", "", url) for word, url in LINK.findall(message.body)}


def mail_to(user):
    [message] = [m for m in mail.outbox if user.email in m.to]
    return message


def test_each_approver_is_told_in_the_app_and_by_mail_with_links_of_their_own(
    acme, second_admin, submit
):
    acme["admin"].email = "admin@acme.example"
    acme["admin"].save()
    request = submit(acme, quantity=2)
    first, second = mail_to(acme["admin"]), mail_to(second_admin)
    assert first.subject == f"Approval needed: request #{request.pk}, 2 × Laptop"
    assert "Eve Finch asked for 2 × Laptop (Acme Corp), total 20.00 credits." in first.body
    assert "New starter in Finance" in first.body
    assert "expire after 7 days" in first.body
    assert links_in(first)["Approve"] != links_in(second)["Approve"]
    assert set(Notification.objects.values_list("user__username", flat=True)) >= {
        "acme-admin",
        "acme-ada",
    }
    assert ApprovalLink.objects.count() == 2


def test_the_link_opens_a_confirmation_and_decides_only_when_confirmed(
    client, acme, second_admin, submit
):
    request = submit(acme)
    approve = links_in(mail_to(second_admin))["Approve"]
    client.force_login(second_admin)
    page = client.get(approve)
    assert page.status_code == 200
    assert b"Approve request #" in page.content
    assert b"New starter in Finance" in page.content
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING

    done = client.post(approve, {"note": "Fine by me"})
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    step = ApprovalStep.objects.get(request=request)
    assert (step.decided_by, step.note) == (second_admin, "Fine by me")
    link = ApprovalLink.objects.get(approver=second_admin)
    assert link.used_at is not None and link.used_for == "approve"


def test_a_replayed_link_says_so_and_writes_nothing(client, acme, second_admin, submit):
    submit(acme)
    reject = links_in(mail_to(second_admin))["Reject"]
    client.force_login(second_admin)
    client.post(reject, {"note": "Over budget"})
    events = CreditEntry.objects.count()
    again = client.post(reject, {"note": "Over budget"})
    assert again.status_code == 200
    assert b"was used already" in again.content
    assert CreditEntry.objects.count() == events
    assert CreditAccount.objects.get(customer=acme["customer"]).balance == Decimal("100")


def test_a_link_sent_to_another_approver_is_refused(client, acme, second_admin, submit):
    request = submit(acme)
    theirs = links_in(mail_to(second_admin))["Approve"]
    client.force_login(acme["admin"])
    for response in (client.get(theirs), client.post(theirs, {"note": ""})):
        assert response.status_code == 403
        assert b"was sent to Ada Moss, not to you" in response.content
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_a_link_of_one_request_is_refused_for_another(client, acme, second_admin, submit):
    first = submit(acme)
    second = submit(acme)
    # Ada's link for the first request, pasted into the second request's address.
    mine = [m for m in mail.outbox if second_admin.email in m.to and f"#{first.pk}," in m.subject]
    token = links_in(mine[0])["Approve"].rstrip("/").split("/")[-1]
    other = reverse("approvals:link_confirm", kwargs={"pk": second.pk, "token": token})
    client.force_login(second_admin)
    response = client.post(other, {"note": ""})
    assert b"belongs to another request" in response.content
    for request in (first, second):
        request.refresh_from_db()
        assert request.status == RequestStatus.AWAITING_APPROVAL


def test_an_expired_link_says_how_long_links_work(client, acme, second_admin, submit, monkeypatch):
    request = submit(acme)
    approve = links_in(mail_to(second_admin))["Approve"]
    later = time.time() + 8 * 86400
    monkeypatch.setattr(signing.time, "time", lambda: later)
    client.force_login(second_admin)
    response = client.post(approve, {"note": ""})
    assert b"has expired: links in approval e-mails work for 7 days" in response.content
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_a_tampered_link_is_refused(client, acme, second_admin, submit):
    request = submit(acme)
    approve = links_in(mail_to(second_admin))["Approve"]
    client.force_login(second_admin)
    response = client.post(approve.replace(":", ":x", 1), {"note": ""})
    assert b"This approval link is not valid" in response.content
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_a_link_to_a_request_decided_meanwhile_says_who_decided(client, acme, second_admin, submit):
    request = submit(acme)
    approve = links_in(mail_to(second_admin))["Approve"]
    approval_decide(actor=acme["admin"], request=request, approve=False, note="No budget")
    client.force_login(second_admin)
    page = client.get(approve)
    assert b"was decided already: rejected by Admin Acme" in page.content
    response = client.post(approve, {"note": ""})
    assert b"was decided already" in response.content
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert not ApprovalLink.objects.filter(used_at__isnull=False).exists()


def test_a_reject_link_needs_a_note(client, acme, second_admin, submit):
    request = submit(acme)
    reject = links_in(mail_to(second_admin))["Reject"]
    client.force_login(second_admin)
    response = client.post(reject, {"note": ""})
    assert response.status_code == 200
    assert b"Say why you reject the request" in response.content
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING
    assert not ApprovalLink.objects.filter(used_at__isnull=False).exists()
