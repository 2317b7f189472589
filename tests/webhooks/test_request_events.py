"""A request's life reaches its customer's endpoints and the catalog-wide ones, signed: made
(request.created) and moved on (request.status_changed), through entitlements' signals."""

import json

import pytest
from standardwebhooks import Webhook

from entitlements.models import RequestStatus
from entitlements.services import request_submit, request_transition
from webhooks.models import Event, WebhookDelivery

from .factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

REQUEST_EVENTS = [Event.REQUEST_CREATED, Event.REQUEST_STATUS_CHANGED]


def test_a_status_change_arrives_signed_and_verifies(
    tenant_a, receiver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpointFactory(
        customer=tenant_a["customer"], url=receiver.url, events=REQUEST_EVENTS
    )
    with django_capture_on_commit_callbacks(execute=True):
        request = request_submit(
            actor=tenant_a["eve"],
            service=tenant_a["service"],
            quantity=1,
            justification="New starter",
        )
    with django_capture_on_commit_callbacks(execute=True):
        request_transition(
            actor=tenant_a["admin"],
            request=request,
            status=RequestStatus.IN_PROGRESS,
            note="Ordered from the supplier",
        )

    created, changed = (
        Webhook(endpoint.secret).verify(post.body, post.headers) for post in receiver.accepted
    )
    assert created["type"] == "request.created"
    assert created["data"]["request"]["id"] == request.pk
    assert created["data"]["request"]["service"]["name"] == "Laptop"
    assert created["data"]["request"]["requester"] == "acme-eve"
    assert changed["type"] == "request.status_changed"
    assert changed["data"]["old_status"] == request.status
    assert changed["data"]["new_status"] == "in_progress"
    assert changed["data"]["actor"] == "acme-admin"
    assert changed["data"]["note"] == "Ordered from the supplier"


def test_another_customers_request_never_reaches_the_endpoint(
    tenant_a, tenant_b, receiver_factory, django_capture_on_commit_callbacks
):
    a_receiver, b_receiver = receiver_factory(), receiver_factory()
    WebhookEndpointFactory(customer=tenant_a["customer"], url=a_receiver.url, events=REQUEST_EVENTS)
    WebhookEndpointFactory(customer=tenant_b["customer"], url=b_receiver.url, events=REQUEST_EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        request_submit(
            actor=tenant_b["eve"],
            service=tenant_b["service"],
            quantity=1,
            justification="New starter",
        )
        request_submit(
            actor=tenant_b["ed"],
            service=tenant_b["service"],
            quantity=2,
            justification="New starters",
        )

    assert a_receiver.posts == []
    assert len(b_receiver.accepted) == 2
    customers = {json.loads(p.body)["data"]["request"]["customer"]["id"] for p in b_receiver.posts}
    assert customers == {tenant_b["customer"].pk}
    assert not WebhookDelivery.objects.filter(endpoint__customer=tenant_a["customer"]).exists()


def test_approval_waiting_and_a_public_note_reach_the_customers_endpoint(
    tenant_a, tenant_b, receiver_factory, django_capture_on_commit_callbacks
):
    """approval.waiting through the approvals service (a service needing an administrator's
    approval); request.note_added through fulfilment's signal as its poll sends it."""
    from types import SimpleNamespace

    from catalog.models import ApprovalPolicy
    from fulfilment.models import TicketNote
    from fulfilment.signals import public_note_added

    service = tenant_a["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    a_receiver, b_receiver = receiver_factory(), receiver_factory()
    events = [Event.APPROVAL_WAITING, Event.REQUEST_NOTE_ADDED]
    endpoint = WebhookEndpointFactory(
        customer=tenant_a["customer"], url=a_receiver.url, events=events
    )
    WebhookEndpointFactory(customer=tenant_b["customer"], url=b_receiver.url, events=events)
    with django_capture_on_commit_callbacks(execute=True):
        request = request_submit(
            actor=tenant_a["eve"], service=service, quantity=1, justification="New starter"
        )
    with django_capture_on_commit_callbacks(execute=True):
        public_note_added.send(
            sender=TicketNote,
            request=request,
            note=SimpleNamespace(pk=3, text="Shipped today"),
            actor=None,
        )

    waiting, note = (
        Webhook(endpoint.secret).verify(post.body, post.headers) for post in a_receiver.accepted
    )
    assert waiting["type"] == "approval.waiting"
    assert waiting["data"]["request"]["id"] == request.pk
    assert waiting["data"]["request"]["status"] == "awaiting_approval"
    assert waiting["data"]["approval"]["order"] == 1
    assert waiting["data"]["approval"]["kind"] == "customer_admin"
    assert waiting["data"]["approvers"] == ["acme-admin"]
    assert note["type"] == "request.note_added"
    assert note["data"]["note"] == {"id": 3, "text": "Shipped today"}
    assert note["data"]["request"]["id"] == request.pk
    assert b_receiver.posts == []
