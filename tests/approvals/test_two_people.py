"""Two approvals are two people: whoever approved a step of a request does not decide a later one
of it when someone else can (a customer administrator's step routed to the MSP, then the MSP's own
step, were both approved by one catalog administrator); when nobody else can, they may, and the
request's timeline says why, so no request is stuck."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import CATALOG_ADMIN
from accounts.services import user_role_grant
from approvals import tasks
from approvals.models import ApprovalStep
from approvals.selectors import ALL, approval_list, approval_waiting_count
from approvals.services import approval_decide, step_approvers
from catalog.models import ApprovalPolicy
from entitlements.models import RequestStatus
from msp_portal.errors import NotAllowed
from tests.accounts.factories import UserFactory
from tests.api.conftest import ApiClient, make_token

from .conftest import set_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_catalog_admin(provider_company):
    user = UserFactory(username="catadmin2", first_name="Bea", company=provider_company)
    return user_role_grant(actor=None, user=user, role=CATALOG_ADMIN)


@pytest.fixture
def routed_twice(acme, catalog_admin, submit):
    """The only administrator of Acme asks for a service that needs a customer administrator,
    then the MSP: step 1 goes to the MSP (nobody decides their own request), step 2 is the MSP's;
    catalog_admin approves step 1."""
    set_policy(acme["service"], ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP)
    request = submit(acme, who="admin")
    assert ApprovalStep.objects.get(request=request, order=1).routed_to_msp
    return request


def test_the_approver_of_step_one_does_not_decide_step_two(
    client, routed_twice, catalog_admin, second_catalog_admin
):
    request = routed_twice
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    step2 = ApprovalStep.objects.get(request=request, order=2)
    assert list(step_approvers(step=step2)) == [second_catalog_admin]

    with pytest.raises(NotAllowed, match=r"You approved an earlier step of request #\d+"):
        approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL

    # Not on their Approvals page, nor in their count; listed under "All waiting" without buttons.
    assert list(approval_list(user=catalog_admin)) == []
    assert approval_waiting_count(user=catalog_admin) == (0, False)
    client.force_login(catalog_admin)
    page = client.get(reverse("approvals:approval_list") + f"?show={ALL}").content.decode()
    assert f"#{request.pk}" in page
    assert reverse("approvals:approval_decide", args=[request.pk]) not in page
    assert "You approved an earlier step of this request: another catalog administrator" in page
    page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="approval-decide"' not in page
    assert "Waiting for another MSP catalog administrator to decide." in page
    assert "You approved an earlier step" in page

    # The API says the same.
    api = ApiClient(make_token(catalog_admin))
    response = api.post(
        reverse("api:v1:request_decide", args=[request.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    assert "another MSP catalog administrator decides step 2" in response.json()["detail"]
    assert api.get(reverse("api:v1:approval_list")).json()["results"] == []
    steps = api.get(reverse("api:v1:request_detail", args=[request.pk])).json()["approval_steps"]
    assert [(s["routed_to_msp"], s["status"]) for s in steps] == [
        (True, "approved"),
        (False, "pending"),
    ]

    # The other catalog administrator decides it.
    assert [s.request_id for s in approval_list(user=second_catalog_admin)] == [request.pk]
    approval_decide(actor=second_catalog_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_with_nobody_else_the_same_approver_decides_and_the_timeline_says_why(
    client, routed_twice, catalog_admin
):
    request = routed_twice
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    assert [s.request_id for s in approval_list(user=catalog_admin)] == [request.pk]
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    client.force_login(catalog_admin)
    page = client.get(reverse("portal:request_detail", args=[request.pk])).content.decode()
    assert "Approval step 2 may be decided by an earlier step&#x27;s approver" in page
    assert "no other MSP catalog administrator is active" in page
    assert (
        "Approved as MSP catalog administrator, in place of the customer&#x27;s administrators "
        "(approval step 1)" in page
    )


def test_a_rejection_of_step_one_needs_no_second_person(
    routed_twice, catalog_admin, second_catalog_admin
):
    approval_decide(actor=catalog_admin, request=routed_twice, approve=False, note="Not needed")
    routed_twice.refresh_from_db()
    assert routed_twice.status == RequestStatus.REJECTED


def test_when_the_other_approver_leaves_the_reminder_lets_the_first_decide(
    routed_twice, catalog_admin, second_catalog_admin, settings, django_capture_on_commit_callbacks
):
    request = routed_twice
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    second_catalog_admin.is_active = False
    second_catalog_admin.save(update_fields=["is_active"])
    settings.APPROVAL_REMINDER_DAYS = 3
    ApprovalStep.objects.filter(request=request, order=2).update(
        waiting_since=timezone.now() - timedelta(days=4)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.remind()
    step2 = ApprovalStep.objects.get(request=request, order=2)
    assert list(step_approvers(step=step2)) == [catalog_admin]
    approval_decide(actor=catalog_admin, request=request, approve=True, note="")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
