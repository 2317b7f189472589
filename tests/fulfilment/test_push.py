"""Exactly-once creation of work orders (R4): the outbox, lost answers, the ITSM down, refusals."""

from decimal import Decimal

import pytest
from django.urls import reverse

from credits.models import CreditAccount, CreditEntry
from entitlements.models import RequestStatus, ServiceRequest
from fulfilment.models import FulfilmentSettings, PushState, TicketPush
from fulfilment.services import pushes_due_send, ticket_push

from .conftest import pushed, submit

pytestmark = pytest.mark.django_db


def _balance(tenant) -> Decimal:
    return CreditAccount.objects.get(customer=tenant["customer"]).balance


def test_an_approved_request_becomes_one_work_order_in_the_customers_company(sim, work_orders):
    push = pushed(work_orders)

    [ticket] = sim.tickets()
    company = work_orders["company"].name
    assert ticket["number"] == push.number
    assert ticket["Customer Company"] == company
    assert ticket["Location Company"] == company
    assert ticket["Customer Person ID"] == work_orders["eve"].person.person_id
    assert ticket["Summary"] == f"Laptop for {work_orders['eve'].display_name}"
    assert "New starter" in ticket["Detailed Description"]
    assert ticket["Priority"] == "High"
    assert ticket["SRID"] == push.reference == f"MSP-PORTAL-{push.request_id}"
    assert push.interface_id and push.number.startswith("WO")


def test_the_outbox_row_is_written_with_the_approval_and_the_task_sent_on_commit(
    sim, work_orders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as sent:
        request = submit(work_orders)

    assert len(sent) >= 1
    push = TicketPush.objects.get(request=request)
    assert push.state == PushState.CREATED
    assert len(sim.tickets()) == 1


def test_a_service_handled_in_the_portal_writes_no_push(sim, work_orders):
    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(mode="portal")

    request = submit(work_orders)

    assert not TicketPush.objects.filter(request=request).exists()


def test_a_lost_answer_after_the_create_makes_one_ticket(sim, work_orders):
    request = submit(work_orders)
    sim.set_faults(lose_create_responses=1)

    first = ticket_push(push_id=request.ticket.pk)
    assert first.state == PushState.WAITING
    assert "waiting" in first.get_state_display().lower()
    second = ticket_push(push_id=request.ticket.pk)

    assert second.state == PushState.CREATED
    assert [t["number"] for t in sim.tickets()] == [second.number]
    assert sim.stats()["lost_create_responses"] == 1


def test_a_slow_create_past_the_timeout_makes_one_ticket(sim, work_orders, monkeypatch):
    monkeypatch.setenv("ITSM_TIMEOUT", "0.3")
    request = submit(work_orders)
    sim.set_faults(create_delay_ms=800)
    assert ticket_push(push_id=request.ticket.pk).state == PushState.WAITING

    sim.set_faults(create_delay_ms=0)
    import time

    time.sleep(0.6)  # the slow create finishes in the simulator meanwhile
    push = ticket_push(push_id=request.ticket.pk)

    assert push.state == PushState.CREATED
    assert len(sim.tickets()) == 1


def test_a_second_worker_while_one_holds_the_push_sends_nothing(sim, work_orders):
    request = submit(work_orders)
    push = ticket_push(push_id=request.ticket.pk)
    again = ticket_push(push_id=request.ticket.pk)

    assert again.number == push.number
    assert len(sim.tickets()) == 1
    assert TicketPush.objects.get(pk=push.pk).attempts == 1


def test_itsm_down_for_n_attempts_is_flagged_then_retried_by_hand_makes_one_ticket(
    sim, work_orders, settings, client, catalog_admin, django_capture_on_commit_callbacks
):
    settings.FULFILMENT_MAX_ATTEMPTS = 3
    request = submit(work_orders)
    sim.set_faults(fail_creates=3)

    states = [ticket_push(push_id=request.ticket.pk).state for _ in range(3)]
    assert states == [PushState.WAITING, PushState.WAITING, PushState.STUCK]
    # A stuck push is not sent again by the sweep, only by hand.
    assert pushes_due_send() == 0
    assert ticket_push(push_id=request.ticket.pk).state == PushState.STUCK
    assert sim.tickets() == []

    client.force_login(catalog_admin)
    page = client.get(reverse("fulfilment:push_list"))
    assert f"#{request.pk}" in page.text and "AR 552" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("fulfilment:push_retry", args=[request.ticket.pk]))
    assert answer.status_code == 302

    push = TicketPush.objects.get(pk=request.ticket.pk)
    assert push.state == PushState.CREATED
    assert len(sim.tickets()) == 1
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.APPROVED


def test_a_refusal_the_itsm_gives_as_final_fails_the_request_with_a_refund(sim, work_orders):
    # "Urgent" is no Priority of the work-order form: AR answers 306, which no retry changes.
    FulfilmentSettings.objects.filter(service=work_orders["service"]).update(priority="Urgent")
    request = submit(work_orders)
    assert _balance(work_orders) == Decimal("80")

    push = ticket_push(push_id=request.ticket.pk)

    assert push.state == PushState.FAILED
    assert "AR 306" in push.last_error
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    assert "refused the work order" in request.status_note
    assert "credits are given back" in request.status_note
    assert _balance(work_orders) == Decimal("100")
    assert sim.tickets() == []
    # Run again (a redelivered task): nothing more happens.
    assert ticket_push(push_id=push.pk).state == PushState.FAILED
    assert CreditEntry.objects.filter(request_id=request.pk, kind="refund").count() == 1


def test_a_refused_login_is_the_set_ups_fault_and_fails_no_request(sim, work_orders, monkeypatch):
    monkeypatch.setenv("ITSM_PASSWORD", "wrong")
    request = submit(work_orders)

    push = ticket_push(push_id=request.ticket.pk)

    assert push.state == PushState.WAITING
    assert "ITSM login failed" in push.last_error
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_one_task_sends_the_due_pushes_together_and_a_lost_answer_among_them_makes_one_ticket(
    sim, work_orders
):
    from fulfilment.tasks import push as push_task

    requests = [submit(work_orders, who) for who in ("eve", "ed", "eve", "ed")]
    sim.set_faults(lose_create_every=3)  # the third create to arrive is made, its answer lost

    states = push_task.apply(args=[requests[0].ticket.pk]).get()

    assert states == {"created": 3, "waiting": 1}
    assert sim.stats()["lost_create_responses"] == 1
    [lost] = TicketPush.objects.filter(state=PushState.WAITING)
    assert lost.request_id in {r.pk for r in requests} and lost.attempts == 1
    # Its wait is over (no backoff here): the next task finds the ticket the lost answer made.
    assert push_task.apply(args=[lost.pk]).get() == {"created": 1}

    tickets = sim.tickets()
    pushes = TicketPush.objects.filter(request__in=requests).order_by("request_id")
    assert [p.state for p in pushes] == [PushState.CREATED] * 4
    assert sorted(t["SRID"] for t in tickets) == sorted(p.reference for p in pushes)
    assert sorted(t["number"] for t in tickets) == sorted(p.number for p in pushes)
    assert len({p.number for p in pushes}) == 4


def test_a_batch_costs_the_same_queries_for_2_pushes_and_for_6(sim, work_orders, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fulfilment.services import ticket_pushes_send

    work_orders["service"].price = Decimal("1")
    work_orders["service"].save(update_fields=["price"])

    def batch(count: int) -> int:
        for _ in range(count):
            submit(work_orders)
        with CaptureQueriesContext(connection) as captured:
            sent = ticket_pushes_send(limit=50)
        assert [p.state for p in sent] == [PushState.CREATED] * count
        return len(captured)

    assert batch(2) == batch(6)
    assert len(sim.tickets()) == 8


def test_the_itsm_down_under_a_batch_leaves_the_rest_waiting_without_counting_their_attempt(
    sim, work_orders, settings
):
    from fulfilment.services import ticket_pushes_send

    settings.FULFILMENT_PUSH_THREADS = 2
    work_orders["service"].price = Decimal("1")
    work_orders["service"].save(update_fields=["price"])
    requests = [submit(work_orders) for _ in range(5)]
    sim.set_faults(fail_creates=2)  # the first two creates answer 500, then the ITSM is back

    sent = ticket_pushes_send(limit=10)

    assert [p.state for p in sent] == [PushState.WAITING] * 5
    attempts = sorted(
        TicketPush.objects.filter(request__in=requests).values_list("attempts", flat=True)
    )
    assert attempts == [0, 0, 0, 1, 1]  # three never sent: not counted, no lookup needed
    assert sim.tickets() == []

    again = ticket_pushes_send(limit=10)  # no backoff here: all due again

    assert [p.state for p in again] == [PushState.CREATED] * 5
    assert len(sim.tickets()) == 5


def test_a_database_without_skip_locked_claims_and_records_a_batch_the_same(
    sim, work_orders, monkeypatch
):
    # The demo (make run) keeps its data in SQLite: the claim and the record fall back to
    # one conditional UPDATE per row there.
    from django.db import connection

    from fulfilment.services import ticket_pushes_send

    requests = [submit(work_orders, who) for who in ("eve", "ed", "eve")]
    monkeypatch.setattr(connection, "vendor", "sqlite")
    sim.set_faults(lose_create_every=2)

    first = ticket_pushes_send(first=requests[2].ticket.pk, limit=10)
    assert first[0].request_id == requests[2].pk
    assert sorted(p.state for p in first) == ["created", "created", "waiting"]
    again = ticket_pushes_send(limit=10)

    assert [p.state for p in again] == [PushState.CREATED]
    assert len(sim.tickets()) == 3
    assert ticket_pushes_send(limit=10) == []
