"""Issue 15 "done when", in the browser: a catalog administrator adds questions and an approval
policy to a service; an end user requests it for a colleague; the customer's administrator
approves from the link in their e-mail; a catalog administrator approves on the Approvals page;
the requester (and the colleague) see the timeline of who did what when."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from approvals.models import ApprovalStep, StepStatus
from entitlements.models import RequestStatus, ServiceRequest
from tests.accounts.factories import PASSWORD
from tests.credits.factories import credit_management_on

from .conftest import add_question, both_widths, login, request_form_for_ed

pytestmark = pytest.mark.e2e

LINK = re.compile(r"^(Approve|Reject): (http\S+)$", re.MULTILINE)


def test_questions_policy_colleague_email_approval_portal_approval_timeline(
    page, shot, tenant_a, catalog_admin
):
    customer, service = tenant_a["customer"], tenant_a["service"]
    credit_management_on(actor=catalog_admin, customer=customer)
    tenant_a["admin"].email = "admin@acme.example"
    tenant_a["admin"].save()

    # 1. The catalog administrator adds questions and the approval policy.
    login(page, "catadmin", PASSWORD)
    page.goto(f"/catalog/services/{service.pk}/")
    add_question(page, "Model", "Single choice", choices=["Standard", "Pro"], required=True)
    add_question(page, "Where should it go?", "Short text")
    page.get_by_label("Approval", exact=True).select_option(
        label="A customer administrator, then an MSP catalog administrator"
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("saved", exact=False).first).to_be_visible()
    service.refresh_from_db()
    assert service.approval_policy == "customer_admin_then_msp"
    assert service.questions.count() == 2

    # 2. The end user requests it for a colleague, answering the questions.
    form = request_form_for_ed(page, service, justification="Ed starts on Monday")
    form.get_by_label("Quantity").fill("2")
    answers = form.get_by_test_id("answers")
    answers.get_by_label("Pro").check()
    answers.get_by_label("Where should it go?").fill("Desk 4.12")
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/portal/my-requests/$"))
    request = ServiceRequest.objects.get()
    assert (request.beneficiary, request.status) == (
        tenant_a["ed"],
        RequestStatus.AWAITING_APPROVAL,
    )

    # 3. The customer's administrator approves from the link in their e-mail.
    [message] = [m for m in mail.outbox if "admin@acme.example" in m.to]
    assert "Eve Finch asked for 2 × Laptop for Ed Stone" in message.body
    assert "- Model: Pro" in message.body and "- Where should it go?: Desk 4.12" in message.body
    approve = re.sub(r"^https?://[^/]+", "", dict(LINK.findall(message.body))["Approve"])
    page.context.clear_cookies()
    login(page, "acme-admin", PASSWORD)
    page.goto(approve)
    confirm = page.get_by_test_id("link-request")
    expect(confirm).to_contain_text("Ed Stone")
    expect(page.get_by_test_id("link-answers")).to_contain_text("Desk 4.12")
    page.get_by_label(re.compile("Note for the requester")).fill("Pro is fine for Ed's role")
    both_widths(page, shot, "approvals-story-01-email-link")
    page.get_by_role("button", name=f"Approve request #{request.pk}").click()
    expect(page.get_by_text("it now waits for an MSP catalog administrator")).to_be_visible()
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_APPROVAL

    # 4. A catalog administrator approves on the Approvals page.
    page.context.clear_cookies()
    login(page, "catadmin", PASSWORD)
    menu = page.get_by_role("navigation", name="Main navigation")
    expect(menu.get_by_test_id("approvals-count")).to_have_text("1")
    menu.get_by_role("link", name=re.compile("Approvals")).click()
    row = page.get_by_test_id("approval-row").filter(has_text=f"Request #{request.pk}")
    expect(row).to_contain_text("for Ed Stone")
    both_widths(page, shot, "approvals-story-02-msp-approvals")
    row.get_by_placeholder("Note for the requester").fill("In stock, ships tomorrow")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"You approved request #{request.pk}: it is approved")).to_be_visible()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert list(ApprovalStep.objects.filter(request=request).values_list("status", flat=True)) == [
        StepStatus.APPROVED,
        StepStatus.APPROVED,
    ]

    # 5. The requester sees the timeline; the colleague sees the same request.
    for who in ("acme-eve", "acme-ed"):
        page.context.clear_cookies()
        login(page, who, PASSWORD)
        page.goto(f"/portal/requests/{request.pk}/")
        expect(page.get_by_test_id("request-status")).to_contain_text("Approved")
        timeline = page.get_by_test_id("request-history")
        for moment in (
            "Submitted",
            "Charged 20 credits",
            "Approved as customer administrator (approval step 1)",
            "Pro is fine for Ed's role",
            "Approved as MSP catalog administrator (approval step 2)",
            "In stock, ships tomorrow",
        ):
            expect(timeline).to_contain_text(moment)
        expect(page.get_by_test_id("request-answers")).to_contain_text("Desk 4.12")
    both_widths(page, shot, "approvals-story-03-timeline")
    assert page.console_errors == [], page.console_errors[:3]
