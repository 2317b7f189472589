"""Crafted links open the page with a message, never the error page (issue 12, item 2)."""

import base64
import json

import pytest
from playwright.sync_api import expect

from entitlements.services import request_submit
from tests.accounts.factories import PASSWORD

from .conftest import login

pytestmark = pytest.mark.e2e

FAR = "Pick a day between 1900-01-01 and 2999-12-31, or clear it."


def test_a_crafted_request_list_link_explains_the_far_day_and_still_lists(page, shot, tenant_a):
    request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="New hire"
    )
    login(page, tenant_a["admin"].username, PASSWORD)
    cursor = base64.urlsafe_b64encode(json.dumps([None, None]).encode()).decode()
    page.goto(f"/portal/requests/?date_to=9999-12-31&requester=%00&after={cursor}")
    filters = page.get_by_test_id("request-filters")
    expect(filters).to_contain_text(FAR)
    expect(page.get_by_test_id("request-table")).to_contain_text("Laptop")
    # The date pickers themselves offer only the days a filter can use.
    expect(filters.locator("input[name=date_to]")).to_have_attribute("max", "2999-12-31")
    expect(filters.locator("input[name=date_from]")).to_have_attribute("min", "1900-01-01")
    shot(page, "90-request-list-far-day")


def test_a_crafted_audit_trail_link_explains_the_far_day(page, shot, system_admin):
    login(page, "sysadmin", PASSWORD)
    page.goto("/audit/?date_from=0001-01-01&actor=%00")
    expect(page.get_by_text(f"From: {FAR}")).to_be_visible()
    expect(page.get_by_test_id("audit-table")).to_be_visible()
    shot(page, "91-audit-far-day")
