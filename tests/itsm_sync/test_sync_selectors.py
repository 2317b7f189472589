"""Reads of the mirror and the run history: scoped to MSP staff, constant query counts."""

from __future__ import annotations

import pytest
from django.http import Http404

from itsm_sync import selectors
from itsm_sync.models import PlanAction, SyncKind, SyncStatus, Watermark
from msp_portal.pagination import keyset_page
from tests.itsm_sync.factories import (
    CompanyFactory,
    PersonFactory,
    PlannedChangeFactory,
    RejectedRecordFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs():
    companies = SyncRunFactory(kind=SyncKind.COMPANIES, finished_at=None)
    people = SyncRunFactory(status=SyncStatus.NEEDS_APPROVAL, mode="full")
    PlannedChangeFactory(run=people, key="P1", action=PlanAction.DEACTIVATE)
    PlannedChangeFactory(run=people, key="P2", action=PlanAction.UPDATE)
    RejectedRecordFactory(run=people, key="P3", reason="No Company.")
    return companies, people


def test_staff_see_runs_newest_first(catalog_admin, runs) -> None:
    companies, people = runs

    assert list(selectors.sync_run_list(user=catalog_admin)) == [people, companies]
    assert list(selectors.sync_run_list(user=catalog_admin, kind=SyncKind.PEOPLE)) == [people]
    assert selectors.sync_run_get(user=catalog_admin, run_id=people.pk) == people


def test_a_user_without_the_role_sees_no_run_and_gets_404(plain_user, runs) -> None:
    _, people = runs

    assert not selectors.sync_run_list(user=plain_user).exists()
    assert not selectors.planned_change_list(user=plain_user, run=people).exists()
    assert not selectors.rejected_record_list(user=plain_user, run=people).exists()
    assert selectors.sync_status_list(user=plain_user) == []
    with pytest.raises(Http404):
        selectors.sync_run_get(user=plain_user, run_id=people.pk)


def test_the_plan_filters_by_action_and_key(system_admin, runs) -> None:
    _, people = runs

    plan = selectors.planned_change_list(user=system_admin, run=people, action="deactivate")
    assert list(plan.values_list("key", flat=True)) == ["P1"]
    assert list(
        selectors.planned_change_list(user=system_admin, run=people, key="p2").values_list(
            "key", flat=True
        )
    ) == ["P2"]
    rejected = selectors.rejected_record_list(user=system_admin, run=people)
    assert [r.reason for r in rejected] == ["No Company."]


def test_the_status_of_each_kind(system_admin, runs) -> None:
    companies, people = runs
    companies.finished_at = companies.started_at
    companies.save()
    Watermark.objects.create(kind=SyncKind.COMPANIES, value=companies.started_at)

    status = {s.kind: s for s in selectors.sync_status_list(user=system_admin)}

    assert status[SyncKind.COMPANIES].last_success == companies
    assert status[SyncKind.COMPANIES].watermark == companies.started_at
    assert status[SyncKind.COMPANIES].staleness is not None
    assert status[SyncKind.PEOPLE].awaiting_approval == people
    assert status[SyncKind.PEOPLE].last_success is None
    assert status[SyncKind.PEOPLE].staleness is None


def test_the_directories_filter_and_hide_what_left_the_source(system_admin) -> None:
    acme = CompanyFactory(name="Acme")
    CompanyFactory(name="Gone Corp", is_active=False)
    ada = PersonFactory(company=acme, last_name="Lovelace", organization="R&D", department="Math")
    PersonFactory(company=acme, last_name="Babbage", organization="R&D", department="Engines")
    PersonFactory(company=acme, last_name="Left", is_active=False)

    names = [c.name for c in selectors.company_list(user=system_admin)]
    assert "Acme" in names and "Gone Corp" not in names
    assert "Gone Corp" in [c.name for c in selectors.company_list(user=system_admin, active=None)]
    assert [c.name for c in selectors.company_list(user=system_admin, query="acm")] == ["Acme"]
    assert [p.last_name for p in selectors.person_list(user=system_admin, company_id=acme.pk)] == [
        "Babbage",
        "Lovelace",
    ]
    assert list(selectors.person_list(user=system_admin, query="love")) == [ada]
    assert list(selectors.person_list(user=system_admin, department="Math")) == [ada]
    assert selectors.organization_choices(user=system_admin, company_id=acme.pk) == ["R&D"]
    assert selectors.department_choices(user=system_admin, company_id=acme.pk) == [
        "Engines",
        "Math",
    ]
    assert selectors.person_get(user=system_admin, person_id=ada.pk) == ada


def test_the_directories_are_empty_for_users_without_the_role(plain_user) -> None:
    person = PersonFactory()

    assert not selectors.company_list(user=plain_user).exists()
    assert not selectors.person_list(user=plain_user).exists()
    with pytest.raises(Http404):
        selectors.person_get(user=plain_user, person_id=person.pk)
    with pytest.raises(Http404):
        selectors.company_get(user=plain_user, company_id=person.company_id)


@pytest.mark.parametrize("rows", [10, 200])
def test_a_people_page_costs_the_same_queries_at_any_size(
    system_admin, rows, django_assert_num_queries
) -> None:
    companies = [CompanyFactory() for _ in range(3)]
    for n in range(rows):
        PersonFactory(company=companies[n % 3])
    first = keyset_page(
        selectors.person_list(user=system_admin), ordering=selectors.PERSON_ORDERING, size=5
    )

    with django_assert_num_queries(1):
        page = keyset_page(
            selectors.person_list(user=system_admin),
            ordering=selectors.PERSON_ORDERING,
            cursor=first.next_cursor,
            size=5,
        )
        names = [person.company.name for person in page.rows]

    assert len(names) == 5
