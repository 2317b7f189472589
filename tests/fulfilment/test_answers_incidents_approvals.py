"""The answers in the work order's fields and description, incidents, and pushes written only
once a request is approved (R1, R3, R4)."""

import pytest

from approvals.services import approval_decide
from catalog.models import ApprovalPolicy, QuestionKind
from catalog.services import question_add
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_submit
from fulfilment.models import FulfilmentSettings, TicketNote, TicketPush
from fulfilment.services import ticket_push, ticket_status_poll

from .conftest import pushed

pytestmark = pytest.mark.django_db


def test_answers_go_to_their_mapped_fields_and_all_of_them_to_the_description(
    sim, work_orders, catalog_admin
):
    service = work_orders["service"]
    cost = question_add(
        actor=catalog_admin, service=service, kind=QuestionKind.SHORT_TEXT, label="Cost centre"
    )
    floor = question_add(
        actor=catalog_admin, service=service, kind=QuestionKind.SHORT_TEXT, label="Floor"
    )
    FulfilmentSettings.objects.filter(service=service).update(
        field_map=[{"question": "Cost centre", "field": 2, "label": "Cost centre (finance)"}]
    )
    request = request_submit(
        actor=work_orders["eve"],
        service=service,
        quantity=1,
        justification="New starter",
        answers={str(cost.pk): "CC-4711", str(floor.pk): "4th"},
    )

    assert ticket_push(push_id=request.ticket.pk).state == "created"

    [ticket] = sim.tickets()
    assert ticket["WO Type Field 2"] == "CC-4711"
    assert ticket["WO Type Field 2 Label"] == "Cost centre (finance)"
    assert "Cost centre: CC-4711" in ticket["Detailed Description"]
    assert "Floor: 4th" in ticket["Detailed Description"]


def test_an_incident_is_made_in_the_customers_company_and_resolved_back(sim, work_orders):
    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(
        mode="incident", urgency="2-High"
    )
    push = pushed(work_orders)

    [ticket] = sim.tickets()
    assert push.number.startswith("INC") and ticket["number"] == push.number
    assert ticket["Company"] == work_orders["company"].name
    assert ticket["Urgency"] == "2-High"
    assert ticket["SRID"] == push.reference

    sim.ticket_act(push.number, status="Resolved", reason="Replaced")
    ticket_status_poll()

    request = ServiceRequest.objects.get(pk=push.request_id)
    assert request.status == RequestStatus.FULFILLED
    assert "Resolved: Replaced" in request.status_note


def test_an_incidents_public_work_log_shows_on_the_request_its_internal_one_never(sim, work_orders):
    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(mode="incident")
    push = pushed(work_orders)
    sim.ticket_act(push.number, note="Engineer on site at 10:00", view_access="Public")
    sim.ticket_act(push.number, note="Customer was rude", view_access="Internal")

    counts = ticket_status_poll()

    assert counts["notes"] == 1
    assert list(TicketNote.objects.filter(push=push).values_list("text", flat=True)) == [
        "Engineer on site at 10:00"
    ]


def test_a_request_waiting_for_approval_is_pushed_only_once_approved(sim, work_orders):
    service = work_orders["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    request = request_submit(
        actor=work_orders["eve"], service=service, quantity=1, justification="New starter"
    )
    assert request.status == RequestStatus.AWAITING_APPROVAL
    assert not TicketPush.objects.filter(request=request).exists()

    approval_decide(actor=work_orders["admin"], request=request, approve=True)

    push = TicketPush.objects.get(request=request)
    assert ticket_push(push_id=push.pk).state == "created"
    assert len(sim.tickets()) == 1


def test_a_request_rejected_by_its_approver_is_never_pushed(sim, work_orders):
    service = work_orders["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    request = request_submit(
        actor=work_orders["eve"], service=service, quantity=1, justification="New starter"
    )

    approval_decide(actor=work_orders["admin"], request=request, approve=False, note="No budget")

    assert not TicketPush.objects.filter(request=request).exists()


def test_a_mapped_field_the_itsm_lacks_fails_the_request_with_its_refund(
    sim, work_orders, catalog_admin
):
    service = work_orders["service"]
    cost = question_add(
        actor=catalog_admin, service=service, kind=QuestionKind.SHORT_TEXT, label="Cost centre"
    )
    # Saved before the ITSM's form lost the field (or without the check): AR answers 314.
    FulfilmentSettings.objects.filter(service=service).update(
        field_map=[{"question": "Cost centre", "field": 11, "label": "Cost centre"}]
    )
    request = request_submit(
        actor=work_orders["eve"],
        service=service,
        quantity=1,
        justification="New starter",
        answers={str(cost.pk): "CC-4711"},
    )

    push = ticket_push(push_id=request.ticket.pk)

    assert push.state == "failed" and "AR 314" in push.last_error
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert "WO Type Field 11" in request.status_note
    assert sim.tickets() == []
