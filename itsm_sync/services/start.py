"""A sync started by hand (the run list page, the API): refused while a run of its kinds is
going or while the source is not configured, else handed to its Celery task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from msp_portal.errors import DomainError, NotAllowed

from .. import selectors
from ..forms import ALL_KINDS
from ..models import SyncKind, SyncRun
from ..sources import source_status
from .lifecycle import RUN_PERMISSION
from .locks import SyncAlreadyRunning

if TYPE_CHECKING:
    from celery.result import AsyncResult
    from django.contrib.auth.models import AbstractBaseUser


class SyncRunGoing(SyncAlreadyRunning):
    """A start refused because a run of the same kinds is going."""

    def __init__(self, run: SyncRun):
        super().__init__(
            f"A {run.get_kind_display().lower()} sync is already running (run #{run.pk}, "
            f"{run.mode_label}, started by {run.started_by_label or 'the schedule'}). Nothing "
            "new was started; try again once it has finished."
        )


def sync_run_start(*, actor: AbstractBaseUser, kind: str, full: bool, dry_run: bool) -> AsyncResult:
    """Start a sync of `kind` ("all": companies, then people) through its Celery task, unless a
    run of those kinds is going or the source is not configured."""
    if not actor.has_perm(RUN_PERMISSION):
        raise NotAllowed("ITSM sync is for MSP staff holding the sync role.")
    running = selectors.running_sync_get(user=actor, kind=kind)
    if running is not None:
        raise SyncRunGoing(running)
    _source, problem = source_status()
    if problem:
        raise DomainError(f"Nothing was started. {problem}")
    from .. import tasks  # the tasks call this package's services: imported when first used

    task = {
        ALL_KINDS: tasks.sync_all,
        SyncKind.COMPANIES: tasks.sync_companies,
        SyncKind.PEOPLE: tasks.sync_people,
    }[kind]
    return task.delay(full=full, dry_run=dry_run, actor_id=actor.pk)
