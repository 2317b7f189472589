"""A real Celery worker on Redis runs a full sync in steps, each step its own task."""

from __future__ import annotations

import time

import pytest

from itsm_sync.models import Person, SyncKind, SyncRun, SyncStatus
from tests.celery_worker import running_worker, send, worker_environment
from tests.itsm_sync.sync_helpers import PASSWORD, USER


@pytest.mark.django_db(transaction=True)
def test_a_worker_takes_a_full_sync_through_its_steps_companies_before_people(sim) -> None:
    env = worker_environment(
        ITSM_URL=sim.url,
        ITSM_USER=USER,
        ITSM_PASSWORD=PASSWORD,
        ITSM_PAGE_SIZE="100",
        ITSM_RETRIES="0",
        ITSM_SYNC_STEP_SECONDS="0",  # pause after every page
    )
    env.pop("ITSM_FILE", None)

    with running_worker(env):
        send(env, "itsm_sync.sync_all", full=True)
        deadline = time.monotonic() + 90
        while (
            time.monotonic() < deadline
            and not SyncRun.objects.filter(
                kind=SyncKind.PEOPLE, status=SyncStatus.SUCCEEDED
            ).exists()
        ):
            time.sleep(0.25)

    companies, people = SyncRun.objects.order_by("id")
    assert (companies.kind, companies.status, companies.steps) == (
        SyncKind.COMPANIES,
        SyncStatus.SUCCEEDED,
        3,  # its one page; planning (nothing to deactivate); applying
    )
    # 300 people at 100 a page: a step per page, one to plan, one to apply. The listing takes
    # four pages, not three: each page after the first starts again at the second the previous
    # one ended in (keyset paging immune to offset shifts, issue 14), reading that record again.
    assert (people.status, people.steps, people.listed, people.created) == (
        SyncStatus.SUCCEEDED,
        6,
        300,
        300,
    )
    assert companies.finished_at <= people.started_at
    assert Person.objects.count() == 300
