"""A sync run from start to finish, step by step: the use cases that start and continue runs.

`sync_companies` and `sync_people` start a run under the kind's lock; a full run with
`step_seconds` pauses once a step's time is up, still running, and `sync_continue` takes its
next step from the last commit (`sync_give_up` closes it once its retries are spent). Each step
reads (see listing), lets the guard decide, and applies what it planned (see plans).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from ..models import SyncMode, SyncRun, SyncStatus
from ..sources import SourceError
from .context import READING, Progress, RunContext, run_context
from .guard import deactivation_limit, guard_message, guard_tripped, plans_first
from .lifecycle import (
    actor_label_for,
    check_actor,
    fail,
    fail_interrupted,
    finish,
    pause,
    relaxed_durability,
    source_label,
)
from .listing import listing_read
from .locks import SyncAlreadyRunning, kind_lock
from .mirror import watermark_advance, watermark_get
from .plans import deactivations_apply, plan_apply
from .records import COMPANIES, PEOPLE, Spec

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


logger = logging.getLogger(__name__)


def sync_companies(
    *,
    actor: AbstractBaseUser | None = None,
    source: Any,
    full: bool = False,
    dry_run: bool = False,
    actor_label: str = "",
    progress: Progress | None = None,
    step_seconds: float | None = None,
) -> SyncRun:
    """Mirror ITSM companies (COM:Company) from source: incremental, full reconcile or dry run.

    Raises SyncAlreadyRunning when a companies run holds the lock; every other outcome is the
    returned run's status (a source failure is recorded on the run, with `error_transient` set
    when a retry may help). With `step_seconds`, a full run pauses after the first page that
    ends past that time, still running (`run.is_paused`), for sync_continue to take up.
    """
    return _sync(
        COMPANIES,
        actor=actor,
        source=source,
        full=full,
        dry_run=dry_run,
        actor_label=actor_label,
        progress=progress,
        step_seconds=step_seconds,
    )


def sync_people(
    *,
    actor: AbstractBaseUser | None = None,
    source: Any,
    full: bool = False,
    dry_run: bool = False,
    actor_label: str = "",
    progress: Progress | None = None,
    step_seconds: float | None = None,
) -> SyncRun:
    """Mirror ITSM people (CTM:People) from source; companies must be mirrored first.

    Same contract as sync_companies; a person whose company changed is moved through
    person_move_company.
    """
    return _sync(
        PEOPLE,
        actor=actor,
        source=source,
        full=full,
        dry_run=dry_run,
        actor_label=actor_label,
        progress=progress,
        step_seconds=step_seconds,
    )


def _sync(
    spec: Spec,
    *,
    actor: AbstractBaseUser | None,
    source: Any,
    full: bool,
    dry_run: bool,
    actor_label: str,
    progress: Progress | None,
    step_seconds: float | None = None,
) -> SyncRun:
    check_actor(actor)
    with kind_lock(spec.kind) as heartbeat:
        fail_interrupted(spec.kind)
        run = SyncRun.objects.create(
            kind=spec.kind,
            mode=SyncMode.FULL if full else SyncMode.INCREMENTAL,
            dry_run=dry_run,
            started_by=actor,
            started_by_label=actor_label_for(actor, actor_label),
            source_label=source_label(source),
            since=None if full else watermark_get(spec.kind),
        )
        ctx = run_context(run, heartbeat=heartbeat, progress=progress)
        return _run_step(ctx, source, step_seconds, full=full, actor=actor)


def sync_continue(
    *,
    run_id: int,
    source: Any,
    step_seconds: float | None = None,
    progress: Progress | None = None,
) -> SyncRun | None:
    """Take up a full run where its last committed page left it: its next step.

    The run paused between two tasks, or the task of its step died (a killed worker, whose
    message comes back). It reads on from the records it had listed, with the keys it had
    seen. Returns None when there is nothing to continue (the run ended, or was closed as
    interrupted): running a step twice is safe. Raises SyncAlreadyRunning as the runs do.
    """
    kind = SyncRun.objects.filter(pk=run_id).values_list("kind", flat=True).first()
    if kind is None:
        return None
    with kind_lock(kind) as heartbeat:
        # An approval being applied is running too, but it is not a step of a run.
        run = SyncRun.objects.filter(
            pk=run_id, status=SyncStatus.RUNNING, mode=SyncMode.FULL, approved_at__isnull=True
        ).first()
        if run is None:
            return None
        fail_interrupted(kind, continuing=run.pk)
        run.paused_at = None
        run.error = ""
        run.error_transient = False
        run.steps += 1
        run.save(update_fields=["paused_at", "error", "error_transient", "steps"])
        ctx = run_context(run, heartbeat=heartbeat, progress=progress)
        return _run_step(ctx, source, step_seconds, full=True, actor=run.started_by, resume=True)


def sync_give_up(*, run_id: int, reason: str = "") -> SyncRun | None:
    """Close a paused full run whose next step can't be taken (its retries are spent).

    Returns None when there is nothing to close: the run ended, or a step of it is going.
    """
    kind = SyncRun.objects.filter(pk=run_id).values_list("kind", flat=True).first()
    if kind is None:
        return None
    try:
        with kind_lock(kind):
            run = SyncRun.objects.filter(pk=run_id, status=SyncStatus.RUNNING).first()
            if run is None or not run.is_paused:
                return None
            ctx = run_context(run)
            error = SourceError(reason or run.error or "The source failed.")
            return fail(ctx, error, actor=None, transient=True)
    except SyncAlreadyRunning:
        return None


def _run_step(
    ctx: RunContext,
    source: Any,
    step_seconds: float | None,
    *,
    full: bool,
    actor: AbstractBaseUser | None,
    resume: bool = False,
) -> SyncRun:
    """Run (a step of) a run under its lock, recording how it ended, whatever happens."""
    run = ctx.run
    if step_seconds is not None:
        ctx.deadline = ctx.clock_start + step_seconds
    try:
        with relaxed_durability():
            return _execute(ctx, source, full=full, dry_run=run.dry_run, actor=actor, resume=resume)
    except SourceError as exc:
        if resume and exc.retryable:
            # A later step keeps what the earlier ones did: the run waits for a retry.
            return pause(ctx, error=str(exc))
        return fail(ctx, exc, actor=actor, transient=exc.retryable)
    except BaseException as exc:
        # Record why (a bug, the database, the soft time limit) before letting it go on; a
        # connection the database dropped (a restart) is replaced to record it.
        if not connection.is_usable():
            connection.close()
        try:
            fail(ctx, exc, actor=actor, transient=False)
        except Exception:
            logger.exception("Could not record the failure of ITSM sync run #%s", run.pk)
        raise


def _execute(
    ctx: RunContext,
    source: Any,
    *,
    full: bool,
    dry_run: bool,
    actor: AbstractBaseUser | None,
    resume: bool = False,
) -> SyncRun:
    """One step's work: read on, let the guard decide, apply what was planned, or pause."""
    spec, run = ctx.spec, ctx.run
    chunk = max(1, getattr(getattr(source, "config", None), "page_size", 0) or 1000)
    if full and not resume:
        active = spec.model.objects.filter(is_active=True).count()
        run.active_before = active
        run.deactivation_limit = deactivation_limit(active)
        run.save(update_fields=["active_before", "deactivation_limit"])
    staged = plans_first(run)
    if run.phase == READING and not listing_read(ctx, source, full=full, staged=staged):
        return pause(ctx)
    tripped = guard_tripped(run, full=full)
    if dry_run:
        message = guard_message(run, spec, dry=True) if tripped else ""
        return finish(ctx, SyncStatus.SUCCEEDED, actor=actor, message=message)
    if tripped:
        run.planned_at = timezone.now()  # an approval keeps what later syncs touched
        return finish(
            ctx,
            SyncStatus.NEEDS_APPROVAL,
            actor=actor,
            message=guard_message(run, spec, dry=False),
        )
    if staged:
        if not plan_apply(ctx, chunk=chunk):
            return pause(ctx)
        watermark_advance(spec.kind, run.source_watermark, run)
    elif full and not deactivations_apply(ctx, chunk=chunk):
        return pause(ctx)
    return finish(ctx, SyncStatus.SUCCEEDED, actor=actor)
