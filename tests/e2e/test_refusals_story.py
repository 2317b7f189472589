"""A catalog administrator sees who a people sync could not give a portal account, and why: on
the run's page and on the customer's end-user page."""

import re

import pytest
from playwright.sync_api import expect

from customers.tasks import apply_user_filters
from tests.accounts.factories import PASSWORD
from tests.itsm_sync.factories import PersonFactory, SyncRunFactory

from .conftest import login

pytestmark = pytest.mark.e2e


def test_people_refused_an_account_are_shown_with_the_reason(page, shot, tenant_a):
    customer = tenant_a["customer"]
    PersonFactory(
        company=tenant_a["company"],
        remedy_login_id="Jane Contractor (ext)",
        email="jane@example.com",
        first_name="Jane",
        last_name="Contractor",
    )
    run = SyncRunFactory(seen=1, updated=1)
    apply_user_filters(run_id=run.pk)  # what the end of a people sync sets off

    login(page, "catadmin", PASSWORD)
    page.goto(f"/itsm/sync/runs/{run.pk}/")
    expect(page.get_by_test_id("run-message")).to_contain_text("1 person got no portal account")
    expect(page.get_by_test_id("run-counts")).to_contain_text("Rejected")
    table = page.get_by_test_id("rejected-table")
    expect(table).to_contain_text("Remedy Login ID 'Jane Contractor (ext)'")
    expect(table).to_contain_text("Correct it in ITSM")
    shot(page, "56-itsm-run-person-refused")

    page.goto(f"/customers/{customer.pk}/end-users/")
    refusals = page.get_by_test_id("end-user-refusals")
    expect(refusals).to_contain_text("Jane Contractor")
    expect(refusals).to_contain_text("Enter a valid username")
    refusals.get_by_role("link", name=f"Sync run #{run.pk}").click()
    expect(page).to_have_url(re.compile(rf"/runs/{run.pk}/\?tab=rejected$"))
    page.go_back()
    expect(page.get_by_test_id("end-user-table")).to_contain_text("acme-eve")
    shot(page, "57-customer-end-users-refused")
