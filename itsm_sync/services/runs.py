"""A sync run: read, plan and apply page by page; the S3 guard; approval of a kept plan."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django import db as django_db
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed

from ..models import (
    Company,
    PlanAction,
    PlannedChange,
    RejectedRecord,
    SyncMode,
    SyncRun,
    SyncStatus,
    Watermark,
)
from ..signals import sync_run_finished
from ..sources import KEY_LOOKUP_BATCH, SourceError
from .locks import SYSTEM, SyncAlreadyRunning, _already_running, _kind_lock
from .moves import _send_robustly, person_move_company
from .reading import _read_ahead
from .records import (
    _COMPANY_NAME_MAX,
    COMPANIES,
    PEOPLE,
    SPECS,
    Row,
    _CompanyIndex,
    _Reject,
    _Spec,
    _UnknownCompany,
)
from .seen import _forget_seen, _seen_keys
from .writers import _existing, _PortableWriter, _PostgresWriter, _writer

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


logger = logging.getLogger(__name__)

# S3: a full reconcile may deactivate at most max(GUARD_MIN, GUARD_FRACTION × active) unapproved.
GUARD_MIN = 500
GUARD_FRACTION = 0.05
RUN_PERMISSION = "itsm_sync.run_sync"

Progress = Callable[[SyncRun], None]


class SyncApprovalRefused(DomainError):
    """The run can't be approved (not waiting for approval, superseded, or a dry run)."""


def deactivation_limit(active: int) -> int:
    """The most deactivations a full reconcile may apply without approval (S3)."""
    return max(GUARD_MIN, math.ceil(active * GUARD_FRACTION))


# ---------------------------------------------------------------------------------------------
# Run state.
# ---------------------------------------------------------------------------------------------


@dataclass
class _Page:
    valid: dict[str, tuple[Row, dict[str, Any]]] = field(default_factory=dict)
    rejected: list[tuple[str, str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    latest: datetime | None = None
    read: int = 0
    unknown_companies: set[str] = field(default_factory=set)
    values_page: list[Any] = field(default_factory=list)
    # The valid rows already in the writer's wire format (PostgreSQL: COPY CSV), when rendered.
    rendered: Any = None
    # Where the source's listing goes on after this page (sources.Page.cursor).
    cursor: str = ""

    @property
    def rows(self) -> list[Row]:
        return [row for row, _raw in self.valid.values()]


READING, APPLYING = "reading", "applying"  # SyncRun.phase
_PLAN_CHUNK = 1000  # plan rows an approval applies per transaction


def _nothing() -> None:
    return None


@dataclass
class _Context:
    spec: _Spec
    run: SyncRun
    writer: _PostgresWriter | _PortableWriter
    companies: _CompanyIndex
    heartbeat: Callable[[], None]
    progress: Progress | None
    applied_chunks: int = 0
    # Approving an old plan: rows a later sync touched after this instant keep their state.
    touched_before: datetime | None = None
    clock_start: float = field(default_factory=time.monotonic)
    # Called just before a page's long database wait: the next page is prepared meanwhile.
    overlap: Callable[[], None] = _nothing
    # A full run pauses after the first page that ends past this instant (time.monotonic()).
    deadline: float | None = None
    # Seconds spent in the run's earlier steps.
    earlier_seconds: float = 0.0


# What each page commits with its work: the run's counters and the cursors a later step goes on
# from.
_COUNTERS = [
    "listed",
    "listed_to",
    "applied_to",
    "phase",
    *SyncRun.COUNTER_FIELDS,
    "source_watermark",
]


def _context(
    run: SyncRun,
    *,
    heartbeat: Callable[[], None] = _nothing,
    progress: Progress | None = None,
    touched_before: datetime | None = None,
) -> _Context:
    """The context a run (or a later step of it) goes on in; its earlier work counts."""
    spec = SPECS[run.kind]
    return _Context(
        spec=spec,
        run=run,
        writer=_writer(spec),
        companies=_CompanyIndex(),
        heartbeat=heartbeat,
        progress=progress,
        touched_before=touched_before,
        earlier_seconds=run.duration.total_seconds() if run.duration else 0.0,
        # What earlier steps (or an earlier approval) applied stays applied, whatever this does.
        applied_chunks=_applied_before(run),
    )


def _save_counters(run: SyncRun) -> None:
    run.save(update_fields=_COUNTERS)


# ---------------------------------------------------------------------------------------------
# Reading and planning a page.
# ---------------------------------------------------------------------------------------------


def _read_page(ctx: _Context, values_page: list[Any], *, render: bool = False) -> _Page:
    """Validate and de-duplicate one page; the latest Last Modified Date wins a duplicate key.

    No database access for people (see _Spec.parse_ahead); _settle_page finishes the page.
    """
    spec = ctx.spec
    page = _Page(
        read=len(values_page),
        values_page=values_page,
        cursor=getattr(values_page, "cursor", ""),
    )
    parse, at = spec.parse, spec.modified_index
    valid = page.valid
    for values in values_page:
        if not isinstance(values, dict):
            page.rejected.append(("", "Not a record (expected an object of AR values).", values))
            continue
        try:
            row = parse(values, ctx)
        except _Reject as exc:
            if isinstance(exc, _UnknownCompany):
                page.unknown_companies.add(exc.name)
            page.rejected.append((exc.key, exc.reason, values))
            if exc.key:
                page.keys.append(exc.key)
            if exc.modified is not None and (page.latest is None or exc.modified > page.latest):
                page.latest = exc.modified
            continue
        key, when = row[0], row[at]
        page.keys.append(key)
        if page.latest is None or when > page.latest:
            page.latest = when
        prior = valid.get(key)
        if prior is not None and prior[0][at] > when:
            continue
        valid[key] = (row, values)
    if render:  # ahead of the write, in the reader thread; a stored plan needs no rendering
        page.rendered = ctx.writer.render(page.rows)
    return page


def _settle_page(ctx: _Context, item: _Page | list[Any]) -> _Page:
    """Finish a page on the run's thread: the checks that need the mirror."""
    if not isinstance(item, _Page):
        item = _read_page(ctx, item)
    if ctx.spec is COMPANIES:
        _screen_company_names(item)
    elif item.unknown_companies:
        # A company may have reached the mirror since the run started; the page read ahead
        # did not know it, even if an earlier page of this run has loaded it meanwhile.
        ctx.companies.load(item.unknown_companies)
        if any(name in ctx.companies.by_name for name in item.unknown_companies):
            item = _read_page(ctx, item.values_page)
    return item


def _screen_company_names(page: _Page) -> None:
    """Reject a company whose name another company holds: names are unique in the mirror."""
    by_name: dict[str, str] = {}
    for key, (row, _raw) in sorted(page.valid.items(), key=lambda item: item[1][0][6]):
        other = by_name.get(row[1])
        if other is not None:
            _loser, loser_raw = page.valid.pop(other)
            page.rejected.append(
                (
                    other,
                    f"Company name {row[1]!r} is also used by {key}, modified later in the "
                    "same page; company names must be unique.",
                    loser_raw,
                )
            )
        by_name[row[1]] = key
    if not by_name:
        return
    # A holder that is itself rewritten in this batch gives its name up in the same transaction
    # (renames, swaps); an active one outside the batch still owns it.
    holders = Company.objects.filter(name__in=list(by_name), is_active=True)
    for name, holder in holders.values_list("name", "entry_id"):
        key = by_name[name]
        if holder == key or holder in page.valid:
            continue
        _row, raw = page.valid.pop(key)
        page.rejected.append(
            (
                key,
                f"Company name {name!r} still belongs to active company {holder} in the mirror; "
                "it goes in once that company is renamed or deactivated (a later full "
                "reconcile reads this record again).",
                raw,
            )
        )


def _classify(
    ctx: _Context, rows: dict[str, Row]
) -> tuple[list[Row], list[tuple[Row, Row, int]], int]:
    """Plan each row against the mirror: create, update (changed or reactivated) or unchanged."""
    existing = _existing(ctx.spec, list(rows))
    creates: list[Row] = []
    updates: list[tuple[Row, Row, int]] = []
    unchanged = 0
    touched_before = ctx.touched_before
    for key, row in rows.items():
        found = existing.get(key)
        if found is None:
            creates.append(row)
        elif found[2] == row or (touched_before is not None and found[1] > touched_before):
            unchanged += 1
        else:
            updates.append((row, found[2], found[0]))
    return creates, updates, unchanged


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _display_column(column: str) -> str:
    return "company" if column == "company_id" else column


def _diff(ctx: _Context, old: Row | None, new: Row) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for index, column in enumerate(ctx.spec.columns):
        before = None if old is None else old[index]
        after = new[index]
        if old is not None and before == after:
            continue
        if column == "company_id":
            before = None if before is None else ctx.companies.name_of(before)
            after = ctx.companies.name_of(after)
        changes[_display_column(column)] = [_json_value(before), _json_value(after)]
    return changes


def _row_values(spec: _Spec, row: Row) -> dict[str, Any]:
    return {column: _json_value(value) for column, value in zip(spec.columns, row, strict=True)}


def _row_from_values(spec: _Spec, values: dict[str, Any]) -> Row:
    row = [values[column] for column in spec.columns]
    at = spec.modified_index
    row[at] = datetime.fromisoformat(row[at])
    return tuple(row)


def _apply(ctx: _Context, rows: list[Row], *, rendered: Any = None) -> int:
    """Write the rows that differ from the mirror, in the caller's transaction; announce moves.

    Returns how many rows it wrote (created + updated); the rest were unchanged.
    """
    spec, run = ctx.spec, ctx.run
    if not rows:
        return 0
    now = timezone.now()
    if spec is COMPANIES:
        _release_company_names(rows, now)
    written = ctx.writer.write(
        rows, now=now, touched_before=ctx.touched_before, rendered=rendered, overlap=ctx.overlap
    )
    run.created += written.created
    run.updated += written.updated
    for pk, old_company_id, new_company_id in written.moves:
        person_move_company(
            person_id=pk, old_company_id=old_company_id, new_company_id=new_company_id
        )
    return written.created + written.updated


def _release_company_names(rows: list[Row], now: datetime) -> None:
    """Free the names these rows take from the companies holding them now.

    Names are unique in the mirror but move between companies in ITSM (renames, swaps, a company
    deleted and created again). A holder rewritten in this batch gets its new name from the
    upsert right after; a deactivated holder keeps "Name [entry id]".
    """
    names = {row[1]: row[0] for row in rows}
    holders = Company.objects.filter(name__in=list(names)).values_list("id", "name", "entry_id")
    for pk, name, entry_id in holders:
        if names[name] != entry_id:
            freed = f"{name} [{entry_id}]"[:_COMPANY_NAME_MAX]
            Company.objects.filter(pk=pk).update(name=freed, mirrored_at=now)


def _fail_interrupted(kind: str, *, continuing: int | None = None) -> None:
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
        raise _already_running(kind)
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
    _forget_seen(interrupted)


# ---------------------------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------------------------


@contextmanager
def _relaxed_durability() -> Iterator[None]:
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


def _check_actor(actor: AbstractBaseUser | None) -> None:
    if actor is not None and not actor.has_perm(RUN_PERMISSION):
        raise NotAllowed("Only system and catalog administrators can run or approve ITSM syncs.")


def _actor_label(actor: AbstractBaseUser | None, actor_label: str) -> str:
    if actor_label:
        return actor_label[:150]
    return actor.get_username() if actor is not None else SYSTEM


def _source_label(source: Any) -> str:
    config = getattr(source, "config", None)
    if config is not None and getattr(config, "url", ""):
        return f"AR System REST API {config.url} as {config.user or '(no user)'}"[:300]
    path = getattr(source, "path", None)
    if path is not None:
        return f"JSON export {path}"[:300]
    return type(source).__name__


def _watermark_get(kind: str) -> datetime | None:
    return Watermark.objects.filter(kind=kind).values_list("value", flat=True).first()


def _watermark_advance(kind: str, value: datetime | None, run: SyncRun) -> None:
    """Move the watermark forward (never back) to a Last Modified Date already committed.

    Never past our own clock: one record stamped in the future by a skewed ITSM clock would
    otherwise hide every change made until then from the incremental syncs.
    """
    if value is None:
        return
    value = min(value, timezone.now())
    moved = (
        Watermark.objects.filter(kind=kind)
        .filter(Q(value__isnull=True) | Q(value__lt=value))
        .update(value=value, run=run, updated_at=timezone.now())
    )
    if not moved:
        Watermark.objects.get_or_create(kind=kind, defaults={"value": value, "run": run})


def _store_rejected(run: SyncRun, rejected: list[tuple[str, str, Any]]) -> None:
    if not rejected:
        return
    RejectedRecord.objects.bulk_create(
        RejectedRecord(run=run, key=str(key)[:254], reason=reason[:500], raw=_jsonable(raw))
        for key, reason, raw in rejected
    )
    run.rejected += len(rejected)


def _jsonable(raw: Any) -> Any:
    if isinstance(raw, dict | list | str | int | float | bool) or raw is None:
        return raw
    return repr(raw)


def _store_plan(
    ctx: _Context, creates: list[Row], updates: list[tuple[Row, Row, int]], *, keep_values: bool
) -> None:
    spec, run = ctx.spec, ctx.run
    plan = [
        PlannedChange(
            run=run,
            key=row[0],
            action=PlanAction.CREATE,
            changes=_diff(ctx, None, row),
            values=_row_values(spec, row) if keep_values else None,
        )
        for row in creates
    ]
    plan += [
        PlannedChange(
            run=run,
            key=new[0],
            action=PlanAction.UPDATE,
            object_id=pk,
            changes=_diff(ctx, old, new),
            values=_row_values(spec, new) if keep_values else None,
        )
        for new, old, pk in updates
    ]
    PlannedChange.objects.bulk_create(plan, batch_size=1000)
    run.planned_creates += len(creates)
    run.planned_updates += len(updates)


def _process_page(
    ctx: _Context,
    item: _Page | list[Any],
    *,
    staged: bool,
    seen: Any,
    keep_values: bool,
    listed: bool = True,
) -> None:
    """Read, plan and either apply (one transaction, then the watermark) or store one page."""
    run = ctx.run
    page = _settle_page(ctx, item)
    with transaction.atomic():
        if staged:
            ctx.overlap()
            rows = {key: row for key, (row, _raw) in page.valid.items()}
            creates, updates, unchanged = _classify(ctx, rows)
            _store_plan(ctx, creates, updates, keep_values=keep_values)
        else:
            rows = page.rows
            unchanged = len(rows) - _apply(ctx, rows, rendered=page.rendered)
        _store_rejected(run, page.rejected)
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
        _save_counters(run)
    if not staged:
        ctx.applied_chunks += 1
        # After the commit: a crash between the two re-reads this page, which is harmless.
        _watermark_advance(ctx.spec.kind, page.latest, run)
    ctx.heartbeat()
    if ctx.progress is not None:
        ctx.progress(run)


def _past_deadline(ctx: _Context) -> bool:
    return ctx.deadline is not None and time.monotonic() >= ctx.deadline


def _look_again(ctx: _Context, source: Any, seen: Any, *, staged: bool, keep_values: bool) -> bool:
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
        if _past_deadline(ctx):
            return False
    return True


def _apply_stored_plan(ctx: _Context, *, chunk: int) -> bool:
    """Apply a stored plan: creates and updates chunk by chunk, then deactivations.

    Each chunk commits with `run.applied_to`, the last plan row it applied, where applying goes
    on after a pause (False: the step's time is up) or a step that died.
    """
    spec, run = ctx.spec, ctx.run
    planned = PlannedChange.objects.filter(run=run).order_by("id")
    last = run.applied_to
    while True:
        batch = list(
            planned.filter(action__in=[PlanAction.CREATE, PlanAction.UPDATE], id__gt=last)
            .exclude(values__isnull=True)
            .values_list("id", "values")[:chunk]
        )
        if not batch:
            break
        last = batch[-1][0]
        rows = {}
        for _id, values in batch:
            row = _row_from_values(spec, values)
            rows[row[0]] = row
        if spec is COMPANIES:
            # The mirror may have moved on since planning: screen names again.
            page = _Page(valid={k: (r, _row_values(spec, r)) for k, r in rows.items()})
            _screen_company_names(page)
            rows = {k: r for k, (r, _v) in page.valid.items()}
        with transaction.atomic():
            _apply(ctx, list(rows.values()))
            if spec is COMPANIES:
                _store_rejected(run, page.rejected)
            run.applied_to = last
            _save_counters(run)
        ctx.applied_chunks += 1
        ctx.heartbeat()
        if ctx.progress is not None:
            ctx.progress(run)
        if _past_deadline(ctx):
            return False
    return _apply_deactivations(ctx, chunk=chunk)


def _apply_deactivations(ctx: _Context, *, chunk: int) -> bool:
    """Deactivate the planned records chunk by chunk (see _apply_stored_plan for the cursor)."""
    spec, run = ctx.spec, ctx.run
    planned = PlannedChange.objects.filter(run=run, action=PlanAction.DEACTIVATE).order_by("id")
    last = run.applied_to
    while True:
        batch = list(planned.filter(id__gt=last).values_list("id", "object_id")[:chunk])
        if not batch:
            break
        last = batch[-1][0]
        targets = spec.model.objects.filter(pk__in=[pk for _id, pk in batch], is_active=True)
        if ctx.touched_before is not None:
            targets = targets.filter(mirrored_at__lte=ctx.touched_before)
        with transaction.atomic():
            run.deactivated += targets.update(is_active=False, mirrored_at=timezone.now())
            run.applied_to = last
            _save_counters(run)
        ctx.applied_chunks += 1
        ctx.heartbeat()
        if _past_deadline(ctx):
            return False
    return True


def _pause(ctx: _Context, error: str = "") -> SyncRun:
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


def _finish(
    ctx: _Context,
    status: str,
    *,
    actor: AbstractBaseUser | None,
    message: str = "",
    error: str = "",
    transient: bool = False,
) -> SyncRun:
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
            # Pages may commit asynchronously (_relaxed_durability); how a run ended may not.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = on")
        run.save()
        _forget_seen([run.pk])
        if not run.dry_run:
            audit_record(
                actor=actor,
                actor_label=run.approved_by_label or run.started_by_label,
                action="itsm_sync.approve" if run.approved_at else "itsm_sync.run",
                obj=run,
                after=run.summary(),
                message=error or message,
            )
        transaction.on_commit(partial(_send_robustly, sync_run_finished, sender=SyncRun, run=run))
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


def _guard_message(run: SyncRun, spec: _Spec, *, dry: bool) -> str:
    share = run.planned_deactivations / run.active_before if run.active_before else 1.0
    if run.listed == 0:
        found = (
            f"The source listed no {spec.plural} at all, which would deactivate all "
            f"{run.planned_deactivations} active ones."
        )
    else:
        found = (
            f"The source no longer lists {run.planned_deactivations} of the "
            f"{run.active_before} active {spec.plural} ({share:.0%}), more than the limit of "
            f"{run.deactivation_limit} (max({GUARD_MIN}, {GUARD_FRACTION:.0%}))."
        )
    if dry:
        return f"{found} A real full run would stop before changing anything and wait for approval."
    return (
        f"{found} Stopped before changing anything. If the source is right, review the plan "
        f"and approve it on the ITSM sync page or with `manage.py sync_itsm --approve {run.pk}`; "
        "if not, fix the source (ITSM_URL, its user's permissions or the export) and run again."
    )


def _execute(
    ctx: _Context,
    source: Any,
    *,
    full: bool,
    dry_run: bool,
    actor: AbstractBaseUser | None,
    resume: bool = False,
) -> SyncRun:
    spec, run = ctx.spec, ctx.run
    chunk = max(1, getattr(getattr(source, "config", None), "page_size", 0) or 1000)
    if full and not resume:
        active = spec.model.objects.filter(is_active=True).count()
        run.active_before = active
        run.deactivation_limit = deactivation_limit(active)
        run.save(update_fields=["active_before", "deactivation_limit"])
    # With at most GUARD_MIN active records the guard can't trip, so a full run may apply as it
    # reads (a fresh install's first sync); otherwise it plans everything first.
    staged = _staged(run)
    if run.phase == READING and not _read(ctx, source, full=full, staged=staged):
        return _pause(ctx)
    # An empty answer is more often a broken filter or export than an emptied ITSM: it never
    # deactivates anything unapproved, whatever the mirror's size.
    tripped = full and (
        run.planned_deactivations > (run.deactivation_limit or 0)
        or (run.listed == 0 and run.planned_deactivations > 0)
    )
    if dry_run:
        message = _guard_message(run, spec, dry=True) if tripped else ""
        return _finish(ctx, SyncStatus.SUCCEEDED, actor=actor, message=message)
    if tripped:
        run.planned_at = timezone.now()  # an approval keeps what later syncs touched
        return _finish(
            ctx,
            SyncStatus.NEEDS_APPROVAL,
            actor=actor,
            message=_guard_message(run, spec, dry=False),
        )
    if staged:
        if not _apply_stored_plan(ctx, chunk=chunk):
            return _pause(ctx)
        _watermark_advance(spec.kind, run.source_watermark, run)
    elif full and not _apply_deactivations(ctx, chunk=chunk):
        return _pause(ctx)
    return _finish(ctx, SyncStatus.SUCCEEDED, actor=actor)


def _staged(run: SyncRun) -> bool:
    return run.dry_run or (run.mode == SyncMode.FULL and (run.active_before or 0) > GUARD_MIN)


def _read(ctx: _Context, source: Any, *, full: bool, staged: bool) -> bool:
    """The reading phase: the listing, then (full runs) looking again and planning deactivations.

    Returns False when the step's time ran out first; what it did is committed, page by page.
    """
    spec, run = ctx.spec, ctx.run
    dry_run = run.dry_run
    seen = _seen_keys(spec, run) if full else None
    prepare = None
    if spec.parse_ahead:
        ctx.companies.load_all()
        prepare = partial(_read_page, ctx, render=not staged)
    with _read_ahead(spec.pages(source, run.since, run.listed_to), prepare) as pages:
        ctx.overlap = pages.overlap
        for item in pages:
            _process_page(ctx, item, staged=staged, seen=seen, keep_values=not dry_run)
            if full and _past_deadline(ctx):
                return False
    ctx.overlap = _nothing
    if seen is None:
        return True
    if not _look_again(ctx, source, seen, staged=staged, keep_values=not dry_run):
        return False
    with transaction.atomic():
        # A step that died after planning but before it recorded so planned in vain.
        PlannedChange.objects.filter(run=run, action=PlanAction.DEACTIVATE).delete()
        run.planned_deactivations = seen.plan_deactivations(run)
        run.phase = APPLYING
        _save_counters(run)
    _forget_seen([run.pk])
    return not (full and _past_deadline(ctx))


def _committed_counters(run: SyncRun) -> None:
    """Take the counters and cursors back to their last commit: a chunk that failed rolled its
    own back in the database, not in memory, and a retry goes on from what was committed."""
    try:
        run.refresh_from_db(fields=_COUNTERS)
    except DatabaseError:
        logger.warning("Could not re-read ITSM sync run #%s; recording it as it stood", run.pk)


def _fail(
    ctx: _Context, exc: BaseException, *, actor: AbstractBaseUser | None, transient: bool
) -> SyncRun:
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
    return _finish(ctx, status, actor=actor, error=error.strip(), transient=transient)


def _sync(
    spec: _Spec,
    *,
    actor: AbstractBaseUser | None,
    source: Any,
    full: bool,
    dry_run: bool,
    actor_label: str,
    progress: Progress | None,
    step_seconds: float | None = None,
) -> SyncRun:
    _check_actor(actor)
    with _kind_lock(spec.kind) as heartbeat:
        _fail_interrupted(spec.kind)
        run = SyncRun.objects.create(
            kind=spec.kind,
            mode=SyncMode.FULL if full else SyncMode.INCREMENTAL,
            dry_run=dry_run,
            started_by=actor,
            started_by_label=_actor_label(actor, actor_label),
            source_label=_source_label(source),
            since=None if full else _watermark_get(spec.kind),
        )
        ctx = _context(run, heartbeat=heartbeat, progress=progress)
        return _run_step(ctx, source, step_seconds, full=full, actor=actor)


def _run_step(
    ctx: _Context,
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
        with _relaxed_durability():
            return _execute(ctx, source, full=full, dry_run=run.dry_run, actor=actor, resume=resume)
    except SourceError as exc:
        if resume and exc.retryable:
            # A later step keeps what the earlier ones did: the run waits for a retry.
            return _pause(ctx, error=str(exc))
        return _fail(ctx, exc, actor=actor, transient=exc.retryable)
    except BaseException as exc:
        # Record why (a bug, the database, the soft time limit) before letting it go on; a
        # connection the database dropped (a restart) is replaced to record it.
        if not connection.is_usable():
            connection.close()
        try:
            _fail(ctx, exc, actor=actor, transient=False)
        except Exception:
            logger.exception("Could not record the failure of ITSM sync run #%s", run.pk)
        raise


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
    with _kind_lock(kind) as heartbeat:
        # An approval being applied is running too, but it is not a step of a run.
        run = SyncRun.objects.filter(
            pk=run_id, status=SyncStatus.RUNNING, mode=SyncMode.FULL, approved_at__isnull=True
        ).first()
        if run is None:
            return None
        _fail_interrupted(kind, continuing=run.pk)
        run.paused_at = None
        run.error = ""
        run.error_transient = False
        run.steps += 1
        run.save(update_fields=["paused_at", "error", "error_transient", "steps"])
        ctx = _context(run, heartbeat=heartbeat, progress=progress)
        return _run_step(ctx, source, step_seconds, full=True, actor=run.started_by, resume=True)


def sync_give_up(*, run_id: int, reason: str = "") -> SyncRun | None:
    """Close a paused full run whose next step can't be taken (its retries are spent).

    Returns None when there is nothing to close: the run ended, or a step of it is going.
    """
    kind = SyncRun.objects.filter(pk=run_id).values_list("kind", flat=True).first()
    if kind is None:
        return None
    try:
        with _kind_lock(kind):
            run = SyncRun.objects.filter(pk=run_id, status=SyncStatus.RUNNING).first()
            if run is None or not run.is_paused:
                return None
            ctx = _context(run)
            error = SourceError(reason or run.error or "The source failed.")
            return _fail(ctx, error, actor=None, transient=True)
    except SyncAlreadyRunning:
        return None


def _applied_before(run: SyncRun) -> int:
    """Pages (or plan chunks) earlier steps of this run committed to the mirror."""
    if not _staged(run):
        return run.pages
    if not run.applied_to:
        return 0
    applied = PlannedChange.objects.filter(run=run, id__lte=run.applied_to).count()
    return math.ceil(applied / _PLAN_CHUNK)


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
    _check_actor(actor)
    spec = SPECS[run.kind]
    with _kind_lock(run.kind) as heartbeat:
        run = SyncRun.objects.get(pk=run.pk)
        retrying = run.approved_at is not None and run.status in (
            SyncStatus.PARTIAL,
            SyncStatus.FAILED,
        )
        if run.dry_run:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is a dry run; it only shows a plan. Start a real full run to "
                "apply it."
            )
        if run.status != SyncStatus.NEEDS_APPROVAL and not retrying:
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
        _fail_interrupted(run.kind)
        # Not finished_at: a failed approval being retried has moved that on.
        planned_at = run.planned_at or run.finished_at or timezone.now()
        run.status = SyncStatus.RUNNING
        run.approved_by = actor
        run.approved_by_label = _actor_label(actor, actor_label)
        run.approved_at = timezone.now()
        run.error = ""
        run.save()
        ctx = _context(run, heartbeat=heartbeat, progress=progress, touched_before=planned_at)
        try:
            with _relaxed_durability():
                _apply_stored_plan(ctx, chunk=_PLAN_CHUNK)
                _watermark_advance(spec.kind, run.source_watermark, run)
        except BaseException as exc:
            try:
                _fail(ctx, exc, actor=actor, transient=False)
            except Exception:
                logger.exception("Could not record the failed approval of run #%s", run.pk)
            raise
        return _finish(
            ctx,
            SyncStatus.SUCCEEDED,
            actor=actor,
            message=f"Plan approved by {run.approved_by_label} and applied.",
        )
