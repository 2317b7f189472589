"""Service requests: who may submit, quantities, and the state machine."""

import pytest

from entitlements.models import RequestStatus
from entitlements.services import request_submit, request_transition
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_end_user_requests_an_entitled_service(tenant_a):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=2, justification="New hire"
    )
    assert request.customer == tenant_a["customer"] and request.total == 20
    assert request.status == RequestStatus.APPROVED
    assert AuditEvent.objects.filter(action="request.submit", object_id=str(request.pk)).exists()


def test_a_service_of_another_customer_cannot_be_requested(tenant_a, tenant_b):
    with pytest.raises(NotAllowed, match="not available to you"):
        request_submit(
            actor=tenant_a["eve"],
            service=tenant_b["service"],
            quantity=1,
            justification="For the team",
        )


def test_quantities_stay_within_the_service_limits(tenant_a):
    service = tenant_a["service"]
    service.min_quantity, service.max_quantity = 2, 3
    service.save()
    with pytest.raises(DomainError, match="at least 2"):
        request_submit(
            actor=tenant_a["eve"], service=service, quantity=1, justification="For the team"
        )
    with pytest.raises(DomainError, match="at most 3"):
        request_submit(
            actor=tenant_a["eve"], service=service, quantity=4, justification="For the team"
        )
    with pytest.raises(DomainError, match="at least 1"):
        request_submit(
            actor=tenant_a["eve"], service=service, quantity=0, justification="For the team"
        )


def test_the_requester_cancels_only_until_work_starts(tenant_a):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    request_transition(actor=tenant_a["admin"], request=request, status=RequestStatus.IN_PROGRESS)
    with pytest.raises(DomainError, match="ask your administrator or the service desk"):
        request_transition(actor=tenant_a["eve"], request=request, status=RequestStatus.CANCELLED)


def test_administrators_decide_and_end_states_are_final(tenant_a):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    with pytest.raises(NotAllowed):
        request_transition(actor=tenant_a["ed"], request=request, status=RequestStatus.REJECTED)
    request_transition(
        actor=tenant_a["admin"], request=request, status=RequestStatus.REJECTED, note="Budget"
    )
    with pytest.raises(DomainError):
        request_transition(actor=tenant_a["admin"], request=request, status=RequestStatus.FULFILLED)


def test_another_customers_administrator_cannot_decide(tenant_a, tenant_b):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    with pytest.raises(NotAllowed):
        request_transition(actor=tenant_b["admin"], request=request, status=RequestStatus.REJECTED)


def test_catalog_administrators_decide_for_any_customer(tenant_a, catalog_admin):
    request = request_submit(
        actor=tenant_a["eve"], service=tenant_a["service"], quantity=1, justification="For the team"
    )
    request_transition(actor=catalog_admin, request=request, status=RequestStatus.IN_PROGRESS)
    request_transition(actor=catalog_admin, request=request, status=RequestStatus.FULFILLED)
    request.refresh_from_db()
    assert request.status == RequestStatus.FULFILLED


def test_a_deactivated_user_keeps_their_requests_but_loses_access(tenant_a):
    eve = tenant_a["eve"]
    request = request_submit(
        actor=eve, service=tenant_a["service"], quantity=1, justification="For the team"
    )
    eve.is_active = False
    eve.save()
    with pytest.raises(NotAllowed):
        request_submit(
            actor=eve, service=tenant_a["service"], quantity=1, justification="For the team"
        )
    request.refresh_from_db()
    assert request.requester == eve
