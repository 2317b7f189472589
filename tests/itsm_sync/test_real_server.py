"""The sync against what a real AR System server does that a friendly one would not (issue 14)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from itsm_sync import services
from itsm_sync.models import SyncStatus
from itsm_sync.simulator import Simulator
from itsm_sync.sources import ARRestSource
from tests.itsm_sync.sync_helpers import (
    PASSWORD,
    USER,
    company_sync,
    config_for,
    mirror_people,
    people_sync,
    source_people,
    sync_both,
)

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


# -- item 7: transient means transient -----------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "counter"),
    [
        ({"html_errors": 2}, "html_errors"),  # Jetty's or a proxy's 502 page
        ({"html_errors": 2, "html_error_status": 503}, "html_errors"),
        ({"html_errors": 2, "html_error_status": 504}, "html_errors"),
        ({"truncated_bodies": 2}, "truncated_bodies"),  # a 200 whose JSON is cut off
        ({"busy": 2}, "busy_answers"),  # AR 9093
    ],
)
def test_a_passing_failure_is_retried_and_the_sync_goes_on(
    sim: Simulator, faults: dict, counter: str
) -> None:
    sync_both(sim, full=True)
    sim.set_faults(**faults)
    waits: list[float] = []
    config = config_for(sim, retries=3, backoff=0.5)

    with ARRestSource(config, sleep=waits.append) as source:
        run = services.sync_people(source=source, full=True)

    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert sim.stats()[counter] == 2
    assert waits == [0.5, 1.0]  # backoff, doubling


def test_when_the_retries_are_spent_the_run_ends_transient_saying_what_the_server_said(
    sim: Simulator,
) -> None:
    company_sync(sim, full=True)
    sim.set_faults(html_errors=5)

    run = people_sync(sim, config={"retries": 1})

    assert (run.status, run.error_transient) == (SyncStatus.FAILED, True)
    assert "HTTP 502 (an HTML page: Error 502 Bad Gateway)" in run.error
    assert "after 2 attempt(s)" in run.error
    assert "<" not in run.error


def test_a_cut_off_body_is_reported_readably(sim: Simulator) -> None:
    company_sync(sim, full=True)
    sim.set_faults(truncated_bodies=1)

    run = people_sync(sim)

    assert (run.status, run.error_transient) == (SyncStatus.FAILED, True)
    assert "HTTP 200 with a body that is not whole JSON" in run.error


def test_a_403_at_login_is_not_reported_as_a_wrong_password(sim: Simulator) -> None:
    sim.set_faults(html_errors=1, html_error_status=403)  # a proxy in front of AR refuses

    run = company_sync(sim)

    assert run.status == SyncStatus.FAILED
    assert "refused the login of user 'Demo': HTTP 403 (an HTML page: Error 403 Forbidden)" in (
        run.error
    )
    assert "This is not a wrong password" in run.error
    assert "ITSM_PASSWORD" not in run.error
    assert not run.error_transient


# -- item 8: a simulator that behaves like a real server ------------------------------------------


def test_a_sync_outlives_tokens_that_expire_by_time() -> None:
    ticks = itertools.count()
    start = datetime(2026, 3, 1, tzinfo=UTC)
    # Twenty minutes pass on the server with each call: a token lives three of them.
    clock = lambda: start + timedelta(minutes=20 * next(ticks))  # noqa: E731
    with Simulator(
        companies=12, people=300, seed=7, user=USER, password=PASSWORD, clock=clock
    ) as clocked:
        companies, people = sync_both(clocked, full=True)
        assert clocked.stats()["expired_tokens"] > 2
        assert companies.status == people.status == SyncStatus.SUCCEEDED
        assert mirror_people() == source_people(clocked)
