"""Nobody decides their own request, in the browser: the customer's only administrator requests a
service that needs a customer administrator's approval; their request page says who decides now
and why, with no buttons for them, and the timeline says the step went to the MSP; their
Approvals page doesn't list it; a catalog administrator finds it on theirs and approves it."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import ApprovalPolicy
from entitlements.models import RequestStatus
from entitlements.services import request_submit
from tests.accounts.factories import PASSWORD
from tests.credits.factories import credit_management_on

from .conftest import both_widths, login

pytestmark = pytest.mark.e2e


def _admins_own_request(tenant, catalog_admin, policy):
    """Customer A's only administrator asks for its Laptop, which needs approval by policy."""
    credit_management_on(actor=catalog_admin, customer=tenant["customer"])
    service = tenant["service"]
    service.approval_policy = policy
    service.save(update_fields=["approval_policy"])
    return request_submit(
        actor=tenant["admin"], service=service, quantity=1, justification="My own laptop"
    )


def test_the_only_administrators_request_goes_to_the_catalog_administrators(
    page, shot, tenant_a, catalog_admin
):
    request = _admins_own_request(tenant_a, catalog_admin, ApprovalPolicy.CUSTOMER_ADMIN)

    login(page, "acme-admin", PASSWORD)
    page.goto(f"/portal/requests/{request.pk}/")
    panel = page.get_by_test_id("approval-panel")
    expect(panel).to_contain_text("Waiting for an MSP catalog administrator to decide")
    expect(panel.get_by_test_id("approval-routed")).to_contain_text(
        "Admin Acme asked for it and is the only administrator of Acme Corp"
    )
    expect(panel.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_test_id("request-history")).to_contain_text(
        "Sent to the MSP's catalog administrators (approval step 1)"
    )
    both_widths(page, shot, "self-approval-01-requester-page")

    page.goto("/approvals/")
    expect(page.get_by_test_id("approval-row")).to_have_count(0)
    expect(page.get_by_text("Nothing is waiting for you.")).to_be_visible()

    page.context.clear_cookies()
    login(page, "catadmin", PASSWORD)
    menu = page.get_by_role("navigation", name="Main navigation")
    menu.get_by_role("link", name=re.compile("Approvals")).click()
    row = page.get_by_test_id("approval-row").filter(has_text=f"Request #{request.pk}")
    expect(row).to_contain_text("in place of the customer's")
    both_widths(page, shot, "self-approval-02-msp-approvals")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"You approved request #{request.pk}: it is approved")).to_be_visible()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert page.console_errors == []


def test_two_approvals_come_from_two_catalog_administrators(page, shot, tenant_a, catalog_admin):
    """The only administrator asks for a service that needs a customer administrator, then the
    MSP: the first catalog administrator approves step 1 and is not offered step 2, which the
    second catalog administrator approves."""
    from accounts.roles import CATALOG_ADMIN
    from accounts.services import user_role_grant
    from tests.accounts.factories import UserFactory

    second = UserFactory(username="catadmin2", first_name="Bea", company=catalog_admin.company)
    second.set_password(PASSWORD)
    second.save()
    user_role_grant(actor=None, user=second, role=CATALOG_ADMIN)
    request = _admins_own_request(tenant_a, catalog_admin, ApprovalPolicy.CUSTOMER_ADMIN_THEN_MSP)

    login(page, "catadmin", PASSWORD)
    page.goto("/approvals/")
    row = page.get_by_test_id("approval-row").filter(has_text=f"Request #{request.pk}")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"You approved request #{request.pk}")).to_be_visible()
    expect(page.get_by_test_id("approval-row")).to_have_count(0)
    page.goto("/approvals/?show=all")
    row = page.get_by_test_id("approval-row").filter(has_text=f"Request #{request.pk}")
    expect(row).to_contain_text("You approved an earlier step of this request")
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    both_widths(page, shot, "self-approval-04-all-waiting-not-theirs")
    page.goto(f"/portal/requests/{request.pk}/")
    panel = page.get_by_test_id("approval-panel")
    expect(panel).to_contain_text("Waiting for another MSP catalog administrator to decide.")
    expect(panel.get_by_test_id("approval-second")).to_be_visible()
    expect(panel.get_by_role("button", name="Approve")).to_have_count(0)
    both_widths(page, shot, "self-approval-03-second-step-not-theirs")

    page.context.clear_cookies()
    login(page, "catadmin2", PASSWORD)
    page.goto("/approvals/")
    row = page.get_by_test_id("approval-row").filter(has_text=f"Request #{request.pk}")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"You approved request #{request.pk}: it is approved")).to_be_visible()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert page.console_errors == []
