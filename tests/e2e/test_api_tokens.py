"""Browser check of the API tokens page (issue 18 item 2): a customer administrator creates a
read-write token from the top bar's link, sees it once, uses it with the API, and revokes it."""

import re

from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD

from .conftest import login


def test_a_token_is_created_shown_once_used_and_revoked(page, shot, tenant_a):
    login(page, tenant_a["admin"].username, PASSWORD)
    page.get_by_test_id("api-tokens-link").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("token-secret").input_value()
    assert re.fullmatch(r"msp_[\w-]{40,}", secret)
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    shot(page, "api_tokens_created_1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "api_tokens_created_390")
    page.set_viewport_size({"width": 1280, "height": 860})

    api = Client()
    listed = api.get(reverse("api:v1:request_list"), headers={"Authorization": f"Bearer {secret}"})
    assert listed.status_code == 200

    page.goto("/api/tokens/")
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    row = page.get_by_test_id("token-table").get_by_role("row", name=re.compile("CRM sync"))
    expect(row).to_contain_text("Read and write")
    expect(row).not_to_contain_text("never")  # its use was recorded
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    expect(row).to_contain_text("Revoked")
    shot(page, "api_tokens_revoked_1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "api_tokens_revoked_390")
    refused = api.get(reverse("api:v1:request_list"), headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    assert not page.console_errors


def test_the_api_reference_is_served_locally(page, shot, db):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto("/api/v1/docs/")
    expect(page.get_by_text("MSP Portal API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/requests/").first).to_be_visible()
    shot(page, "api_docs_1280")
    origin = page.url.split("/api/")[0]
    assert all(url.startswith(origin) for url in requests), "the reference loads nothing from a CDN"
    assert not page.console_errors
