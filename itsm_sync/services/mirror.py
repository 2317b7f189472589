"""What a run writes besides its counters: rows into the mirror, rejected records, the watermark."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..models import Company, RejectedRecord, SyncRun, Watermark
from .context import RunContext
from .moves import person_move_company
from .pages import Rejection
from .records import COMPANIES, COMPANY_NAME_MAX, CompanyRow, Row


def rows_apply(ctx: RunContext, rows: list[Row], *, rendered: Any = None) -> int:
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
    for move in written.moves:
        person_move_company(
            person_id=move.person_id,
            old_company_id=move.old_company_id,
            new_company_id=move.new_company_id,
        )
    return written.created + written.updated


def _release_company_names(rows: list[CompanyRow], now: datetime) -> None:
    """Free the names these rows take from the companies holding them now.

    Names are unique in the mirror but move between companies in ITSM (renames, swaps, a company
    deleted and created again). A holder rewritten in this batch gets its new name from the
    upsert right after; a deactivated holder keeps "Name [entry id]".
    """
    names = {row.name: row.entry_id for row in rows}
    holders = Company.objects.filter(name__in=list(names)).values_list("id", "name", "entry_id")
    for pk, name, entry_id in holders:
        if names[name] != entry_id:
            freed = f"{name} [{entry_id}]"[:COMPANY_NAME_MAX]
            Company.objects.filter(pk=pk).update(name=freed, mirrored_at=now)


def rejections_store(run: SyncRun, rejected: list[Rejection]) -> None:
    """Keep the rejected records of a page on the run, each with its reason and its values."""
    if not rejected:
        return
    RejectedRecord.objects.bulk_create(
        RejectedRecord(
            run=run,
            key=str(rejection.key)[:254],
            reason=rejection.reason[:500],
            raw=_jsonable(rejection.raw),
        )
        for rejection in rejected
    )
    run.rejected += len(rejected)


def _jsonable(raw: Any) -> Any:
    if isinstance(raw, dict | list | str | int | float | bool) or raw is None:
        return raw
    return repr(raw)


def watermark_get(kind: str) -> datetime | None:
    """The Last Modified Date up to which the mirror holds every record of this kind."""
    return Watermark.objects.filter(kind=kind).values_list("value", flat=True).first()


def watermark_advance(kind: str, value: datetime | None, run: SyncRun) -> None:
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
