"""Approvals in the browser: the Approvals page with its count in the menu, a decision with its
note, the requester's view of it; the e-mailed link's confirmation page, confirmed once."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from approvals.models import ApprovalStep, StepStatus
from catalog.models import ApprovalPolicy
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_submit
from tests.accounts.factories import PASSWORD
from tests.credits.factories import credit_management_on

from .conftest import both_widths, login

pytestmark = pytest.mark.e2e

LINK = re.compile(r"^(Approve|Reject): (http\S+)$", re.MULTILINE)


@pytest.fixture
def acme(tenant_a, catalog_admin):
    credit_management_on(actor=catalog_admin, customer=tenant_a["customer"])
    service = tenant_a["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    return tenant_a


def submit(tenant, quantity=1, justification="New starter in Finance"):
    return request_submit(
        actor=tenant["eve"], service=tenant["service"], quantity=quantity,
        justification=justification,
    )  # fmt: skip


def test_an_administrator_decides_on_the_approvals_page_and_the_requester_sees_it(page, shot, acme):
    first = submit(acme, quantity=2)
    submit(acme, quantity=1, justification="Replacement for a broken one")
    login(page, "acme-admin", PASSWORD)
    menu = page.get_by_role("navigation", name="Main navigation")
    expect(menu.get_by_test_id("approvals-count")).to_have_text("2")
    menu.get_by_role("link", name=re.compile("Approvals")).click()
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()
    rows = page.get_by_test_id("approval-row")
    expect(rows).to_have_count(2)
    both_widths(page, shot, "approvals-page")

    row = rows.filter(has_text=f"Request #{first.pk}")
    row.get_by_placeholder("Note for the requester").fill("Not in this quarter's budget")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Reject").click()
    expect(page.get_by_text(f"You rejected request #{first.pk}")).to_be_visible()
    expect(page.get_by_test_id("approval-row")).to_have_count(1)
    expect(menu.get_by_test_id("approvals-count")).to_have_text("1")
    first.refresh_from_db()
    assert first.status == RequestStatus.REJECTED

    # The requester sees what was decided, by whom, with the note, and the timeline.
    page.context.clear_cookies()
    login(page, "acme-eve", PASSWORD)
    page.goto(f"/portal/requests/{first.pk}/")
    expect(page.get_by_test_id("request-status")).to_contain_text("Rejected")
    panel = page.get_by_test_id("approval-panel")
    expect(panel).to_contain_text("by Admin Acme")
    expect(panel).to_contain_text("Not in this quarter's budget")
    timeline = page.get_by_test_id("request-history")
    for moment in (
        "Submitted",
        "Charged 20 credits",
        "Rejected as customer administrator",
        "Refunded 20 credits",
    ):
        expect(timeline).to_contain_text(moment)
    both_widths(page, shot, "approvals-requester-sees-decision")
    assert page.console_errors == []


def test_the_email_link_opens_a_confirmation_and_works_once(page, shot, acme):
    acme["admin"].email = "admin@acme.example"
    acme["admin"].save()
    request = submit(acme, quantity=3)
    [message] = [m for m in mail.outbox if "admin@acme.example" in m.to]
    links = dict(LINK.findall(message.body))
    approve = re.sub(r"^https?://[^/]+", "", links["Approve"])

    login(page, "acme-admin", PASSWORD)
    page.goto(approve)
    expect(page.get_by_role("heading", name=f"Approve request #{request.pk}?")).to_be_visible()
    expect(page.get_by_test_id("link-request")).to_contain_text("New starter in Finance")
    expect(page.get_by_test_id("link-request")).to_contain_text("30 credits")
    both_widths(page, shot, "approvals-email-link-confirm")
    # Opening the link decided nothing.
    assert ApprovalStep.objects.get(request=request).status == StepStatus.PENDING

    page.get_by_label(re.compile("Note for the requester")).fill("Enjoy")
    page.get_by_role("button", name=f"Approve request #{request.pk}").click()
    expect(page).to_have_url(re.compile(rf"/portal/requests/{request.pk}/$"))
    expect(page.get_by_text(f"You approved request #{request.pk}")).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_contain_text("Approved")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED

    # The same link again: it says so, and nothing changes.
    page.goto(approve)
    expect(page.get_by_test_id("link-refusal")).to_contain_text("used already")
    both_widths(page, shot, "approvals-email-link-used")
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.APPROVED
    assert page.console_errors == []


def test_an_approver_decides_from_the_request_page(page, shot, acme):
    request = submit(acme, quantity=1, justification="Second screen for the new desk")
    login(page, "acme-admin", PASSWORD)
    page.goto(f"/portal/requests/{request.pk}/")
    panel = page.get_by_test_id("approval-panel")
    expect(panel.get_by_test_id("approval-waiting")).to_contain_text(
        "Waiting for an administrator of Acme Corp to decide (Admin Acme; any one of them)"
    )
    # No hand-made Reject beside the approval: only Cancel remains among the transitions.
    actions = page.get_by_test_id("request-actions")
    expect(actions.get_by_role("button", name="Reject")).to_have_count(0)
    both_widths(page, shot, "approvals-request-page-decide")
    panel.get_by_label(re.compile("Note for the requester")).fill("Approved for the new desk")
    panel.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"You approved request #{request.pk}: it is approved")).to_be_visible()
    expect(page.get_by_test_id("request-status")).to_contain_text("Approved")
    expect(page.get_by_test_id("approval-panel")).to_contain_text("Approved for the new desk")
    assert page.console_errors == []
