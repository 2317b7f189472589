"""Fixtures of the customers tests that sync people from the AR System simulator over HTTP."""

import pytest

from customers.services import customer_add, end_user_filter_save
from itsm_sync.models import Company, Person
from tests.itsm_sync.sync_helpers import running_simulator, sync_both


@pytest.fixture(scope="module")
def sim():
    """10 companies and 120 people; the tests of a module share it and change it as ITSM would."""
    yield from running_simulator(companies=10, people=120, seed=11)


@pytest.fixture
def synced_customer(sim, catalog_admin, msp_enabled, django_capture_on_commit_callbacks):
    """After a full sync, the first Enabled customer company with people becomes a customer, its
    first Enabled person with a login its administrator, and a filter takes everyone in."""
    with django_capture_on_commit_callbacks(execute=True):
        sync_both(sim, full=True)
    company = (
        Company.objects.filter(company_type="Customer", status="Enabled")
        .exclude(people=None)
        .order_by("name")
        .first()
    )
    admin = (
        Person.objects.filter(company=company, profile_status="Enabled")
        .exclude(remedy_login_id="")
        .order_by("person_id")
        .first()
    )
    customer = customer_add(actor=catalog_admin, company=company, administrators=[admin])
    end_user_filter_save(actor=catalog_admin, customer=customer, name="Everyone", criteria={})
    return customer
