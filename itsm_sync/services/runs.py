"""A sync run: read page by page, how it ends, its steps, and the approval of a kept plan."""

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

from ..models import PlanAction, PlannedChange, SyncMode, SyncRun, SyncStatus
from ..signals import sync_run_finished
from ..sources import KEY_LOOKUP_BATCH, SourceError
from .context import (
    APPLYING,
    COUNTERS,
    PLAN_CHUNK,
    READING,
    Progress,
    RunContext,
    nothing,
    past_deadline,
    run_context,
    save_counters,
)
from .guard import deactivation_limit, guard_message, guard_tripped, plans_first
from .locks import SYSTEM, SyncAlreadyRunning, already_running, kind_lock
from .mirror import rejections_store, rows_apply, watermark_advance, watermark_get
from .moves import send_robustly
from .pages import Page, read_page, settle_page
from .plans import classify, deactivations_apply, plan_apply, plan_store
from .reading import read_ahead
from .records import COMPANIES, PEOPLE, Spec
from .seen import SeenKeys, forget_seen, seen_keys

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


def listing_read(ctx: RunContext, source: Any, *, full: bool, staged: bool) -> bool:
    """The reading phase: the listing, then (full runs) looking again and planning deactivations.

    Returns False when the step's time ran out first; what it did is committed, page by page.
    """
    spec, run = ctx.spec, ctx.run
    dry_run = run.dry_run
    seen = seen_keys(spec, run) if full else None
    prepare = None
    if spec.parse_ahead:
        ctx.companies.load_all()
        prepare = partial(read_page, ctx, render=not staged)
    with read_ahead(spec.pages(source, run.since, run.listed_to), prepare) as pages:
        ctx.overlap = pages.overlap
        for item in pages:
            _process_page(ctx, item, staged=staged, seen=seen, keep_values=not dry_run)
            if full and past_deadline(ctx):
                return False
    ctx.overlap = nothing
    if seen is None:
        return True
    if not _look_again(ctx, source, seen, staged=staged, keep_values=not dry_run):
        return False
    with transaction.atomic():
        # A step that died after planning but before it recorded so planned in vain.
        PlannedChange.objects.filter(run=run, action=PlanAction.DEACTIVATE).delete()
        run.planned_deactivations = seen.plan_deactivations(run)
        run.phase = APPLYING
        save_counters(run)
    forget_seen([run.pk])
    return not (full and past_deadline(ctx))


def _process_page(
    ctx: RunContext,
    item: Page | list[Any],
    *,
    staged: bool,
    seen: SeenKeys | None,
    keep_values: bool,
    listed: bool = True,
) -> None:
    """Read, plan and either apply (one transaction, then the watermark) or store one page."""
    run = ctx.run
    page = settle_page(ctx, item)
    with transaction.atomic():
        if staged:
            ctx.overlap()
            rows = {key: valid.row for key, valid in page.valid.items()}
            creates, updates, unchanged = classify(ctx, rows)
            plan_store(ctx, creates, updates, keep_values=keep_values)
        else:
            rows = page.rows
            unchanged = len(rows) - rows_apply(ctx, rows, rendered=page.rendered)
        rejections_store(run, page.rejected)
        if seen is not None:
            seen.add(page.keys)
        run.pages += 1
        run.seen += page.read
        if listed:  # committed with the page: where a later step goes on reading
            run.listed += page.read
            run.listed_to = page.cursor
        run.unchanged += unchanged
        if page.latest is not None and (
            run.source_watermark is None or page.latest > run.source_watermark
        ):
            run.source_watermark = page.latest
        save_counters(run)
    if not staged:
        ctx.applied_chunks += 1
        # After the commit: a crash between the two re-reads this page, which is harmless.
        watermark_advance(ctx.spec.kind, page.latest, run)
    ctx.heartbeat()
    if ctx.progress is not None:
        ctx.progress(run)


def _look_again(
    ctx: RunContext, source: Any, seen: SeenKeys, *, staged: bool, keep_values: bool
) -> bool:
    """Ask the source once more for the active records its listing did not show.

    "Not listed" is not yet "gone": a source that pages by offset (or a second holding more
    records than a page, changing while it is paged) can still skip a record. Those the source
    still has are read like any other page; only the rest are planned for deactivation.
    More than the guard's limit are not looked up key by key: the run stops for approval anyway.

    Keys are asked in key order, KEY_LOOKUP_BATCH at a time; `run.looked_up_to` keeps the last
    one asked, so a run paused here (False: the step's time is up) goes on after it.
    """
    run = ctx.run
    limit = run.deactivation_limit or 0
    if run.listed == 0:
        return True  # an empty listing stops for approval; nothing is read in its place
    unseen = seen.unseen_keys(limit + 1)
    if not unseen or len(unseen) > limit:
        return True
    unseen = sorted(key for key in unseen if key > run.looked_up_to)
    for first in range(0, len(unseen), KEY_LOOKUP_BATCH):
        batch = unseen[first : first + KEY_LOOKUP_BATCH]
        for page in ctx.spec.pages_by_key(source, batch):
            _process_page(
                ctx, page, staged=staged, seen=seen, keep_values=keep_values, listed=False
            )
        run.looked_up_to = batch[-1]
        run.save(update_fields=["looked_up_to"])
        if past_deadline(ctx):
            return False
    return True


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


class SyncApprovalRefused(DomainError):
    """The run can't be approved (not waiting for approval, superseded, or a dry run)."""


def sync_run_approve(
    *,
    actor: AbstractBaseUser | None,
    run: SyncRun,
    actor_label: str = "",
    progress: Progress | None = None,
) -> SyncRun:
    """Apply the kept plan of a full reconcile that stopped for approval (S3); audited.

    Rows a later sync has changed since the plan was made keep their newer state. A plan
    superseded by a later full run can't be approved (approve that one instead).
    """
    check_actor(actor)
    with kind_lock(run.kind) as heartbeat:
        run = SyncRun.objects.get(pk=run.pk)
        if run.dry_run:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is a dry run; it only shows a plan. Start a real full run to "
                "apply it."
            )
        if not run.approvable:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is {run.get_status_display().lower()}; only a run that needs "
                "approval can be approved."
            )
        later = (
            SyncRun.objects.filter(
                kind=run.kind, mode=SyncMode.FULL, dry_run=False, started_at__gt=run.started_at
            )
            .exclude(status=SyncStatus.FAILED)
            .order_by("started_at")
            .first()
        )
        if later is not None:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is superseded by full run #{later.pk} "
                f"({later.get_status_display().lower()}), which read the source later; "
                "approve or re-run that one instead."
            )
        fail_interrupted(run.kind)
        # Not finished_at: a failed approval being retried has moved that on.
        planned_at = run.planned_at or run.finished_at or timezone.now()
        run.status = SyncStatus.RUNNING
        run.approved_by = actor
        run.approved_by_label = actor_label_for(actor, actor_label)
        run.approved_at = timezone.now()
        run.error = ""
        run.save()
        ctx = run_context(run, heartbeat=heartbeat, progress=progress, touched_before=planned_at)
        try:
            with relaxed_durability():
                plan_apply(ctx, chunk=PLAN_CHUNK)
                watermark_advance(run.kind, run.source_watermark, run)
        except BaseException as exc:
            try:
                fail(ctx, exc, actor=actor, transient=False)
            except Exception:
                logger.exception("Could not record the failed approval of run #%s", run.pk)
            raise
        return finish(
            ctx,
            SyncStatus.SUCCEEDED,
            actor=actor,
            message=f"Plan approved by {run.approved_by_label} and applied.",
        )
