"""Celery entry points of the ITSM sync; each opens the configured source and calls one service.

Only a transient source failure (timeout, connection refused, HTTP 5xx, an HTML error page
where JSON is due, a body cut off, AR 9093; see sources._passing_failure) is retried, with
exponential backoff; a run that is already going makes the new one a no-op, and any other
failure is recorded on its SyncRun and raised so the worker log and a chain see it. An
incremental run stopped by the soft time limit keeps the pages it committed and continues in a
new task from the watermark. A full run goes in steps (DESIGN §4): after ITSM_SYNC_STEP_SECONDS
it pauses between two pages and the task replaces itself with `itsm_sync.continue_sync`, which
any worker picks up and which takes the run on from its last committed page (Celery's
`replace` keeps a chain waiting: people still follow their companies).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import chain, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model

from . import services
from .models import SyncRun, SyncStatus
from .sources import SourceError, open_source

logger = logging.getLogger(__name__)

SCHEDULED = "system (scheduled sync)"


class SyncRunFailed(Exception):
    """A sync run ended failed or partial; its SyncRun holds the details."""


def _retry_countdown(retries: int) -> float:
    return getattr(settings, "ITSM_SYNC_RETRY_BACKOFF_SECONDS", 30) * 2**retries


def _actor(actor_id: int | None) -> Any:
    """The person who asked for the run from the UI, or None for a scheduled one."""
    if actor_id is None:
        return None
    return get_user_model().objects.filter(pk=actor_id, is_active=True).first()


def _run(
    task: Any, service: Any, *, full: bool, dry_run: bool, actor_id: int | None = None
) -> dict[str, Any]:
    actor = _actor(actor_id)
    who = {"actor": actor} if actor is not None else {"actor_label": SCHEDULED}
    try:
        with open_source() as source:
            run: SyncRun = service(
                source=source, full=full, dry_run=dry_run, step_seconds=_step_seconds(), **who
            )
    except SoftTimeLimitExceeded:
        if full or dry_run:
            raise
        # The pages committed so far moved the watermark: a fresh task, on any worker,
        # continues from there instead of one task outliving the broker's visibility timeout.
        task.apply_async(kwargs={"full": False, "dry_run": False, "actor_id": actor_id})
        logger.warning("%s stopped at the soft time limit; continuing in a new task", task.name)
        return {"run": None, "status": "continued"}
    except services.SyncAlreadyRunning as exc:
        logger.info("%s", exc)
        return {"run": None, "status": "already_running", "message": str(exc)}
    except SourceError as exc:
        # Configuration errors (no ITSM_URL, a bad ITSM_PAGE_SIZE) surface here; no retry helps.
        raise SyncRunFailed(str(exc)) from exc
    return _ended(task, run)


def _step_seconds() -> float:
    return float(getattr(settings, "ITSM_SYNC_STEP_SECONDS", 240.0))


def _ended(task: Any, run: SyncRun) -> dict[str, Any]:
    """The task's answer for a run it ran (a step of); a paused run goes on in a new task."""
    if run.is_paused and run.error_transient:
        # A later step met a passing source failure: the run keeps its steps and waits.
        if task.request.retries < task.max_retries:
            raise task.retry(countdown=_retry_countdown(task.request.retries))
        run = services.sync_give_up(run_id=run.pk) or run
    if run.is_paused:
        logger.info("ITSM sync run #%s paused after step %s; continuing", run.pk, run.steps)
        return task.replace(continue_sync.si(run_id=run.pk))
    if run.status in (SyncStatus.FAILED, SyncStatus.PARTIAL):
        if run.error_transient and task.request.retries < task.max_retries:
            raise task.retry(countdown=_retry_countdown(task.request.retries))
        raise SyncRunFailed(f"ITSM sync run #{run.pk} {run.status}: {run.error}")
    return {"run": run.pk, "status": run.status, **run.summary()}


@shared_task(
    name="itsm_sync.sync_companies",
    bind=True,
    max_retries=getattr(settings, "ITSM_SYNC_TASK_RETRIES", 3),
)
def sync_companies(
    self: Any, full: bool = False, dry_run: bool = False, actor_id: int | None = None
) -> dict[str, Any]:
    return _run(self, services.sync_companies, full=full, dry_run=dry_run, actor_id=actor_id)


@shared_task(
    name="itsm_sync.sync_people",
    bind=True,
    max_retries=getattr(settings, "ITSM_SYNC_TASK_RETRIES", 3),
)
def sync_people(
    self: Any, full: bool = False, dry_run: bool = False, actor_id: int | None = None
) -> dict[str, Any]:
    return _run(self, services.sync_people, full=full, dry_run=dry_run, actor_id=actor_id)


@shared_task(
    name="itsm_sync.continue_sync",
    bind=True,
    max_retries=getattr(settings, "ITSM_SYNC_TASK_RETRIES", 3),
)
def continue_sync(self: Any, run_id: int) -> dict[str, Any]:
    """The next step of a paused full run; a no-op once that run has ended (safe twice)."""
    try:
        with open_source() as source:
            run = services.sync_continue(run_id=run_id, source=source, step_seconds=_step_seconds())
    except services.SyncAlreadyRunning as exc:
        # Another run holds the lock for a moment (one refused because this run is paused), or
        # the step before still does (a redelivered message): try again while it is paused.
        paused = SyncRun.objects.filter(pk=run_id, status=SyncStatus.RUNNING).first()
        if paused is None or not paused.is_paused:
            logger.info("%s", exc)
            return {"run": run_id, "status": "already_running", "message": str(exc)}
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=_retry_countdown(self.request.retries)) from exc
        _give_up(run_id, f"Its next step could not take the lock: {exc}")
        raise SyncRunFailed(str(exc)) from exc
    except SourceError as exc:
        # The source can't even be opened (configuration): the run ends here, saying why.
        _give_up(run_id, str(exc))
        raise SyncRunFailed(str(exc)) from exc
    if run is None:
        # Nothing to continue: the run ended (a repeated message). A chain goes on only if it
        # ended well.
        ended = SyncRun.objects.filter(pk=run_id).first()
        if ended is not None and ended.status in (SyncStatus.FAILED, SyncStatus.PARTIAL):
            raise SyncRunFailed(f"ITSM sync run #{ended.pk} {ended.status}: {ended.error}")
        return {"run": run_id, "status": "nothing_to_continue"}
    return _ended(self, run)


def _give_up(run_id: int, reason: str) -> None:
    run = services.sync_give_up(run_id=run_id, reason=reason)
    if run is not None:
        logger.warning("ITSM sync run #%s ended: %s", run.pk, run.error)


@shared_task(name="itsm_sync.sync_all")
def sync_all(full: bool = False, dry_run: bool = False, actor_id: int | None = None) -> str:
    """Companies first, then people: a person's company must be in the mirror before them."""
    result = chain(
        sync_companies.si(full=full, dry_run=dry_run, actor_id=actor_id),
        sync_people.si(full=full, dry_run=dry_run, actor_id=actor_id),
    ).apply_async()
    return result.id
