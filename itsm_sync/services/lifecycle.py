"""How a run (or a step of it) ends, durably: paused, finished or failed, and who it was for.

Every end is recorded on the run, whatever happened: a failure says what stays applied, a
pause keeps the run going for its next step, and a finish is committed durably with its audit
event. A run left `running` by a process that died is closed by the next run of its kind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django import db as django_db
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed

from ..models import SyncRun, SyncStatus
from ..signals import sync_run_finished
from ..sources import SourceError
from .context import COUNTERS, RunContext
from .locks import SYSTEM, already_running
from .moves import send_robustly
from .seen import forget_seen

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


logger = logging.getLogger(__name__)

RUN_PERMISSION = "itsm_sync.run_sync"


def check_actor(actor: AbstractBaseUser | None) -> None:
    """Refuse an actor who may not run or approve syncs (no actor: the system)."""
    if actor is not None and not actor.has_perm(RUN_PERMISSION):
        raise NotAllowed("Only system and catalog administrators can run or approve ITSM syncs.")


def actor_label_for(actor: AbstractBaseUser | None, label: str) -> str:
    """Who a run is recorded as started (or approved) by."""
    if label:
        return label[:150]
    return actor.get_username() if actor is not None else SYSTEM


def source_label(source: Any) -> str:
    """What a run read from, as its page shows it."""
    config = getattr(source, "config", None)
    if config is not None and getattr(config, "url", ""):
        return f"AR System REST API {config.url} as {config.user or '(no user)'}"[:300]
    path = getattr(source, "path", None)
    if path is not None:
        return f"JSON export {path}"[:300]
    return type(source).__name__


def fail_interrupted(kind: str, *, continuing: int | None = None) -> None:
    """Holding the lock proves no other run of this kind is alive: close any left 'running'.

    A full run paused between two steps is alive, though: until its next task is overdue
    (ITSM_SYNC_PAUSE_STALE_SECONDS) a new run of its kind is refused as already running.
    `continuing` is the run the caller goes on with itself.
    """
    left = SyncRun.objects.filter(kind=kind, status=SyncStatus.RUNNING)
    if continuing is not None:
        left = left.exclude(pk=continuing)
    stale = timezone.now() - timedelta(
        seconds=getattr(settings, "ITSM_SYNC_PAUSE_STALE_SECONDS", 3600)
    )
    if left.filter(paused_at__gte=stale).exists():
        raise already_running(kind)
    interrupted = list(left.values_list("pk", flat=True))
    if not interrupted:
        return
    SyncRun.objects.filter(pk__in=interrupted).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        paused_at=None,
        error="Interrupted: the process running this sync stopped before it finished "
        "(worker restart or time limit), or its next step never came. Pages it committed "
        "stay applied; the next run continues from the watermark.",
    )
    forget_seen(interrupted)


@contextmanager
def relaxed_durability() -> Iterator[None]:
    """Commit pages without waiting for their WAL flush (PostgreSQL); the run's end is durable.

    A crash may lose the last pages committed before it, never a page without the ones before
    it (WAL is replayed in order), and a page's watermark is committed after the page, so it is
    lost with it: the next run reads those pages again. The fsync per page this saves is a
    large share of the write path. Nothing else in the session is affected once it ends.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except django_db.Error:
            logger.warning("Could not reset synchronous_commit; closing the connection")
            connection.close()


def _committed_counters(run: SyncRun) -> None:
    """Take the counters and cursors back to their last commit: a chunk that failed rolled its
    own back in the database, not in memory, and a retry goes on from what was committed."""
    try:
        run.refresh_from_db(fields=COUNTERS)
    except DatabaseError:
        logger.warning("Could not re-read ITSM sync run #%s; recording it as it stood", run.pk)


def fail(
    ctx: RunContext, exc: BaseException, *, actor: AbstractBaseUser | None, transient: bool
) -> SyncRun:
    """End the run as failed, or partial when some of its work stays committed; say why."""
    status = SyncStatus.PARTIAL if ctx.applied_chunks else SyncStatus.FAILED
    _committed_counters(ctx.run)
    if isinstance(exc, SourceError | DomainError):
        error = str(exc)
    elif isinstance(exc, SoftTimeLimitExceeded):
        error = (
            "Stopped at the task's soft time limit "
            f"(CELERY_TASK_SOFT_TIME_LIMIT={settings.CELERY_TASK_SOFT_TIME_LIMIT} s)."
        )
    else:
        error = f"{type(exc).__name__}: {exc}"
    if ctx.applied_chunks:
        error += (
            f" The {ctx.applied_chunks} page(s) committed before it stay applied; the watermark "
            "covers only committed pages, so the next run picks up from there."
        )
    else:
        error += " Nothing was changed."
    return finish(ctx, status, actor=actor, error=error.strip(), transient=transient)


def pause(ctx: RunContext, error: str = "") -> SyncRun:
    """End this step of a full run; it stays running, and its next task continues it.

    With `error` (a transient source failure) the next step waits for the task's retry.
    """
    run = ctx.run
    if error:
        _committed_counters(run)
    run.paused_at = timezone.now()
    run.duration = timedelta(seconds=time.monotonic() - ctx.clock_start + ctx.earlier_seconds)
    run.error = error
    run.error_transient = bool(error)
    run.save(update_fields=["paused_at", "duration", "error", "error_transient"])
    logger.info(
        "ITSM sync run #%s (%s %s) paused after step %s, %s records listed; a new task goes on",
        run.pk,
        run.kind,
        run.mode_label,
        run.steps,
        run.listed,
    )
    return run


def finish(
    ctx: RunContext,
    status: str,
    *,
    actor: AbstractBaseUser | None,
    message: str = "",
    error: str = "",
    transient: bool = False,
) -> SyncRun:
    """End the run with this status, durably, with its audit event; announce it after commit."""
    run = ctx.run
    seconds = time.monotonic() - ctx.clock_start + ctx.earlier_seconds
    run.status = status
    run.paused_at = None
    run.finished_at = timezone.now()
    run.duration = timedelta(seconds=seconds)
    run.rows_per_s = round(run.seen / seconds, 1) if seconds > 0 else None
    run.message = message
    run.error = error
    run.error_transient = transient
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Pages may commit asynchronously (relaxed_durability); how a run ended may not.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = on")
        run.save()
        forget_seen([run.pk])
        if not run.dry_run:
            audit_record(
                actor=actor,
                actor_label=run.approved_by_label or run.started_by_label,
                action="itsm_sync.approve" if run.approved_at else "itsm_sync.run",
                obj=run,
                after=run.summary(),
                message=error or message,
            )
        transaction.on_commit(partial(send_robustly, sync_run_finished, sender=SyncRun, run=run))
    log = logger.warning if status in (SyncStatus.FAILED, SyncStatus.PARTIAL) else logger.info
    log(
        "ITSM sync run #%s (%s %s) %s: %s",
        run.pk,
        run.kind,
        run.mode_label,
        run.status,
        error
        or message
        or ", ".join(f"{name} {getattr(run, name)}" for name in SyncRun.COUNTER_FIELDS),
    )
    _prune_history()
    return run


def _prune_history() -> None:
    days = getattr(settings, "ITSM_SYNC_HISTORY_DAYS", 90)
    if not days:
        return
    cutoff = timezone.now() - timedelta(days=days)
    SyncRun.objects.filter(finished_at__lt=cutoff).exclude(status=SyncStatus.RUNNING).delete()
