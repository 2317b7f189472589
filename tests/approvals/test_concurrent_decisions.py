"""Two administrators deciding the same request at the same moment (one approves, one rejects):
the request's row lock lets exactly one decision through; the other is told it was decided
already, and nothing is refunded unless the rejection won, then exactly once."""

import threading

import pytest
from django.db import connection

from approvals.models import ApprovalStep, StepStatus
from approvals.services import approval_decide
from catalog.models import ApprovalPolicy
from credits.models import CreditAccount, CreditEntry
from customers.services import customer_admin_add
from entitlements.models import RequestStatus
from entitlements.services import request_submit
from msp_portal.errors import DomainError
from tests.credits.factories import credit_management_on

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_decisions_make_exactly_one(tenant_a, catalog_admin):
    from tests.itsm_sync.factories import PersonFactory

    customer = tenant_a["customer"]
    credit_management_on(actor=catalog_admin, customer=customer)
    service = tenant_a["service"]
    service.approval_policy = ApprovalPolicy.CUSTOMER_ADMIN
    service.save(update_fields=["approval_policy"])
    person = PersonFactory(company=tenant_a["company"], first_name="Ada", last_name="Moss")
    second = customer_admin_add(actor=catalog_admin, customer=customer, person=person).user
    for _ in range(5):
        request = request_submit(
            actor=tenant_a["eve"], service=service, quantity=2, justification="x"
        )
        barrier = threading.Barrier(2)
        outcomes = []

        def decide(actor, approve, request=request, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                approval_decide(actor=actor, request=request, approve=approve, note="n")
                outcomes.append("approved" if approve else "rejected")
            except DomainError as error:
                outcomes.append(str(error))
            finally:
                connection.close()

        threads = [
            threading.Thread(target=decide, args=(tenant_a["admin"], True)),
            threading.Thread(target=decide, args=(second, False)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        won = [o for o in outcomes if o in ("approved", "rejected")]
        lost = [o for o in outcomes if o not in ("approved", "rejected")]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert "was decided already" in lost[0]
        request.refresh_from_db()
        assert request.status == won[0]
        step = ApprovalStep.objects.get(request=request)
        assert step.status == (StepStatus.APPROVED if won[0] == "approved" else StepStatus.REJECTED)
        refunds = CreditEntry.objects.filter(kind="refund", request_id=request.pk).count()
        assert refunds == (1 if request.status == RequestStatus.REJECTED else 0)
    account = CreditAccount.objects.get(customer=customer)
    assert account.balance == sum(e.amount for e in account.entries.all())
