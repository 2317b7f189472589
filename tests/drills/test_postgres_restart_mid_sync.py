"""Drill: PostgreSQL restarts between two pages of a people sync.

The restart cuts every session, the sync's own included, right after its first page has been
committed (the run's progress hook fires after each page's commit and watermark). The run stops
there: the first page stays applied, the watermark does not pass it, and the next run closes
the cut one as interrupted, reads on from the watermark and leaves the mirror equal to the
source: nothing lost, nothing applied twice.
"""

import pytest
from django.db import Error, connections

from itsm_sync.models import Person, RejectedRecord, SyncKind, SyncRun, SyncStatus, Watermark
from tests.drills.conftest import checksum
from tests.itsm_sync.sync_helpers import (
    company_sync,
    mirror_people,
    people_sync,
    running_simulator,
    source_people,
)

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]

PEOPLE, PAGE = 300, 50


@pytest.fixture
def sim():
    yield from running_simulator(companies=12, people=PEOPLE, seed=5)


def test_a_sync_cut_by_a_postgres_restart_keeps_its_first_page_and_the_next_run_loses_nothing(
    sim, postgres
):
    company_sync(sim)
    restarts = []

    def restart_after_the_first_page(run: SyncRun) -> None:
        if not restarts:
            restarts.append(postgres.restart())

    with pytest.raises(Error):
        people_sync(sim, config={"page_size": PAGE}, progress=restart_after_the_first_page)
    assert len(restarts) == 1
    connections.close_all()

    cut = SyncRun.objects.get(kind=SyncKind.PEOPLE)
    # The dead session could not write how the run ended; it is not a success in any case.
    assert cut.status in {SyncStatus.RUNNING, SyncStatus.FAILED, SyncStatus.PARTIAL}
    mirrored = mirror_people()
    source = source_people(sim)
    assert len(mirrored) == PAGE
    assert all(source[key] == row for key, row in mirrored.items())
    watermark = Watermark.objects.get(kind=SyncKind.PEOPLE).value
    page_latest = max(row[-2] for row in mirrored.values())
    assert watermark == page_latest
    # Everything not yet mirrored is at or after the watermark, so the next run reads it.
    assert all(row[-2] >= watermark for key, row in source.items() if key not in mirrored)

    rerun = people_sync(sim, config={"page_size": PAGE})

    assert rerun.status == SyncStatus.SUCCEEDED
    assert rerun.since == watermark
    assert checksum(mirror_people()) == checksum(source)
    assert mirror_people() == source
    assert Person.objects.count() == PEOPLE
    assert not RejectedRecord.objects.exists()
    cut.refresh_from_db()
    assert cut.status in {SyncStatus.FAILED, SyncStatus.PARTIAL}
    assert cut.error
