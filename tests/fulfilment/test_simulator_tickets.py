"""The simulator's fulfilment forms, over HTTP, as a real AR server answers them."""

import httpx
import pytest

from itsm_sync.simulator import Simulator
from itsm_sync.sources import ARRestSource, SourceConfig, SourceError

CREATE = "WOI:WorkOrderInterface_Create"
VALUES = {
    "z1D_Action": "CREATE",
    "Customer Company": "Acme Corp",
    "Location Company": "Acme Corp",
    "Summary": "Laptop for Eve",
    "SRID": "MSP-PORTAL-1",
}


@pytest.fixture
def simulator():
    with Simulator(companies=1, people=1, user="Demo", password="Demo") as sim:
        yield sim


@pytest.fixture
def client(simulator):
    config = SourceConfig(url=simulator.url, user="Demo", password="Demo", retries=0)
    with ARRestSource(config) as source:
        yield source


def test_a_create_answers_201_with_the_values_asked_and_makes_the_work_order(simulator, client):
    answer = client.create_entry(CREATE, VALUES, answer=("Request ID", "WorkOrder_ID"))

    assert set(answer) == {"Request ID", "WorkOrder_ID"}
    [found] = client.find_entries(
        "WOI:WorkOrder",
        "'SRID' = \"MSP-PORTAL-1\"",
        ("Work Order ID", "Status", "Customer Company"),
    )
    assert found == {
        "Work Order ID": answer["WorkOrder_ID"],
        "Status": "Assigned",
        "Customer Company": "Acme Corp",
    }


def test_an_unknown_field_is_ar_314_and_nothing_is_made(simulator, client):
    with pytest.raises(SourceError) as refused:
        client.create_entry(CREATE, {**VALUES, "WO Type Field 11": "x"})

    assert refused.value.ar_number == 314 and not refused.value.retryable
    assert simulator.tickets() == []


def test_a_lost_answer_still_makes_the_work_order(simulator, client):
    simulator.set_faults(lose_create_every=2)
    client.create_entry(CREATE, VALUES)
    with pytest.raises(SourceError) as lost:
        client.create_entry(CREATE, {**VALUES, "SRID": "MSP-PORTAL-2"})

    assert lost.value.retryable
    assert [t["SRID"] for t in simulator.tickets()] == ["MSP-PORTAL-1", "MSP-PORTAL-2"]


def test_a_started_work_order_can_not_be_cancelled(simulator, client):
    number = client.create_entry(CREATE, VALUES, answer=("WorkOrder_ID",))["WorkOrder_ID"]
    entry = simulator.tickets()[0]["Request ID"]
    simulator.ticket_act(number, status="In Progress")

    with pytest.raises(SourceError) as refused:
        client.update_entry("WOI:WorkOrder", entry, {"Status": "Cancelled"})

    assert "cannot be cancelled" in str(refused.value)
    assert simulator.tickets()[0]["Status"] == "In Progress"


def test_the_technicians_control_moves_status_and_adds_notes(simulator, client):
    number = client.create_entry(CREATE, VALUES, answer=("WorkOrder_ID",))["WorkOrder_ID"]
    control = httpx.Client(base_url=simulator.url)

    acted = control.post(
        f"/__sim/tickets/{number}",
        json={
            "status": "Completed",
            "reason": "Delivered",
            "note": "At desk 4",
            "view_access": "Public",
        },
    )
    control.post(
        "/__sim/console", data={"number": number, "note": "Invoice", "view_access": "Internal"}
    )

    assert acted.status_code == 200 and acted.json()["Status Reason"] == "Delivered"
    notes = client.find_entries(
        "WOI:WorkInfo", f"'Work Order ID' = \"{number}\"", ("Detailed Description", "View Access")
    )
    assert sorted((n["View Access"], n["Detailed Description"]) for n in notes) == [
        ("Internal", "Invoice"),
        ("Public", "At desk 4"),
    ]
    assert number in control.get("/__sim/console").text
    assert control.post("/__sim/tickets/WO404", json={"status": "Completed"}).status_code == 404
