"""A customer with credits and a service that needs approval, and a way to submit requests."""

import pytest

from catalog.models import ApprovalPolicy
from customers.services import customer_admin_add
from entitlements.services import request_submit
from tests.accounts.factories import PASSWORD
from tests.credits.factories import credit_management_on


def set_policy(service, policy, threshold=None):
    service.approval_policy = policy
    service.approval_threshold = threshold
    service.save(update_fields=["approval_policy", "approval_threshold"])
    return service


@pytest.fixture
def acme(tenant_a, catalog_admin):
    """Customer A with Credit Management and 100 credits; its Laptop (10 credits) needs a
    customer administrator's approval."""
    credit_management_on(actor=catalog_admin, customer=tenant_a["customer"])
    set_policy(tenant_a["service"], ApprovalPolicy.CUSTOMER_ADMIN)
    return tenant_a


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Submit a request as an end user, running what its commit sends (the approvers' mail)."""

    def make(tenant, quantity=1, who="eve", **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request_submit(
                actor=tenant[who],
                service=tenant["service"],
                quantity=quantity,
                justification="New starter in Finance",
                **kwargs,
            )

    return make


@pytest.fixture
def second_admin(acme, catalog_admin):
    """Ada Moss, a second administrator of customer A (with an e-mail address)."""
    from tests.itsm_sync.factories import PersonFactory

    person = PersonFactory(
        company=acme["company"], remedy_login_id="acme-ada", first_name="Ada", last_name="Moss"
    )
    admin = customer_admin_add(actor=catalog_admin, customer=acme["customer"], person=person).user
    admin.email = "ada@acme.example"
    admin.set_password(PASSWORD)
    admin.save()
    return admin
