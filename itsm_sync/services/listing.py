"""A run's reading phase: the source's listing page by page, looking again, deactivations planned.

Each page is applied in one transaction (then the watermark moves) or, for a run that plans
first, stored as its plan; the page's counters and the listing's cursor commit with it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from ..models import PlanAction, PlannedChange
from ..sources import KEY_LOOKUP_BATCH
from .context import APPLYING, RunContext, nothing, past_deadline, save_counters
from .mirror import rejections_store, rows_apply, watermark_advance
from .pages import Page, read_page, settle_page
from .plans import classify, plan_store
from .reading import read_ahead
from .seen import SeenKeys, forget_seen, seen_keys


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
