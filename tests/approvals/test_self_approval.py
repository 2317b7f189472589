"""Nobody decides their own request: the requester and the person it is for never decide a step of
it (in the portal, from an e-mailed link or through the API), are neither asked, mailed, reminded
nor shown the buttons; when nobody else at the customer could decide a customer administrator's
step, the MSP's catalog administrators decide it instead, and the request's page says so."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from approvals import tasks
from approvals.links import link_token
from approvals.models import ApprovalLink, ApprovalStep, StepKind, StepStatus
from approvals.selectors import approval_list, approval_waiting_count
from approvals.services import approval_decide, approval_links_make, step_approvers
from catalog.models import ApprovalPolicy
from entitlements.models import RequestStatus
from entitlements.selectors import request_list
from msp_portal.errors import NotAllowed
from msp_portal.models import Notification
from tests.api.conftest import ApiClient, make_token

from .conftest import set_policy

pytestmark = pytest.mark.django_db


def mailed(user) -> list:
    return [m for m in mail.outbox if user.email in m.to]


def pending(request) -> bool:
    request.refresh_from_db()
    step = ApprovalStep.objects.get(request=request, order=1)
    return request.status == RequestStatus.AWAITING_APPROVAL and step.status == StepStatus.PENDING


@pytest.fixture
def admin(acme):
    """Customer A's administrator, who requests for themself in these tests."""
    user = acme["admin"]
    user.email = "admin@acme.example"
    user.save(update_fields=["email"])
    return user


# --- The requester, when another administrator can decide ------------------------------------


def test_an_administrator_cannot_approve_their_own_request(acme, admin, second_admin, submit):
    request = submit(acme, who="admin")
    with pytest.raises(NotAllowed, match=r"You asked for request #.* nobody decides their own"):
        approval_decide(actor=admin, request=request, approve=True, note="")
    assert pending(request)
    # Any other administrator decides it.
    approval_decide(actor=second_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_an_administrator_cannot_reject_a_request_made_for_them(acme, admin, second_admin, submit):
    request = submit(acme, beneficiary=admin)  # Eve asks for it, for the administrator
    with pytest.raises(NotAllowed, match="is for you: nobody decides their own"):
        approval_decide(actor=admin, request=request, approve=False, note="Not needed")
    assert pending(request)
    assert list(step_approvers(step=ApprovalStep.objects.get(request=request))) == [second_admin]


def test_the_requester_is_neither_asked_nor_mailed_nor_reminded(
    acme, admin, second_admin, submit, settings, django_capture_on_commit_callbacks
):
    request = submit(acme, who="admin")
    assert len(mailed(second_admin)) == 1
    assert mailed(admin) == []
    assert not Notification.objects.filter(user=admin, key__startswith="approvals.step").exists()
    assert not ApprovalLink.objects.filter(approver=admin).exists()

    settings.APPROVAL_REMINDER_DAYS = 3
    ApprovalStep.objects.filter(request=request).update(
        waiting_since=timezone.now() - timedelta(days=4)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.remind()
    assert [m.subject.startswith("Reminder:") for m in mailed(second_admin)] == [False, True]
    assert mailed(admin) == []


def test_the_portal_refuses_it_and_shows_no_buttons(client, acme, admin, second_admin, submit):
    request = submit(acme, who="admin")
    client.force_login(admin)
    page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="approval-decide"' not in page
    assert "Waiting for another administrator of Acme Corp to decide (Ada Moss" in page

    response = client.post(
        reverse("approvals:approval_decide", args=[request.pk]),
        {"decision": "approve", "note": ""},
    )
    assert response.status_code == 403
    assert "nobody decides their own request" in response.content.decode()
    assert pending(request)


def test_an_e_mailed_link_of_the_requester_is_refused(client, acme, admin, second_admin, submit):
    request = submit(acme, who="admin")
    # A link in the requester's hands (mailed before this rule, say): it never decides.
    step = ApprovalStep.objects.get(request=request)
    link = approval_links_make(step=step, approvers=[admin], round=0)[admin.pk]
    url = reverse(
        "approvals:link_confirm",
        kwargs={"pk": request.pk, "token": link_token(link=link, decision="approve")},
    )
    client.force_login(admin)
    for response in (client.get(url), client.post(url, {"note": ""})):
        assert response.status_code == 403
        body = response.content.decode()
        assert "nobody decides their own request" in body
        assert 'data-testid="link-confirm"' not in body
    assert pending(request)
    link.refresh_from_db()
    assert link.used_at is None


def test_their_approvals_page_does_not_list_their_own_request(
    client, acme, admin, second_admin, submit
):
    own = submit(acme, who="admin")
    eves = submit(acme)
    assert [s.request_id for s in approval_list(user=admin)] == [eves.pk]
    assert approval_waiting_count(user=admin) == (1, False)
    assert [s.request_id for s in approval_list(user=second_admin)] == [own.pk, eves.pk]
    client.force_login(admin)
    page = client.get(reverse("approvals:approval_list")).content.decode()
    assert f"Request #{eves.pk}</a>" in page
    assert f"Request #{own.pk}</a>" not in page


def test_the_api_refuses_it_too(acme, admin, second_admin, submit):
    request = submit(acme, who="admin")
    api = ApiClient(make_token(admin))
    response = api.post(
        reverse("api:v1:request_decide", args=[request.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    assert "nobody decides their own request" in response.content.decode()
    assert pending(request)
    waiting = api.get(reverse("api:v1:approval_list")).json()["results"]
    assert waiting == []


# --- The customer's only administrator -----------------------------------------------------


def test_the_only_administrators_request_goes_to_the_catalog_administrators(
    client, acme, admin, catalog_admin, submit
):
    request = submit(acme, who="admin")
    step = ApprovalStep.objects.get(request=request)
    assert step.kind == StepKind.CUSTOMER_ADMIN and step.routed_to_msp
    assert list(step_approvers(step=step)) == [catalog_admin]
    assert mailed(admin) == []
    [message] = mailed(catalog_admin)
    assert "nobody else at Acme Corp can decide it" in message.body

    # Neither on the administrator's Approvals page nor in their count; on the MSP's.
    assert list(approval_list(user=admin)) == []
    assert approval_waiting_count(user=admin) == (0, False)
    assert [s.request_id for s in approval_list(user=catalog_admin)] == [request.pk]
    with pytest.raises(NotAllowed, match="nobody decides their own"):
        approval_decide(actor=admin, request=request, approve=True, note="")

    # The requester's page says who decides now, and why; so does the timeline.
    client.force_login(admin)
    page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert "Waiting for an MSP catalog administrator to decide" in page
    assert "Admin Acme asked for it and is the only administrator of Acme Corp" in page
    assert "Sent to the MSP&#x27;s catalog administrators (approval step 1)" in page
    assert 'data-testid="approval-decide"' not in page

    # A catalog administrator decides it in the portal, where the buttons are theirs.
    client.force_login(catalog_admin)
    page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="approval-decide"' in page
    client.post(
        reverse("approvals:approval_decide", args=[request.pk]),
        {"decision": "approve", "note": "On behalf of Acme"},
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_a_colleague_asking_for_the_only_administrator_goes_to_the_msp_too(
    acme, admin, catalog_admin, submit
):
    request = submit(acme, beneficiary=admin)
    step = ApprovalStep.objects.get(request=request)
    assert step.routed_to_msp
    assert list(step_approvers(step=step)) == [catalog_admin]


def test_an_end_users_request_stays_with_the_only_administrator(acme, admin, submit):
    request = submit(acme)
    step = ApprovalStep.objects.get(request=request)
    assert not step.routed_to_msp
    assert list(step_approvers(step=step)) == [admin]


def test_with_two_steps_both_go_to_the_catalog_administrators(acme, admin, catalog_admin, submit):
    set_policy(acme["service"], ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP)
    request = submit(acme, who="admin")
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_a_step_whose_other_administrator_left_goes_to_the_msp_at_its_reminder(
    acme, admin, second_admin, catalog_admin, submit, settings, django_capture_on_commit_callbacks
):
    request = submit(acme, who="admin")
    second_admin.is_active = False
    second_admin.save(update_fields=["is_active"])
    settings.APPROVAL_REMINDER_DAYS = 3
    ApprovalStep.objects.filter(request=request).update(
        waiting_since=timezone.now() - timedelta(days=4)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.remind()
    step = ApprovalStep.objects.get(request=request)
    assert step.routed_to_msp
    assert [m.subject.startswith("Reminder:") for m in mailed(catalog_admin)] == [True]
    assert mailed(admin) == []


def test_an_administrators_own_request_is_one_row_to_them_beside_a_second_administrator(
    client, acme, admin, second_admin, submit
):
    # The scope rule once joined the customer's administrators: an administrator's own request
    # came back once per administrator, and its page failed.
    request = submit(acme, who="admin")
    assert list(request_list(user=admin)) == [request]
    client.force_login(admin)
    assert client.get(reverse("portal:request_detail", args=[request.pk])).status_code == 200
