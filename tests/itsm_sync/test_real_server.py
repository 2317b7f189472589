"""The sync against what a real AR System server does that a friendly one would not (issue 14)."""

from __future__ import annotations

import pytest

from itsm_sync.models import SyncStatus
from itsm_sync.simulator import Simulator
from tests.itsm_sync.sync_helpers import mirror_people, people_sync, source_people, sync_both

pytestmark = pytest.mark.django_db


def test_incremental_runs_work_against_a_server_older_than_ar_19_08(sim: Simulator) -> None:
    sim.set_faults(older_server=1)  # reads dates in a qualification as epoch seconds only
    sync_both(sim, full=True)
    for person in sim.people()[:30]:
        sim.update_person(person["Person ID"], Department="Moved")

    run = people_sync(sim)

    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert run.updated == 30
    assert mirror_people() == source_people(sim)


def test_a_next_link_to_another_host_is_never_followed(sim: Simulator) -> None:
    with Simulator(companies=2, people=5, seed=1) as elsewhere:
        sim.set_faults(links_base=elsewhere.url)

        companies, people = sync_both(sim, full=True)

        assert elsewhere.stats()["requests"] == elsewhere.stats()["logins"] == 0
    assert companies.status == people.status == SyncStatus.SUCCEEDED
    assert mirror_people() == source_people(sim)
