"""Drill: the Celery worker running a people sync is killed (SIGKILL) half-way through.

The task is acknowledged only when it ends (acks_late), so the broker still holds it; once the
visibility timeout has passed a new worker receives it again, the run it starts closes the
killed one as interrupted, continues from the watermark of the pages already committed, and
the mirror ends exactly as a clean run leaves it: equal, row for row, to the source.
"""

import time

import pytest
from celery import Celery

from itsm_sync.models import Person, SyncKind, SyncRun, SyncStatus, Watermark
from tests.drills.conftest import checksum, wait_for
from tests.itsm_sync.sync_helpers import (
    PASSWORD,
    USER,
    company_sync,
    mirror_people,
    running_simulator,
    source_people,
)

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]

PEOPLE, PAGE = 400, 20
# The broker hands an unacknowledged task to another worker after 2 × the hard time limit.
TIME_LIMIT = 10
VISIBILITY = 2 * TIME_LIMIT


@pytest.fixture
def sim():
    yield from running_simulator(companies=12, people=PEOPLE, seed=11)


def _send(broker_url: str, name: str, **kwargs) -> None:
    """Send as the beat or the sync page would, through the broker (the suite itself is eager)."""
    app = Celery("drill", broker=broker_url, set_as_current=False)
    try:
        app.send_task(name, kwargs=kwargs)
    finally:
        app.close()


def _runs_and(worker):
    def details() -> str:
        runs = SyncRun.objects.values_list("pk", "kind", "status", "pages", "error")
        return f"runs: {list(runs)}\n{worker.tail()}"

    return details


def test_a_sync_whose_worker_is_killed_is_redelivered_and_converges_to_the_source(
    sim, own_redis, workers
):
    company_sync(sim)
    # Slow the source down so that the run is still going after a few pages.
    sim.set_faults(delay_ms=150)
    broker = own_redis.url(1)
    env = {
        "ITSM_FILE": "",
        "ITSM_URL": sim.url,
        "ITSM_USER": USER,
        "ITSM_PASSWORD": PASSWORD,
        "ITSM_PAGE_SIZE": str(PAGE),
        "ITSM_BACKOFF": "0",
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT - 2),
    }
    first = workers(broker, **env)
    _send(broker, "itsm_sync.sync_people", full=False)

    running = SyncRun.objects.filter(kind=SyncKind.PEOPLE, status=SyncStatus.RUNNING, pages__gte=4)
    cut = wait_for(running.first, timeout=40, what="the run to commit 4 pages", details=first.tail)
    first.kill()

    cut.refresh_from_db()
    kept = Person.objects.count()
    assert cut.status == SyncStatus.RUNNING, "the killed worker could not record anything"
    assert 4 <= cut.pages < PEOPLE // PAGE
    assert 0 < kept < PEOPLE
    watermark = Watermark.objects.get(kind=SyncKind.PEOPLE).value
    # The watermark moves only after a page's commit (a kill in between leaves it one page
    # behind, which is harmless): whatever is still missing lies at or after it.
    mirrored, source = mirror_people(), source_people(sim)
    assert watermark <= max(row[-2] for row in mirrored.values())
    assert all(row[-2] >= watermark for key, row in source.items() if key not in mirrored)

    unacked = own_redis.client(1).zrange("unacked_index", 0, -1, withscores=True)
    assert len(unacked) == 1, "the killed worker's task is neither acknowledged nor lost"
    delivered_at = unacked[0][1]
    # A new worker restores overdue tasks as it starts: start it once this one is overdue.
    time.sleep(max(0.0, delivered_at + VISIBILITY + 1 - time.time()))
    second = workers(broker, **env)

    finished = SyncRun.objects.filter(kind=SyncKind.PEOPLE, status=SyncStatus.SUCCEEDED)
    rerun = wait_for(
        finished.first, timeout=40, what="the redelivered sync to finish", details=_runs_and(second)
    )

    assert checksum(mirror_people()) == checksum(source)
    assert mirror_people() == source
    # Resumed, not restarted: it read from the watermark the killed run had committed.
    assert rerun.since == watermark
    assert rerun.seen < PEOPLE
    cut.refresh_from_db()
    assert cut.status == SyncStatus.FAILED
    assert "Interrupted" in cut.error
    assert SyncRun.objects.filter(kind=SyncKind.PEOPLE).count() == 2
    # The redelivered task is acknowledged once it returns: nothing is left to run again.
    broker_db = own_redis.client(1)
    wait_for(
        lambda: broker_db.zcard("unacked_index") == 0 and broker_db.llen("celery") == 0,
        timeout=20,
        what="the broker to hold no task any more",
        details=second.tail,
    )
