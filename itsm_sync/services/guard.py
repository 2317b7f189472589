"""S3, the deactivation guard: how much a full reconcile may deactivate before it needs approval.

Above the limit (or when the source listed nothing at all) a full run stops as
`needs_approval` having changed nothing; a run that might trip the guard therefore plans first
and applies its stored plan only once the guard has passed.
"""

from __future__ import annotations

import math

from ..models import SyncMode, SyncRun
from .records import Spec

# A full reconcile may deactivate at most max(GUARD_MIN, GUARD_FRACTION × active) unapproved.
GUARD_MIN = 500
GUARD_FRACTION = 0.05


def deactivation_limit(active: int) -> int:
    """The most deactivations a full reconcile may apply without approval (S3)."""
    return max(GUARD_MIN, math.ceil(active * GUARD_FRACTION))


def plans_first(run: SyncRun) -> bool:
    """Whether the run stores its whole plan before applying any of it.

    A dry run only plans. With at most GUARD_MIN active records the guard can't trip, so a full
    run may apply as it reads (a fresh install's first sync); otherwise it plans everything first.
    """
    return run.dry_run or (run.mode == SyncMode.FULL and (run.active_before or 0) > GUARD_MIN)


def guard_tripped(run: SyncRun, *, full: bool) -> bool:
    """Whether the run's planned deactivations need approval.

    An empty answer is more often a broken filter or export than an emptied ITSM: it never
    deactivates anything unapproved, whatever the mirror's size.
    """
    return full and (
        run.planned_deactivations > (run.deactivation_limit or 0)
        or (run.listed == 0 and run.planned_deactivations > 0)
    )


def guard_message(run: SyncRun, spec: Spec, *, dry: bool) -> str:
    """What the guard found, and what to do about it: approve the plan or fix the source."""
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
