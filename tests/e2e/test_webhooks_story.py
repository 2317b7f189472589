"""Webhooks end to end: a customer administrator adds an endpoint in the browser, copies its
secret from the page, and a real receiver on loopback gets the customer's events signed with it;
a failed delivery shows its error in the log and Resend delivers it."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from standardwebhooks import Webhook

from entitlements.models import RequestStatus
from entitlements.services import request_submit, request_transition
from tests.accounts.factories import PASSWORD
from tests.webhooks.receiver import Receiver
from webhooks.models import WebhookEndpoint

from .conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver listens on loopback
    # Fails while `down` is set, as a receiver being deployed would.
    state = {"down": False}
    receiver = Receiver(answer=lambda n: 503 if state["down"] else 200).start()
    receiver.state = state
    yield receiver
    receiver.stop()


def test_a_customer_administrator_wires_their_crm_to_request_events(
    page, shot, tenant_a, tenant_b, receiver
):
    login(page, "acme-admin", PASSWORD)
    page.get_by_role("link", name="Webhooks").first.click()
    expect(page.get_by_test_id("endpoint-table")).to_contain_text("No endpoint yet")
    page.get_by_role("link", name="Add endpoint").click()

    # A typo in the address is refused with what to do, and nothing is added.
    page.get_by_label("Receiver URL").fill("hooks.acme.example/portal")
    page.get_by_label("Request created").check()
    page.get_by_label("Request status changed").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("Did you mean https://hooks.acme.example/portal?")).to_be_visible()
    # A customer's endpoint can't choose sync runs: they belong to no customer.
    expect(page.get_by_label("ITSM sync run finished")).to_have_count(0)
    shot(page, "94-webhooks-add-refused")

    page.get_by_label("Receiver URL").fill(receiver.url)
    page.get_by_label("Description").fill("Acme CRM")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("Endpoint added.")).to_be_visible()
    secret = page.get_by_test_id("secret").input_value()
    assert secret.startswith("whsec_")
    shot(page, "95-webhooks-endpoint-secret")

    # Eve asks for a laptop; B's people do too, which Acme's CRM never hears of.
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="New starter"
    )
    request_submit(
        actor=tenant_b["eve"], service=tenant_b["service"], quantity=1, justification="Other"
    )
    [created] = [Webhook(secret).verify(p.body, p.headers) for p in receiver.accepted]
    assert created["type"] == "request.created"
    assert created["data"]["request"]["customer"]["name"] == "Acme Corp"

    # The CRM is down while the request moves on: the log says so …
    receiver.state["down"] = True
    request_transition(actor=tenant_a["admin"], request=request, status=RequestStatus.IN_PROGRESS)
    page.reload()
    log = page.get_by_test_id("delivery-table")
    expect(log.get_by_test_id("delivery-row")).to_have_count(2)
    expect(log).to_contain_text("503")
    expect(log).to_contain_text("Delivered")
    expect(page.get_by_test_id("secret")).to_have_count(0)  # shown once, hidden again
    shot(page, "96-webhooks-delivery-log-failed")

    # … and once it is back, Resend delivers the same message.
    receiver.state["down"] = False
    log.get_by_test_id("delivery-row").first.get_by_role("button", name="Resend").click()
    expect(page.get_by_text("queued to be sent again with the same id")).to_be_visible()
    expect(page.get_by_test_id("delivery-table")).not_to_contain_text("503")
    changed = Webhook(secret).verify(receiver.accepted[-1].body, receiver.accepted[-1].headers)
    assert changed["data"]["new_status"] == "in_progress"
    shot(page, "97-webhooks-resent")

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "97-webhooks-resent-390")
    page.get_by_role("link", name="Webhooks").first.click()
    expect(page.get_by_test_id("endpoint-table")).to_contain_text("Acme CRM")
    shot(page, "98-webhooks-list-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    shot(page, "98-webhooks-list")
    assert WebhookEndpoint.objects.get().customer == tenant_a["customer"]
    assert page.console_errors == []


def test_a_catalog_administrator_adds_a_catalog_wide_endpoint(page, shot, catalog_admin, tenant_a):
    login(page, "catadmin", PASSWORD)
    page.goto(reverse("webhooks:endpoint_add"))
    expect(page.get_by_label("Customer")).to_contain_text("All customers (catalog-wide)")
    page.get_by_label("Receiver URL").fill("https://billing.msp.example/hooks")
    page.get_by_label("ITSM sync run finished").check()
    page.get_by_label("Balance below zero").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("All customers' events (catalog-wide)")).to_be_visible()
    page.goto(reverse("webhooks:endpoint_list"))
    expect(page.get_by_test_id("endpoint-table")).to_contain_text("All customers")
    shot(page, "99-webhooks-catalog-list")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "99-webhooks-catalog-list-390")
    assert page.console_errors == []
