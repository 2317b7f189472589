"""Status and public notes back from the ITSM; refunds exactly once; cancelling in the ITSM first."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from credits.models import CreditAccount, CreditEntry
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_transition
from fulfilment.models import PollCursor, TicketNote
from fulfilment.services import ticket_apply, ticket_status_poll
from msp_portal.models import Notification

from .conftest import pushed

pytestmark = pytest.mark.django_db


def _balance(tenant) -> Decimal:
    return CreditAccount.objects.get(customer=tenant["customer"]).balance


def _refunds(request) -> int:
    return CreditEntry.objects.filter(request_id=request.pk, kind="refund").count()


def test_a_technicians_status_comes_back_to_the_request_with_its_reason(sim, work_orders):
    push = pushed(work_orders)

    ticket_status_poll()
    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.IN_PROGRESS  # Assigned

    sim.ticket_act(push.number, status="Completed", reason="Laptop handed over")
    counts = ticket_status_poll()

    request.refresh_from_db()
    assert counts["changed"] == 1
    assert request.status == RequestStatus.FULFILLED
    assert "Completed: Laptop handed over" in request.status_note
    push.refresh_from_db()
    assert (push.itsm_status, push.itsm_status_reason) == ("Completed", "Laptop handed over")
    eve = work_orders["eve"]
    assert Notification.objects.filter(user=eve, title__contains="is fulfilled").count() == 1
    assert any("fulfilled" in m.subject and eve.email in m.to for m in mail.outbox)


def test_reading_the_same_status_again_changes_and_tells_nothing_more(sim, work_orders):
    push = pushed(work_orders)
    sim.ticket_act(push.number, status="Completed")
    ticket_status_poll()
    told = Notification.objects.count()

    PollCursor.objects.update(cursor="")  # read every ticket again from the start
    assert ticket_status_poll()["changed"] == 0
    assert Notification.objects.count() == told


def test_each_itsm_status_maps_onto_what_the_requester_sees(sim, work_orders):
    seen = {}
    for itsm_status in ("Pending", "Waiting Approval", "Planning", "In Progress", "Rejected"):
        push = pushed(work_orders)
        sim.ticket_act(push.number, status=itsm_status)
        ticket_status_poll()
        seen[itsm_status] = ServiceRequest.objects.get(pk=push.request_id).status
    assert seen == {
        "Pending": "in_progress",
        "Waiting Approval": "in_progress",
        "Planning": "in_progress",
        "In Progress": "in_progress",
        "Rejected": "rejected",
    }


def test_closed_keeps_the_final_state(sim, work_orders):
    push = pushed(work_orders)
    sim.ticket_act(push.number, status="Rejected", reason="Not entitled")
    ticket_status_poll()
    sim.ticket_act(push.number, status="Closed")
    ticket_status_poll()

    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.REJECTED
    assert _refunds(request) == 1


def test_public_notes_show_on_the_request_page_internal_ones_never(
    sim, work_orders, client, tenant_b
):
    push = pushed(work_orders)
    sim.ticket_act(push.number, note="Your laptop ships on Monday", view_access="Public")
    sim.ticket_act(push.number, note="Supplier invoice 4711 disputed", view_access="Internal")

    ticket_status_poll()

    assert list(TicketNote.objects.values_list("text", flat=True)) == [
        "Your laptop ships on Monday"
    ]
    client.force_login(work_orders["eve"])
    page = client.get(reverse("portal:request_detail", args=[push.request_id])).text
    assert push.number in page
    assert "Your laptop ships on Monday" in page
    assert "Supplier invoice" not in page
    assert Notification.objects.filter(
        user=work_orders["eve"], title__contains="a note from the service desk"
    ).exists()
    # Another customer's administrator sees neither the request nor its ticket.
    client.force_login(tenant_b["admin"])
    assert client.get(reverse("portal:request_detail", args=[push.request_id])).status_code == 404
    refresh = reverse("fulfilment:request_refresh", args=[push.request_id])
    assert client.post(refresh).status_code == 404


def test_a_rejection_read_twice_refunds_once(sim, work_orders):
    push = pushed(work_orders)
    assert _balance(work_orders) == Decimal("80")
    sim.ticket_act(push.number, status="Rejected", reason="Out of stock")

    ticket_status_poll()
    PollCursor.objects.update(cursor="")
    ticket_status_poll()
    ticket_apply(push=push, itsm_status="Rejected", reason="Out of stock")

    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.REJECTED
    assert _refunds(request) == 1
    assert _balance(work_orders) == Decimal("100")


@pytest.mark.django_db(transaction=True)
def test_a_rejection_read_while_the_portal_cancels_refunds_once(sim, work_orders, customer_admin):
    push = pushed(work_orders)
    # The technician rejects; at the same moment the customer's administrator cancels.
    request = ServiceRequest.objects.get(pk=push.request_id)
    sim.ticket_act(push.number, status="Rejected")
    barrier = threading.Barrier(2)
    outcomes = []

    def read_back():
        barrier.wait()
        try:
            outcomes.append(ticket_apply(push=push, itsm_status="Rejected"))
        finally:
            connection.close()  # this thread's own connection

    def cancel():
        barrier.wait()
        try:
            request_transition(actor=customer_admin, request=request, status="cancelled")
            outcomes.append("cancelled")
        except Exception as error:  # the ITSM refuses (rejected) or the request is rejected
            outcomes.append(type(error).__name__)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=read_back), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    request.refresh_from_db()
    assert request.status in (RequestStatus.REJECTED, RequestStatus.CANCELLED)
    assert _refunds(request) == 1
    assert _balance(work_orders) == Decimal("100")


def test_cancelling_in_the_portal_cancels_the_work_order_first_then_refunds(
    sim, work_orders, client
):
    push = pushed(work_orders)  # approved, its work order Assigned
    client.force_login(work_orders["eve"])

    client.post(reverse("portal:request_cancel", args=[push.request_id]), {"next": "detail"})

    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.CANCELLED
    [ticket] = sim.tickets()
    assert ticket["Status"] == "Cancelled"
    assert _refunds(request) == 1
    # Read back later, the Cancelled work order changes nothing more.
    ticket_status_poll()
    assert _refunds(request) == 1


def test_a_cancellation_the_itsm_refuses_keeps_the_request_and_says_why(
    sim, work_orders, client, customer_admin
):
    push = pushed(work_orders)
    sim.ticket_act(push.number, status="In Progress")
    ticket_status_poll()
    client.force_login(customer_admin)

    answer = client.post(
        reverse("portal:request_transition", args=[push.request_id]),
        {"status": "cancelled", "note": "No longer needed"},
        follow=True,
    )

    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.IN_PROGRESS
    assert _refunds(request) == 0
    assert "did not cancel work order" in answer.text
    assert "In Progress" in answer.text
    assert sim.tickets()[0]["Status"] == "In Progress"


def test_a_public_note_is_a_webhook_event_of_its_customer_once(sim, work_orders):
    from tests.webhooks.factories import WebhookEndpointFactory
    from webhooks.models import Event, WebhookDelivery

    endpoint = WebhookEndpointFactory(
        customer=work_orders["customer"], events=[Event.REQUEST_NOTE_ADDED]
    )
    push = pushed(work_orders)
    sim.ticket_act(push.number, note="Ships Monday", view_access="Public")
    sim.ticket_act(push.number, note="Invoice disputed", view_access="Internal")

    ticket_status_poll()
    PollCursor.objects.update(cursor="")
    ticket_status_poll()

    [delivery] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert delivery.payload["data"]["note"]["text"] == "Ships Monday"


def test_cancelling_after_a_lost_answer_finds_and_cancels_the_ticket_that_attempt_made(
    sim, work_orders, client
):
    from fulfilment.models import PushState
    from fulfilment.services import ticket_push

    from .conftest import submit

    request = submit(work_orders)
    sim.set_faults(lose_create_responses=1)
    assert ticket_push(push_id=request.ticket.pk).state == PushState.WAITING
    client.force_login(work_orders["eve"])

    client.post(reverse("portal:request_cancel", args=[request.pk]))

    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    [ticket] = sim.tickets()
    assert ticket["Status"] == "Cancelled"
    assert _refunds(request) == 1
    # The push is never sent again: still one work order.
    assert ticket_push(push_id=request.ticket.pk).state == PushState.CREATED
    assert len(sim.tickets()) == 1
