"""An end user's request form, submitted twice from the browser, makes one request and one debit."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from credits.models import CreditAccount, CreditEntry
from entitlements.models import ServiceRequest
from tests.accounts.factories import PASSWORD
from tests.credits.factories import credit_management_on

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme(tenant_a, catalog_admin):
    credit_management_on(actor=catalog_admin, customer=tenant_a["customer"])
    return tenant_a


def test_the_same_form_posted_again_shows_the_first_request_and_charges_once(page, shot, acme):
    login(page, "acme-eve", PASSWORD)
    page.goto(f"/portal/catalog/{acme['service'].pk}/")
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Justification").fill("New starter in Finance")
    form = page.get_by_test_id("request-form")
    data = {
        name: form.locator(f"input[name={name}]").first.input_value()
        for name in ("csrfmiddlewaretoken", "submission_key")
    }
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/portal/my-requests/$"))
    request = ServiceRequest.objects.get()

    # The same form again, as a second click or a resent POST would send it.
    again = page.request.post(
        f"/portal/catalog/{acme['service'].pk}/request/",
        form={**data, "quantity": "2", "justification": "New starter in Finance"},
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert again.status == 302
    page.goto(again.headers["location"])
    expect(page).to_have_url(re.compile(rf"/portal/requests/{request.pk}/$"))
    expect(
        page.get_by_text(f"You submitted this form already: it made request #{request.pk}")
    ).to_be_visible()
    shot(page, "38-end-user-request-submitted-twice")

    assert ServiceRequest.objects.count() == 1
    assert CreditEntry.objects.filter(kind="debit").count() == 1
    assert CreditAccount.objects.get(customer=acme["customer"]).balance == Decimal("80")
