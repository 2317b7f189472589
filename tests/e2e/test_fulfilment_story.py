"""Issue 16's story in the browser: a request becomes a work order in the ITSM (the AR simulator),
a technician completes it there, the requester sees it fulfilled with the public note; a second
one rejected in Remedy is refunded once; the catalog administrator's Fulfilment pages."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import QuestionKind
from catalog.services import question_add
from credits.models import CreditAccount, CreditEntry
from entitlements.models import ServiceRequest
from fulfilment.models import TicketPush
from tests.accounts.factories import PASSWORD
from tests.fulfilment import conftest as fulfilment

from .conftest import login

pytestmark = pytest.mark.e2e
# The fulfilment tests' simulator and work-order service.
sim = fulfilment.sim
work_orders = fulfilment.work_orders


def _request(page, tenant, justification: str) -> ServiceRequest:
    page.goto(f"/portal/catalog/{tenant['service'].pk}/")
    page.get_by_label("Justification").fill(justification)
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/portal/my-requests/$"))
    return ServiceRequest.objects.filter(justification=justification).get()


def _technician(page, simulator, number: str, status: str, note="", access="Public") -> None:
    page.goto(f"{simulator.url}/__sim/console")
    ticket = page.locator(f'section[data-ticket="{number}"]')
    ticket.locator("select[name=status]").select_option(status)
    if note:
        ticket.locator("input[name=note]").fill(note)
        ticket.locator("select[name=view_access]").select_option(access)
    ticket.get_by_role("button", name="Apply").click()


def test_a_request_is_fulfilled_in_the_itsm_and_a_rejected_one_refunded_once(
    page, shot, sim, work_orders
):
    login(page, "acme-eve", PASSWORD)
    first = _request(page, work_orders, "New starter in Finance")
    push = TicketPush.objects.get(request=first)
    [ticket] = sim.tickets()
    assert ticket["Customer Company"] == work_orders["company"].name
    assert "New starter in Finance" in ticket["Detailed Description"]

    page.goto(f"/portal/requests/{first.pk}/")
    expect(page.get_by_test_id("ticket-number")).to_have_text(push.number)
    shot(page, "fulfilment-request-sent-1280")

    _technician(page, sim, push.number, "In Progress", "Supplier invoice disputed", "Internal")
    _technician(page, sim, push.number, "Completed", "Your laptop is at desk 4.12")
    shot(page, "fulfilment-technician-console-1280")

    page.goto(f"/portal/requests/{first.pk}/")
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_test_id("request-status")).to_contain_text("Fulfilled")
    expect(page.get_by_test_id("ticket-notes")).to_contain_text("Your laptop is at desk 4.12")
    expect(page.get_by_text("Supplier invoice disputed")).to_have_count(0)
    shot(page, "fulfilment-request-fulfilled-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "fulfilment-request-fulfilled-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    balance = CreditAccount.objects.get(customer=work_orders["customer"]).balance
    second = _request(page, work_orders, "Spare for the meeting room")
    number = TicketPush.objects.get(request=second).number
    _technician(page, sim, number, "Rejected")
    for _ in range(2):  # read twice: refunded once
        page.goto(f"/portal/requests/{second.pk}/")
        page.get_by_role("button", name="Check now").click()
    expect(page.get_by_test_id("request-status")).to_contain_text("Rejected")
    assert CreditEntry.objects.filter(request_id=second.pk, kind="refund").count() == 1
    assert CreditAccount.objects.get(customer=work_orders["customer"]).balance == balance
    assert page.console_errors == []


def test_the_catalog_administrator_sees_a_stuck_request_and_retries_it(
    page, shot, sim, work_orders, catalog_admin, settings
):
    settings.FULFILMENT_MAX_ATTEMPTS = 1
    sim.set_faults(fail_creates=1)
    login(page, "acme-eve", PASSWORD)
    request = _request(page, work_orders, "While the ITSM is down")
    page.goto(f"/portal/requests/{request.pk}/")
    expect(page.get_by_test_id("ticket-state")).to_contain_text("Waiting to reach the service desk")
    page.context.clear_cookies()

    login(page, "catadmin", PASSWORD)
    page.goto("/fulfilment/")
    row = page.get_by_test_id(f"push-{request.ticket.pk}")
    expect(row).to_contain_text("Stuck")
    expect(row).to_contain_text("AR 552")
    shot(page, "fulfilment-page-stuck-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "fulfilment-page-stuck-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    row.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("is being sent again")).to_be_visible()
    assert TicketPush.objects.get(pk=request.ticket.pk).state == "created"
    assert len(sim.tickets()) == 1

    question_add(
        actor=catalog_admin,
        service=work_orders["service"],
        kind=QuestionKind.SHORT_TEXT,
        label="Cost centre",
    )
    page.goto(f"/catalog/services/{work_orders['service'].pk}/")
    page.get_by_test_id("service-fulfilment-link").click()
    page.get_by_label("Questions in work-order fields").fill("Cost centre | 11 | Cost centre")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("has no field WO Type Field 11")).to_be_visible()
    shot(page, "fulfilment-settings-refused-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "fulfilment-settings-refused-390")
    assert page.console_errors == []
