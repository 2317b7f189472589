"""A full run in steps: it pauses between pages and a later task takes it on (DESIGN §4)."""

from __future__ import annotations

from functools import partial

import pytest

from itsm_sync import services
from itsm_sync.models import Person, PlanAction, SeenKey, SyncKind, SyncRun, SyncStatus
from itsm_sync.services import approval, context, listing, locks, seen, steps, writers
from itsm_sync.simulator import Simulator
from itsm_sync.sources import ARRestSource
from tests.itsm_sync.sync_helpers import (
    config_for,
    mirror_people,
    people_sync,
    source_people,
    sync_both,
)

pytestmark = pytest.mark.django_db


def in_steps(sim: Simulator, **overrides) -> tuple[SyncRun, list[SyncRun]]:
    """A full people run that pauses after every page, taken on step by step until it ends."""
    with ARRestSource(config_for(sim, **overrides)) as source:
        run = services.sync_people(source=source, full=True, step_seconds=0)
    paused = []
    while run.is_paused:
        paused.append(SyncRun.objects.get(pk=run.pk))
        # Each step opens its own source, as a task on another worker would.
        with ARRestSource(config_for(sim, **overrides)) as source:
            run = services.sync_continue(run_id=run.pk, source=source, step_seconds=0)
    return run, paused


def test_a_full_run_in_steps_mirrors_what_one_step_would(sim: Simulator) -> None:
    sync_both(sim, full=True)
    gone = [p["Person ID"] for p in sim.people()[:2]]
    for person_id in gone:
        sim.delete_person(person_id)
    sim.update_person(sim.people()[5]["Person ID"], Department="Treasury")

    run, paused = in_steps(sim)

    # 298 people at 50 a page: a step per page (each page after the first asks again for the
    # second the one before ended in, and meets the one record of it already read); one that
    # looks up the two people the listing did not show; one that plans their deactivation; one
    # per chunk of applying it; the last finds nothing left.
    assert [(p.listed, p.phase, p.looked_up_to != "") for p in paused] == [
        (50, "reading", False),
        (99, "reading", False),
        (148, "reading", False),
        (197, "reading", False),
        (246, "reading", False),
        (295, "reading", False),
        (298, "reading", False),
        (298, "reading", True),
        (298, "applying", True),
        (298, "applying", True),
    ]
    assert all(p.status == SyncStatus.RUNNING and p.paused_at for p in paused)
    assert (run.status, run.steps, run.listed) == (SyncStatus.SUCCEEDED, 11, 298)
    assert (run.created, run.updated, run.unchanged, run.deactivated) == (0, 1, 297, 2)
    assert run.paused_at is None
    expected = source_people(sim)
    mirrored = mirror_people()
    assert {key: mirrored[key] for key in expected} == expected
    assert set(Person.objects.filter(is_active=False).values_list("person_id", flat=True)) == set(
        gone
    )
    assert not SeenKey.objects.exists()
    planned = run.planned_changes.filter(action=PlanAction.DEACTIVATE)
    assert sorted(planned.values_list("key", flat=True)) == sorted(gone)


def test_the_portable_path_goes_in_steps_too(sim: Simulator, monkeypatch) -> None:
    monkeypatch.setattr(context, "writer_for", writers.PortableWriter)
    monkeypatch.setattr(listing, "seen_keys", partial(seen.SeenKeys, copy=False))
    monkeypatch.setattr(steps, "kind_lock", locks._row_lock)
    monkeypatch.setattr(approval, "kind_lock", locks._row_lock)
    sync_both(sim, full=True)
    gone = sim.people()[0]["Person ID"]
    sim.delete_person(gone)

    run, paused = in_steps(sim)

    # Seven pages (49 new people each after the first), the look-up of the one missing,
    # planning, the one chunk of deactivations.
    assert len(paused) == 10
    assert (run.status, run.unchanged, run.deactivated) == (SyncStatus.SUCCEEDED, 299, 1)
    assert not Person.objects.get(person_id=gone).is_active
    assert not SeenKey.objects.exists()


def test_a_planned_full_run_in_steps_plans_and_applies_the_same(big_sim: Simulator) -> None:
    sync_both(big_sim, full=True, page_size=200)
    gone = big_sim.people()[-1]["Person ID"]
    big_sim.delete_person(gone)

    run, paused = in_steps(big_sim, page_size=200)

    # Four pages, the look-up of the one missing, planning, the one chunk of deactivations.
    assert [p.phase for p in paused] == ["reading"] * 5 + ["applying"] * 2
    assert run.status == SyncStatus.SUCCEEDED
    assert (run.planned_deactivations, run.deactivated, run.created) == (1, 1, 0)
    assert list(Person.objects.filter(is_active=False).values_list("person_id", flat=True)) == [
        gone
    ]


def test_a_paused_run_keeps_other_runs_of_its_kind_out(sim: Simulator) -> None:
    sync_both(sim, full=True)
    with ARRestSource(config_for(sim)) as source:
        paused = services.sync_people(source=source, full=True, step_seconds=0)
    assert paused.is_paused

    with pytest.raises(services.SyncAlreadyRunning, match=f"run #{paused.pk}"):
        people_sync(sim)
    # Companies are another kind: they go on.
    assert services.sync_companies(source=ARRestSource(config_for(sim))).status == "succeeded"


def test_a_paused_run_whose_next_step_never_came_is_closed_by_the_next_run(
    sim: Simulator, settings
) -> None:
    sync_both(sim, full=True)
    with ARRestSource(config_for(sim)) as source:
        paused = services.sync_people(source=source, full=True, step_seconds=0)
    assert SeenKey.objects.filter(run=paused).count() == 50
    settings.ITSM_SYNC_PAUSE_STALE_SECONDS = 0

    run = people_sync(sim)

    assert run.status == SyncStatus.SUCCEEDED
    paused.refresh_from_db()
    assert paused.status == SyncStatus.FAILED
    assert "its next step never came" in paused.error
    assert not SeenKey.objects.exists()
    # Its continuation, should it come now, finds nothing to do.
    with ARRestSource(config_for(sim)) as source:
        assert services.sync_continue(run_id=paused.pk, source=source) is None


def test_a_step_that_died_is_taken_on_from_its_last_committed_page(sim: Simulator) -> None:
    sync_both(sim, full=True)
    with ARRestSource(config_for(sim)) as source:
        run = services.sync_people(source=source, full=True, step_seconds=0)
    # The next step began (it cleared paused_at) and its worker was killed before it paused:
    # Celery hands the same message to another worker.
    SyncRun.objects.filter(pk=run.pk).update(paused_at=None)

    with ARRestSource(config_for(sim)) as source:
        run = services.sync_continue(run_id=run.pk, source=source)

    assert (run.status, run.steps, run.listed, run.unchanged) == (
        SyncStatus.SUCCEEDED,
        2,
        300,
        300,
    )
    assert run.deactivated == 0


def test_continuing_a_run_that_ended_does_nothing(sim: Simulator) -> None:
    _companies, people = sync_both(sim, full=True)
    with ARRestSource(config_for(sim)) as source:
        assert services.sync_continue(run_id=people.pk, source=source) is None
        assert services.sync_continue(run_id=999_999, source=source) is None
    assert SyncRun.objects.filter(kind=SyncKind.PEOPLE).count() == 1


def test_a_passing_source_failure_in_a_later_step_pauses_the_run_for_a_retry(
    sim: Simulator,
) -> None:
    sync_both(sim, full=True)
    with ARRestSource(config_for(sim)) as source:
        run = services.sync_people(source=source, full=True, step_seconds=0)
    sim.set_faults(fail_list_request=1)

    with ARRestSource(config_for(sim)) as source:
        run = services.sync_continue(run_id=run.pk, source=source, step_seconds=0)

    assert run.is_paused and run.error_transient
    assert "500" in run.error or "552" in run.error
    assert run.listed == 50  # what the first step read stays read
    with ARRestSource(config_for(sim)) as source:
        run = services.sync_continue(run_id=run.pk, source=source)
    assert (run.status, run.error, run.listed, run.unchanged) == (
        SyncStatus.SUCCEEDED,
        "",
        300,
        300,
    )


def test_a_run_whose_retries_are_spent_ends_saying_what_stays_applied(sim: Simulator) -> None:
    with ARRestSource(config_for(sim)) as source:
        services.sync_companies(source=source, full=True)
        run = services.sync_people(source=source, full=True, step_seconds=0)
    SyncRun.objects.filter(pk=run.pk).update(
        error="ITSM answered 500 (simulated fault).", error_transient=True
    )

    run = services.sync_give_up(run_id=run.pk)

    assert run.status == SyncStatus.PARTIAL
    assert run.error.startswith("ITSM answered 500 (simulated fault).")
    assert "The 1 page(s) committed before it stay applied" in run.error
    assert Person.objects.count() == 50
    assert not SeenKey.objects.exists()
    assert services.sync_give_up(run_id=run.pk) is None
