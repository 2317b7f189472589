"""What a run (or a step of it) goes on with, and the counters each of its commits carries."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..models import PlannedChange, SyncRun
from .guard import plans_first
from .records import SPECS, CompanyIndex, Spec
from .writers import PortableWriter, PostgresWriter, writer_for

Progress = Callable[[SyncRun], None]

READING, APPLYING = "reading", "applying"  # SyncRun.phase
PLAN_CHUNK = 1000  # plan rows an approval applies per transaction

# What each page commits with its work: the run's counters and the cursors a later step goes on
# from.
COUNTERS = [
    "listed",
    "listed_to",
    "applied_to",
    "phase",
    *SyncRun.COUNTER_FIELDS,
    "source_watermark",
]


def nothing() -> None:
    """The hook that does nothing (no heartbeat, no page to prepare meanwhile)."""
    return None


@dataclass
class RunContext:
    """A run in progress: its spec, writer, company index, clock, and its step's deadline."""

    spec: Spec
    run: SyncRun
    writer: PostgresWriter | PortableWriter
    companies: CompanyIndex
    heartbeat: Callable[[], None]
    progress: Progress | None
    applied_chunks: int = 0
    # Approving an old plan: rows a later sync touched after this instant keep their state.
    touched_before: datetime | None = None
    clock_start: float = field(default_factory=time.monotonic)
    # Called just before a page's long database wait: the next page is prepared meanwhile.
    overlap: Callable[[], None] = nothing
    # A full run pauses after the first page that ends past this instant (time.monotonic()).
    deadline: float | None = None
    # Seconds spent in the run's earlier steps.
    earlier_seconds: float = 0.0


def run_context(
    run: SyncRun,
    *,
    heartbeat: Callable[[], None] = nothing,
    progress: Progress | None = None,
    touched_before: datetime | None = None,
) -> RunContext:
    """The context a run (or a later step of it) goes on in; its earlier work counts."""
    spec = SPECS[run.kind]
    return RunContext(
        spec=spec,
        run=run,
        writer=writer_for(spec),
        companies=CompanyIndex(),
        heartbeat=heartbeat,
        progress=progress,
        touched_before=touched_before,
        earlier_seconds=run.duration.total_seconds() if run.duration else 0.0,
        # What earlier steps (or an earlier approval) applied stays applied, whatever this does.
        applied_chunks=_applied_before(run),
    )


def _applied_before(run: SyncRun) -> int:
    """Pages (or plan chunks) earlier steps of this run committed to the mirror."""
    if not plans_first(run):
        return run.pages
    if not run.applied_to:
        return 0
    applied = PlannedChange.objects.filter(run=run, id__lte=run.applied_to).count()
    return math.ceil(applied / PLAN_CHUNK)


def save_counters(run: SyncRun) -> None:
    """Save the run's counters and cursors, in the transaction of the work they count."""
    run.save(update_fields=COUNTERS)


def past_deadline(ctx: RunContext) -> bool:
    """Whether this step's time is up (a full run then pauses for its next step)."""
    return ctx.deadline is not None and time.monotonic() >= ctx.deadline
