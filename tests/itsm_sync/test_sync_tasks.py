"""The Celery tasks and beat schedule of the ITSM sync (run eagerly: no broker in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from celery.schedules import crontab
from django.conf import settings
from django.db import connection

from itsm_sync import tasks
from itsm_sync.models import Person, SyncKind, SyncRun, SyncStatus
from itsm_sync.services import listing, locks
from msp_portal.celery import app

ROOT = Path(__file__).resolve().parents[2]


def test_the_tasks_have_their_documented_names() -> None:
    assert tasks.sync_companies.name == "itsm_sync.sync_companies"
    assert tasks.sync_people.name == "itsm_sync.sync_people"
    assert tasks.sync_all.name == "itsm_sync.sync_all"
    assert tasks.continue_sync.name == "itsm_sync.continue_sync"
    assert {"itsm_sync.sync_companies", "itsm_sync.sync_people", "itsm_sync.sync_all"} <= set(
        app.tasks
    )


@pytest.mark.django_db
def test_sync_all_runs_companies_then_people(itsm_env) -> None:
    tasks.sync_all.delay(full=True)

    runs = list(SyncRun.objects.order_by("id"))
    assert [(r.kind, r.mode, r.status) for r in runs] == [
        (SyncKind.COMPANIES, "full", SyncStatus.SUCCEEDED),
        (SyncKind.PEOPLE, "full", SyncStatus.SUCCEEDED),
    ]
    assert runs[0].finished_at <= runs[1].started_at
    assert Person.objects.count() == 300
    assert runs[1].started_by_label == tasks.SCHEDULED


@pytest.mark.django_db
def test_a_task_returns_the_run_summary(itsm_env) -> None:
    result = tasks.sync_companies.delay(full=True).get()

    run = SyncRun.objects.get()
    assert result == {"run": run.pk, **run.summary()}
    assert result["created"] == 12


@pytest.mark.django_db
def test_a_transient_source_failure_is_retried(itsm_env, settings) -> None:
    settings.ITSM_SYNC_RETRY_BACKOFF_SECONDS = 0
    itsm_env.set_faults(fail_list_request=1)

    # Eager tasks that propagate errors raise Retry; apply(throw=False) runs the retry, as a worker would.
    result = tasks.sync_companies.apply(throw=False).get()

    first, second = SyncRun.objects.order_by("id")
    assert (first.status, first.error_transient) == (SyncStatus.FAILED, True)
    assert second.status == SyncStatus.SUCCEEDED
    assert result["run"] == second.pk


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["html_errors", "truncated_bodies", "busy"])
def test_an_html_error_page_a_cut_off_body_or_ar_9093_is_retried_by_the_task(
    itsm_env, settings, fault
) -> None:
    settings.ITSM_SYNC_RETRY_BACKOFF_SECONDS = 0
    itsm_env.set_faults(**{fault: 1})  # ITSM_RETRIES=0: the run itself gives up at once

    result = tasks.sync_companies.apply(throw=False).get()

    first, second = SyncRun.objects.order_by("id")
    assert (first.status, first.error_transient) == (SyncStatus.FAILED, True)
    assert second.status == SyncStatus.SUCCEEDED
    assert result["run"] == second.pk


@pytest.mark.django_db
def test_a_bad_login_is_not_retried(itsm_env, monkeypatch) -> None:
    monkeypatch.setenv("ITSM_PASSWORD", "wrong")

    with pytest.raises(tasks.SyncRunFailed, match="ITSM login failed for user 'Demo'"):
        tasks.sync_companies.delay()

    assert SyncRun.objects.get().status == SyncStatus.FAILED


@pytest.mark.django_db
def test_a_failed_companies_sync_stops_the_chain_before_people(itsm_env, monkeypatch) -> None:
    monkeypatch.setenv("ITSM_PASSWORD", "wrong")

    with pytest.raises(tasks.SyncRunFailed):
        tasks.sync_all.delay()

    assert list(SyncRun.objects.values_list("kind", flat=True)) == [SyncKind.COMPANIES]


@pytest.mark.django_db
def test_an_unconfigured_source_fails_with_what_to_set(monkeypatch) -> None:
    monkeypatch.delenv("ITSM_URL", raising=False)
    monkeypatch.delenv("ITSM_FILE", raising=False)

    with pytest.raises(tasks.SyncRunFailed, match="set ITSM_URL"):
        tasks.sync_people.delay()


@pytest.mark.django_db(transaction=True)
def test_a_run_already_going_makes_the_task_a_no_op(itsm_env) -> None:
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        try:
            with locks.kind_lock(SyncKind.PEOPLE):
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(10)
        result = tasks.sync_people.delay().get()
    finally:
        release.set()
        holder.join(10)

    assert result["status"] == "already_running"
    assert "A people sync is already running" in result["message"]
    assert not SyncRun.objects.exists()


# -- settings --------------------------------------------------------------------------------------


def test_beat_runs_an_incremental_sync_every_10_minutes_and_a_full_one_nightly() -> None:
    incremental = settings.CELERY_BEAT_SCHEDULE["itsm-sync-incremental"]
    full = settings.CELERY_BEAT_SCHEDULE["itsm-sync-full"]

    assert incremental["task"] == full["task"] == "itsm_sync.sync_all"
    assert incremental["schedule"] == 600.0
    assert incremental["kwargs"] == {"full": False}
    assert full["schedule"] == crontab(hour=2, minute=0)
    assert full["kwargs"] == {"full": True}
    assert incremental["task"] in app.tasks


def test_the_sync_schedule_comes_from_the_environment() -> None:
    code = (
        "import json; from django.conf import settings as s; b = s.CELERY_BEAT_SCHEDULE; "
        "print(json.dumps([b['itsm-sync-incremental']['schedule'], "
        "sorted(b['itsm-sync-full']['schedule'].hour)]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "msp_portal.settings",
        "ITSM_SYNC_INCREMENTAL_MINUTES": "5",
        "ITSM_SYNC_FULL_HOUR": "4",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [300.0, [4]]


def test_sync_tasks_are_acked_late_and_outlive_no_visibility_timeout() -> None:
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert settings.ITSM_SYNC_LOCK_STALE_SECONDS > settings.CELERY_TASK_TIME_LIMIT
    # A full run's step leaves room before the soft limit for the page it is on.
    assert 0 < settings.ITSM_SYNC_STEP_SECONDS <= 0.8 * settings.CELERY_TASK_SOFT_TIME_LIMIT


@pytest.mark.django_db
def test_an_incremental_run_stopped_by_the_soft_time_limit_continues_in_a_new_task(
    itsm_env, monkeypatch
) -> None:
    tasks.sync_companies.delay(full=True)
    real_advance = listing.watermark_advance
    calls = []

    def advance_then_time_out(*args, **kwargs):
        real_advance(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()

    monkeypatch.setattr(listing, "watermark_advance", advance_then_time_out)

    result = tasks.sync_people.delay().get()

    assert result["status"] == "continued"
    stopped, continued = SyncRun.objects.filter(kind=SyncKind.PEOPLE).order_by("id")
    assert stopped.status == SyncStatus.PARTIAL
    assert stopped.error.startswith("Stopped at the task's soft time limit")
    assert continued.status == SyncStatus.SUCCEEDED
    assert continued.since == stopped.source_watermark
    assert Person.objects.count() == 300


@pytest.mark.django_db
def test_a_full_sync_goes_in_steps_each_its_own_task(itsm_env, settings) -> None:
    settings.ITSM_SYNC_STEP_SECONDS = 0  # pause after every page
    itsm_env.delete_person(itsm_env.people()[0]["Person ID"])

    tasks.sync_all.delay(full=True)

    companies, people = SyncRun.objects.order_by("id")
    assert (companies.kind, companies.status, companies.steps) == (
        SyncKind.COMPANIES,
        SyncStatus.SUCCEEDED,
        3,  # its one page; planning (nothing to deactivate); applying
    )
    # 299 people at 100 a page: a step per page (four: each after the first asks again for the
    # second the one before ended in), one to plan (nothing to deactivate in a mirror that was
    # empty), one to apply.
    assert (people.kind, people.status, people.steps, people.listed, people.created) == (
        SyncKind.PEOPLE,
        SyncStatus.SUCCEEDED,
        6,
        299,
        299,
    )
    assert companies.finished_at <= people.started_at
    assert Person.objects.count() == 299


@pytest.mark.django_db
def test_the_continuation_of_an_ended_run_is_a_no_op(itsm_env) -> None:
    tasks.sync_companies.delay(full=True)
    run = SyncRun.objects.get()

    assert tasks.continue_sync.delay(run_id=run.pk).get() == {
        "run": run.pk,
        "status": "nothing_to_continue",
    }


@pytest.mark.django_db
def test_a_passing_source_failure_in_a_later_step_is_retried_keeping_the_run(
    itsm_env, settings
) -> None:
    settings.ITSM_SYNC_STEP_SECONDS = 0
    settings.ITSM_SYNC_RETRY_BACKOFF_SECONDS = 0
    # The first step lists the one page of companies; the second step's listing fails once.
    itsm_env.set_faults(fail_list_request=2)

    result = tasks.sync_companies.apply(kwargs={"full": True}, throw=False).get()

    run = SyncRun.objects.get()
    assert (run.status, run.created, run.error, run.paused_at) == (
        SyncStatus.SUCCEEDED,
        12,
        "",
        None,
    )
    assert run.steps == 4  # the page, the failed step, planning, applying
    assert result["run"] == run.pk


@pytest.mark.django_db
def test_the_next_step_waits_while_another_run_holds_the_lock_for_a_moment(
    itsm_env, settings, monkeypatch
) -> None:
    from celery.exceptions import Retry

    from itsm_sync import services
    from itsm_sync.sources import open_source

    with open_source() as source:
        services.sync_companies(source=source, full=True)
        paused = services.sync_people(source=source, full=True, step_seconds=0)

    def busy(**kwargs):
        raise services.SyncAlreadyRunning("A people sync is already running.")

    monkeypatch.setattr(services, "sync_continue", busy)
    with pytest.raises(Retry):
        tasks.continue_sync.delay(run_id=paused.pk)
    # Its retries spent, the run ends saying why instead of blocking its kind for an hour.
    with pytest.raises(tasks.SyncRunFailed):
        tasks.continue_sync.apply(kwargs={"run_id": paused.pk}, retries=3).get()
    ended = SyncRun.objects.get(pk=paused.pk)
    assert ended.status == SyncStatus.PARTIAL
    assert ended.error.startswith("Its next step could not take the lock")

    # A run that is not paused is not waiting for this task: a busy lock is its own step going.
    assert tasks.continue_sync.delay(run_id=paused.pk).get()["status"] == "already_running"
