"""The Approvals page, decisions from it and from the request page, the navigation's count, and
what the requester sees: who must decide, what was decided with its note, the timeline."""

import pytest
from django.urls import reverse

from approvals.models import ApprovalStep, StepStatus
from approvals.services import approval_decide
from catalog.models import ApprovalPolicy, QuestionKind
from catalog.services import question_add
from entitlements.models import RequestStatus

from .conftest import set_policy

pytestmark = pytest.mark.django_db

LIST = reverse("approvals:approval_list")


def decide_url(request) -> str:
    return reverse("approvals:approval_decide", kwargs={"pk": request.pk})


def test_a_customer_administrator_sees_their_customers_waiting_requests(
    client, acme, tenant_b, submit
):
    mine = submit(acme)
    set_policy(tenant_b["service"], ApprovalPolicy.CUSTOMER_ADMIN)
    theirs = submit(tenant_b)
    client.force_login(acme["admin"])
    page = client.get(LIST)
    assert page.status_code == 200
    assert [s.request_id for s in page.context["page"].rows] == [mine.pk]
    assert f"Request #{theirs.pk}" not in page.content.decode()


def test_an_approval_from_the_page_carries_its_note(client, acme, submit):
    request = submit(acme)
    client.force_login(acme["admin"])
    response = client.post(
        decide_url(request), {"decision": "approve", "note": "Budget ok", "next": LIST}, follow=True
    )
    assert f"You approved request #{request.pk}: it is approved" in response.content.decode()
    step = ApprovalStep.objects.get(request=request)
    assert (step.status, step.note) == (StepStatus.APPROVED, "Budget ok")


def test_a_decision_on_a_request_already_decided_says_so(client, acme, submit):
    request = submit(acme)
    approval_decide(actor=acme["admin"], request=request, approve=True, note="")
    client.force_login(acme["admin"])
    response = client.post(
        decide_url(request), {"decision": "reject", "note": "Changed my mind"}, follow=True
    )
    assert "was decided already: approved by Admin Acme" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_a_decision_without_a_choice_is_refused_with_what_to_do(client, acme, submit):
    request = submit(acme)
    client.force_login(acme["admin"])
    response = client.post(decide_url(request), {"decision": "maybe"}, follow=True)
    assert "Choose Approve or Reject." in response.content.decode()
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_outsider_gets_404_on_a_decision(client, acme, submit, outsider):
    request = submit(acme)
    client.force_login(outsider)
    response = client.post(decide_url(request), {"decision": "approve"})
    assert response.status_code == 404
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_end_user_gets_403_on_the_approvals_page_and_a_decision(client, acme, submit):
    request = submit(acme)
    client.force_login(acme["eve"])
    assert client.get(LIST).status_code == 403
    assert client.post(decide_url(request), {"decision": "approve"}).status_code == 403
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING


def test_catalog_administrators_decide_the_msp_step_and_follow_the_others(
    client, acme, submit, catalog_admin
):
    set_policy(acme["service"], ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP)
    waiting_for_customer = submit(acme)
    waiting_for_msp = submit(acme)
    approval_decide(actor=acme["admin"], request=waiting_for_msp, approve=True, note="")
    client.force_login(catalog_admin)
    mine = client.get(LIST).context["page"].rows
    assert [s.request_id for s in mine] == [waiting_for_msp.pk]
    every = client.get(LIST, {"show": "all"})
    rows = every.context["page"].rows
    assert {s.request_id: s.yours for s in rows} == {
        waiting_for_customer.pk: False,
        waiting_for_msp.pk: True,
    }
    assert "The customer's administrators decide this step." in every.content.decode()


def test_the_count_in_the_navigation(client, acme, submit):
    client.force_login(acme["admin"])
    home = client.get(reverse("entitlements:home"))
    assert reverse("approvals:approval_count") in home.content.decode()
    assert client.get(reverse("approvals:approval_count")).content.strip() == b""
    submit(acme)
    submit(acme)
    badge = client.get(reverse("approvals:approval_count")).content.decode()
    assert 'data-testid="approvals-count"' in badge and ">2<" in badge


def test_end_users_have_no_approvals_entry(client, acme):
    client.force_login(acme["eve"])
    page = client.get(reverse("portal:catalog"))
    assert LIST not in page.content.decode()


def test_the_requester_sees_who_decides_then_what_was_decided_and_the_timeline(
    client, acme, submit
):
    request = submit(acme)
    detail = reverse("portal:request_detail", kwargs={"pk": request.pk})
    client.force_login(acme["eve"])
    page = client.get(detail).content.decode()
    assert "Waiting for an administrator of Acme Corp to decide (Admin Acme" in page
    assert 'data-testid="approval-decide"' not in page
    approval_decide(actor=acme["admin"], request=request, approve=False, note="Not this year")
    page = client.get(detail).content.decode()
    assert "by Admin Acme" in page and "“Not this year”" in page
    timeline = page[page.index('data-testid="request-history"') :]
    for moment in (
        "Submitted",
        "Charged 10 credits",
        "Rejected as customer administrator (approval step 1)",
        "Refunded 10 credits",
    ):
        assert moment in timeline
    assert timeline.index("Submitted") < timeline.index("Rejected as") < timeline.index("Refunded")


def test_the_request_page_offers_the_approver_the_decision_not_a_manual_bypass(
    client, acme, submit
):
    request = submit(acme)
    client.force_login(acme["admin"])
    page = client.get(reverse("portal:request_detail", kwargs={"pk": request.pk}))
    assert [a[0] for a in page.context["actions"]] == [RequestStatus.CANCELLED]
    assert 'data-testid="approval-decide"' in page.content.decode()
    forced = client.post(
        reverse("portal:request_transition", kwargs={"pk": request.pk}),
        {"status": RequestStatus.REJECTED, "note": "x"},
        follow=True,
    )
    assert "is waiting for its approvers" in forced.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL


def ask_model(acme, catalog_admin):
    return question_add(
        actor=catalog_admin,
        service=acme["service"],
        kind=QuestionKind.SINGLE_CHOICE,
        label="Model",
        choices=["Standard", "Pro"],
        required=True,
    )


def test_approvers_decide_with_the_answers_in_view(client, acme, submit, catalog_admin):
    model = ask_model(acme, catalog_admin)
    submit(acme, answers={model.pk: "Pro"})
    client.force_login(acme["admin"])
    page = client.get(LIST).content.decode()
    answers = page[page.index('data-testid="approval-answers"') :]
    assert "Model" in answers and "Pro" in answers


@pytest.mark.parametrize("rows", [2, 30])
def test_the_approvals_page_costs_the_same_queries_at_any_size(
    client, acme, submit, catalog_admin, rows, django_assert_max_num_queries
):
    model = ask_model(acme, catalog_admin)
    for _ in range(rows):
        submit(acme, answers={model.pk: "Standard"})
    client.force_login(acme["admin"])
    client.get(LIST)  # warm the session
    # Eight at either size: the rows are one query, all their answers another.
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert len(response.context["page"].rows) == min(rows, 25)
    assert response.content.decode().count('data-testid="approval-answers"') == min(rows, 25)


def test_without_msp_mode_there_is_no_approvals_entry_nor_count(client, catalog_admin):
    client.force_login(catalog_admin)
    page = client.get(reverse("catalog:service_list")).content.decode()
    assert reverse("approvals:approval_count") not in page
    assert client.get(reverse("approvals:approval_count")).content == b""
