"""No record missed while ITSM changes during the listing (issue 14, items 1 and 4).

AR pages by offset: a record modified during a listing sorted by Last Modified Date moves to
the end, and the record behind the page boundary slides into a page already read. The
simulator's `change_during_paging` fault modifies the first record of each page it serves,
right after serving it, so a client paging by offset skips one record per page.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from itsm_sync import services
from itsm_sync.models import Person, SyncStatus
from itsm_sync.simulator import DEFAULT_ANCHOR, Simulator, format_ar_datetime
from itsm_sync.sources import ARRestSource
from tests.itsm_sync.sync_helpers import (
    company_sync,
    config_for,
    mirror_companies,
    mirror_people,
    people_sync,
    person_values,
    source_companies,
    source_people,
    sync_both,
)

pytestmark = pytest.mark.django_db

CHANGES = 5


def test_a_first_full_sync_mirrors_every_record_while_records_change_during_paging(
    sim: Simulator,
) -> None:
    sim.set_faults(change_during_paging=CHANGES)
    companies = company_sync(sim, full=True, config={"page_size": 4})
    assert sim.stats()["changed_during_paging"] > 1
    sim.set_faults(change_during_paging=CHANGES)
    people = people_sync(sim, full=True)

    assert companies.status == people.status == SyncStatus.SUCCEEDED
    assert sim.faults.change_during_paging == 0  # every change happened during the run
    assert mirror_companies() == source_companies(sim)
    assert mirror_people() == source_people(sim)
    assert people.deactivated == people.rejected == 0


def test_an_incremental_run_misses_no_record_while_records_change_during_paging(
    sim: Simulator,
) -> None:
    sync_both(sim, full=True)
    # 120 people changed since, one a minute: the incremental listing has three pages.
    for number, person in enumerate(sim.people()[:120]):
        sim.update_person(
            person["Person ID"],
            Department=f"Reorganised {number}",
            last_modified_date=format_ar_datetime(DEFAULT_ANCHOR + timedelta(minutes=number)),
        )
    sim.set_faults(change_during_paging=CHANGES)

    run = people_sync(sim)

    assert run.status == SyncStatus.SUCCEEDED
    assert sim.stats()["changed_during_paging"] > 1
    assert mirror_people() == source_people(sim)


def test_a_full_reconcile_misses_no_record_while_records_change_during_paging(
    sim: Simulator,
) -> None:
    sync_both(sim, full=True)
    company = sim.people()[0]["Company"]
    # People the mirror has never seen, modified long ago: they come first in the listing,
    # where the fault shifts records across page boundaries.
    for number in range(60):
        sim.create_person(
            **person_values(
                f"PPLNEW{number:04d}",
                company,
                **{
                    "Last Modified Date": format_ar_datetime(
                        DEFAULT_ANCHOR - timedelta(days=400, minutes=number)
                    )
                },
            )
        )
    sim.set_faults(change_during_paging=CHANGES)

    run = people_sync(sim, full=True)

    assert run.status == SyncStatus.SUCCEEDED
    assert (run.created, run.deactivated) == (60, 0)
    assert mirror_people() == source_people(sim)


def test_a_full_run_in_steps_misses_no_record_while_records_change_during_paging(
    sim: Simulator,
) -> None:
    company_sync(sim, full=True)
    sim.set_faults(change_during_paging=CHANGES)

    with ARRestSource(config_for(sim)) as source:
        run = services.sync_people(source=source, full=True, step_seconds=0)
    for _step in range(100):  # a listing that never moves on fails here instead of hanging
        if not run.is_paused:
            break
        # Each step opens its own source, as a task on another worker would.
        with ARRestSource(config_for(sim)) as source:
            run = services.sync_continue(run_id=run.pk, source=source, step_seconds=0)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.steps > 6
    assert mirror_people() == source_people(sim)
    assert Person.objects.filter(is_active=False).count() == 0


# -- item 4: a server that sorts by one field only -----------------------------------------------


def crowd_one_second(sim: Simulator, count: int, when: str) -> list[str]:
    """Give `count` people the same Last Modified Date: one second fuller than a page."""
    crowded = [p["Person ID"] for p in sim.people()[:count]]
    for number, person_id in enumerate(crowded):
        sim.update_person(person_id, Site=f"Crowded {number}", last_modified_date=when)
    return crowded


def test_the_listing_needs_no_second_sort_field_even_when_a_second_fills_pages(
    sim: Simulator,
) -> None:
    crowded = crowd_one_second(sim, 130, sim.now())  # pages hold 50
    sim.set_faults(single_field_sort=1)

    with ARRestSource(config_for(sim)) as source:
        listed = [values["Person ID"] for page in source.iter_people_pages() for values in page]

    assert sorted(listed) == sorted(p["Person ID"] for p in sim.people())
    assert len(listed) == len(set(listed)) == 300
    assert set(crowded) <= set(listed)


def test_syncs_mirror_everything_when_the_server_ignores_the_second_sort_field(
    sim: Simulator,
) -> None:
    sim.set_faults(single_field_sort=1)
    crowd_one_second(sim, 130, format_ar_datetime(DEFAULT_ANCHOR + timedelta(hours=1)))
    sim.set_faults(change_during_paging=CHANGES)

    companies, people = sync_both(sim, full=True)

    assert companies.status == people.status == SyncStatus.SUCCEEDED
    assert mirror_people() == source_people(sim)

    crowd_one_second(sim, 140, sim.now())  # as ITSM stamps them: now
    sim.set_faults(change_during_paging=CHANGES)
    assert people_sync(sim).status == SyncStatus.SUCCEEDED
    assert mirror_people() == source_people(sim)
