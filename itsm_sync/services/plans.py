"""The plan of a run: each row planned against the mirror, kept as PlannedChange rows, applied.

A dry run and a full run the guard might stop store their whole plan before changing anything,
with each row's values, so what a dry run shows is exactly what the real run (or an approval)
applies, chunk by chunk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from ..models import PlanAction, PlannedChange
from .context import RunContext, past_deadline, save_counters
from .mirror import rejections_store, rows_apply
from .pages import Page, Valid, screen_company_names
from .records import COMPANIES, Row, Spec
from .writers import mirrored_rows


class Update(NamedTuple):
    """A row that differs from the mirror's: the new row, the mirror's, and its primary key."""

    new: Row
    old: Row
    pk: int


def classify(ctx: RunContext, rows: dict[str, Row]) -> tuple[list[Row], list[Update], int]:
    """Plan each row against the mirror: create, update (changed or reactivated) or unchanged."""
    existing = mirrored_rows(ctx.spec, list(rows))
    creates: list[Row] = []
    updates: list[Update] = []
    unchanged = 0
    touched_before = ctx.touched_before
    for key, row in rows.items():
        found = existing.get(key)
        if found is None:
            creates.append(row)
        elif found.row == row or (
            touched_before is not None and found.mirrored_at > touched_before
        ):
            unchanged += 1
        else:
            updates.append(Update(row, found.row, found.pk))
    return creates, updates, unchanged


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _display_column(column: str) -> str:
    return "company" if column == "company_id" else column


def _diff(ctx: RunContext, old: Row | None, new: Row) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for column, after in zip(ctx.spec.columns, new, strict=True):
        before = None if old is None else getattr(old, column)
        if old is not None and before == after:
            continue
        if column == "company_id":
            before = None if before is None else ctx.companies.name_of(before)
            after = ctx.companies.name_of(after)
        changes[_display_column(column)] = [_json_value(before), _json_value(after)]
    return changes


def _row_values(row: Row) -> dict[str, Any]:
    return {column: _json_value(value) for column, value in row._asdict().items()}


def _row_from_values(spec: Spec, values: dict[str, Any]) -> Row:
    row = spec.row(**{column: values[column] for column in spec.columns})
    return row._replace(last_modified=datetime.fromisoformat(row.last_modified))


def plan_store(
    ctx: RunContext, creates: list[Row], updates: list[Update], *, keep_values: bool
) -> None:
    """Keep a page's creates and updates as PlannedChange rows, with a readable diff each.

    `keep_values` keeps each row's values too, for applying the plan later (a dry run's plan is
    only shown).
    """
    run = ctx.run
    plan = [
        PlannedChange(
            run=run,
            key=row.key,
            action=PlanAction.CREATE,
            changes=_diff(ctx, None, row),
            values=_row_values(row) if keep_values else None,
        )
        for row in creates
    ]
    plan += [
        PlannedChange(
            run=run,
            key=update.new.key,
            action=PlanAction.UPDATE,
            object_id=update.pk,
            changes=_diff(ctx, update.old, update.new),
            values=_row_values(update.new) if keep_values else None,
        )
        for update in updates
    ]
    PlannedChange.objects.bulk_create(plan, batch_size=1000)
    run.planned_creates += len(creates)
    run.planned_updates += len(updates)


def plan_apply(ctx: RunContext, *, chunk: int) -> bool:
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
            .values_list("id", "values", named=True)[:chunk]
        )
        if not batch:
            break
        last = batch[-1].id
        rows = {}
        for change in batch:
            row = _row_from_values(spec, change.values)
            rows[row.key] = row
        if spec is COMPANIES:
            # The mirror may have moved on since planning: screen names again.
            page = Page(valid={k: Valid(r, _row_values(r)) for k, r in rows.items()})
            screen_company_names(page)
            rows = {k: valid.row for k, valid in page.valid.items()}
        with transaction.atomic():
            rows_apply(ctx, list(rows.values()))
            if spec is COMPANIES:
                rejections_store(run, page.rejected)
            run.applied_to = last
            save_counters(run)
        ctx.applied_chunks += 1
        ctx.heartbeat()
        if ctx.progress is not None:
            ctx.progress(run)
        if past_deadline(ctx):
            return False
    return deactivations_apply(ctx, chunk=chunk)


def deactivations_apply(ctx: RunContext, *, chunk: int) -> bool:
    """Deactivate the planned records chunk by chunk (see plan_apply for the cursor)."""
    spec, run = ctx.spec, ctx.run
    planned = PlannedChange.objects.filter(run=run, action=PlanAction.DEACTIVATE).order_by("id")
    last = run.applied_to
    while True:
        batch = list(planned.filter(id__gt=last).values_list("id", "object_id", named=True)[:chunk])
        if not batch:
            break
        last = batch[-1].id
        targets = spec.model.objects.filter(
            pk__in=[change.object_id for change in batch], is_active=True
        )
        if ctx.touched_before is not None:
            targets = targets.filter(mirrored_at__lte=ctx.touched_before)
        with transaction.atomic():
            run.deactivated += targets.update(is_active=False, mirrored_at=timezone.now())
            run.applied_to = last
            save_counters(run)
        ctx.applied_chunks += 1
        ctx.heartbeat()
        if past_deadline(ctx):
            return False
    return True
