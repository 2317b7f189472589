"""The lock: never two runs of one kind at once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from msp_portal.errors import DomainError

from ..models import SyncKind, SyncLock, SyncRun, SyncStatus
from .records import SPECS

logger = logging.getLogger(__name__)

SYSTEM = "system"  # who started a run nobody started by hand (beat, the CLI without a user)


class SyncAlreadyRunning(DomainError):
    """Another run of the same kind holds the lock; this one did not start."""


# ---------------------------------------------------------------------------------------------
# The lock: never two runs of one kind at once.
# ---------------------------------------------------------------------------------------------

_LOCK_NAMESPACE = 0x17_5C  # "ITSM sync" in pg_locks; the second key tells the kinds apart
_LOCK_KEYS = {SyncKind.COMPANIES: 1, SyncKind.PEOPLE: 2}


def already_running(kind: str) -> SyncAlreadyRunning:
    """The refusal of a run of this kind, saying which run holds the lock."""
    noun = SPECS[kind].plural
    running = SyncRun.objects.filter(kind=kind, status=SyncStatus.RUNNING).first()
    if running is None:
        detail = ""
    else:
        started = timezone.localtime(running.started_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        who = running.started_by_label or SYSTEM
        detail = f" (run #{running.pk}, {running.mode_label}, started {started} by {who})"
    return SyncAlreadyRunning(
        f"A {noun} sync is already running{detail}. This one was not started; "
        "try again once that run has finished."
    )


@contextmanager
def _advisory_lock(kind: str) -> Iterator[Callable[[], None]]:
    """A session advisory lock: it survives the per-page commits and dies with the connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, _LOCK_KEYS[kind]])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise already_running(kind)
    try:
        yield lambda: None
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, _LOCK_KEYS[kind]]
                )
        except DatabaseError:
            logger.warning("Releasing the %s sync lock failed; it goes with the connection", kind)


@contextmanager
def _row_lock(kind: str) -> Iterator[Callable[[], None]]:
    """A claim on the kind's SyncLock row by a conditional UPDATE that must touch one row."""
    SyncLock.objects.get_or_create(kind=kind)
    token = uuid.uuid4().hex
    now = timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "ITSM_SYNC_LOCK_STALE_SECONDS", 900))
    claimed = (
        SyncLock.objects.filter(kind=kind)
        .filter(Q(holder="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
        .update(holder=token, heartbeat_at=now)
    )
    if claimed != 1:
        raise already_running(kind)

    def heartbeat() -> None:
        SyncLock.objects.filter(kind=kind, holder=token).update(heartbeat_at=timezone.now())

    try:
        yield heartbeat
    finally:
        SyncLock.objects.filter(kind=kind, holder=token).update(holder="", heartbeat_at=None)


def kind_lock(kind: str) -> Any:
    """Hold the kind's lock for a run (raises SyncAlreadyRunning); yields a heartbeat to call."""
    return _advisory_lock(kind) if connection.vendor == "postgresql" else _row_lock(kind)
