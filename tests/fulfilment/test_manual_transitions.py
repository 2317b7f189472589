"""A request fulfilled in the ITSM moves by the ITSM's status only: its handlers may cancel it
(the ticket is cancelled there first), never start or fulfil it by hand."""

import pytest
from django.urls import reverse

from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_transition, request_transitions_for
from fulfilment.models import FulfilmentSettings, TicketPush
from fulfilment.services import ticket_status_poll
from msp_portal.errors import DomainError

from .conftest import pushed, submit

pytestmark = pytest.mark.django_db


def test_a_handler_posting_fulfilled_on_an_itsm_fulfilled_request_is_refused(
    sim, work_orders, client
):
    push = pushed(work_orders)
    admin = work_orders["admin"]
    client.force_login(admin)
    detail = reverse("portal:request_detail", args=[push.request_id])

    page = client.get(detail).text
    assert "Start work" not in page and "Mark fulfilled" not in page
    assert "Cancel request" in page

    answer = client.post(
        reverse("portal:request_transition", args=[push.request_id]),
        {"status": "fulfilled", "note": "Done by hand"},
        follow=True,
    )

    assert answer.status_code == 200
    assert f"work order {push.number}" in answer.text
    assert "the service desk" in answer.text
    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.APPROVED
    assert request_transitions_for(actor=admin, request=request) == {RequestStatus.CANCELLED}


def test_while_its_push_waits_the_request_is_not_moved_by_hand_either(sim, work_orders):
    request = submit(work_orders)  # the push is written, not sent yet
    assert TicketPush.objects.filter(request=request).exists()

    with pytest.raises(DomainError, match="fulfilled in the ITSM"):
        request_transition(actor=work_orders["admin"], request=request, status="in_progress")


def test_the_itsm_still_moves_it_and_a_portal_service_keeps_its_buttons(sim, work_orders):
    push = pushed(work_orders)
    sim.ticket_act(push.number, status="Completed")
    ticket_status_poll()
    assert ServiceRequest.objects.get(pk=push.request_id).status == RequestStatus.FULFILLED

    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(mode="portal")
    by_hand = submit(work_orders)
    assert RequestStatus.IN_PROGRESS in request_transitions_for(
        actor=work_orders["admin"], request=by_hand
    )
    request_transition(actor=work_orders["admin"], request=by_hand, status="in_progress")
