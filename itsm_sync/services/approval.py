"""Approving the kept plan of a full reconcile that the S3 guard stopped, and applying it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.utils import timezone

from msp_portal.errors import DomainError

from ..models import SyncMode, SyncRun, SyncStatus
from .context import PLAN_CHUNK, Progress, run_context
from .lifecycle import (
    actor_label_for,
    check_actor,
    fail,
    fail_interrupted,
    finish,
    relaxed_durability,
)
from .locks import kind_lock
from .mirror import watermark_advance
from .plans import plan_apply

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


logger = logging.getLogger(__name__)


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
