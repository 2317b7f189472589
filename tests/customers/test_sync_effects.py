"""After every people sync, end-user filters are re-evaluated and moved people follow (C2, C4).

The ITSM side is the simulator over real HTTP; the chained task runs eagerly.
"""

import pytest

from accounts.models import User
from itsm_sync.models import Company, Person
from tests.itsm_sync.sync_helpers import people_sync

pytestmark = pytest.mark.django_db


def test_a_people_sync_brings_in_new_people_and_lets_go_of_disabled_ones(
    sim, synced_customer, django_capture_on_commit_callbacks
):
    customer = synced_customer
    company = customer.company
    leaving = (
        Person.objects.filter(company=company, profile_status="Enabled", user__is_active=True)
        .exclude(user__administered_customers__customer=customer)
        .order_by("person_id")
        .first()
    )
    sim.update_person(leaving.person_id, profile_status="Offline")
    new_id = sim.create_person(
        first_name="Nora",
        last_name="Newhire",
        remedy_login_id="nnewhire",
        company=company.name,
        internet_e_mail="nora@example.com",
        profile_status="Enabled",
        organization="Finance",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = people_sync(sim)
    assert run.status == "succeeded"
    assert User.objects.get(person__person_id=new_id).is_active
    assert not User.objects.get(person=leaving).is_active


def test_the_last_administrator_moved_away_by_itsm_flags_the_customer(
    sim, synced_customer, django_capture_on_commit_callbacks
):
    customer = synced_customer
    admin = customer.administrators.get().user
    other = (
        Company.objects.filter(company_type="Customer", status="Enabled")
        .exclude(pk=customer.company_id)
        .first()
    )
    sim.update_person(admin.person.person_id, company=other.name)
    with django_capture_on_commit_callbacks(execute=True):
        people_sync(sim)
    admin.refresh_from_db()
    customer.refresh_from_db()
    assert admin.company == other
    assert customer.needs_administrator
    assert not customer.administrators.exists()
