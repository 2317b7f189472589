"""Follow-up tasks that survive a broker outage.

A use case enqueues its follow-up work with `enqueue_on_commit`: once the transaction commits
the task is sent, and if the broker (Redis) can't be reached the task is kept as a PendingTask
row instead of failing a request whose data is already saved. The periodic
`msp_portal.flush_pending_tasks` sends the kept tasks again, oldest first, and deletes each one
once the broker has taken it. A row is locked while it is sent, so two flushes never send it
twice; only a crash between the send and the commit of its deletion can send it again.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import current_app
from django.db import DatabaseError, transaction
from django.db.models import F
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .models import PendingTask

logger = logging.getLogger(__name__)

# What a send raises when the broker is down or unreachable; anything else is a real bug.
BROKER_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError)


def _send(name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    # Through the registered task, so the demo's eager mode still runs it in-process.
    current_app.tasks[name].apply_async(args=args, kwargs=kwargs)


def _send_or_keep(name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    try:
        _send(name, args, kwargs)
    except BROKER_ERRORS as exc:
        try:
            PendingTask.objects.create(task=name, args=args, kwargs=kwargs, last_error=str(exc))
        except DatabaseError:
            # The user's data is committed; failing their request now would not undo it.
            logger.exception(
                "The broker refused %s(%r, %r) and it could not be kept for later either",
                name,
                args,
                kwargs,
            )
            return
        logger.warning(
            "The broker is unreachable (%s); %s is kept and sent again by "
            "msp_portal.flush_pending_tasks",
            exc,
            name,
        )


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send `task(*args, **kwargs)` once the current transaction commits; keep it for a later
    flush when the broker is unreachable. Arguments must be JSON values (ids and primitives)."""
    transaction.on_commit(partial(_send_or_keep, task.name, list(args), dict(kwargs)))


def pending_tasks_flush(*, limit: int = 1000) -> int:
    """Send the kept follow-up tasks again, oldest first, deleting each once sent; stops at the
    first broker error (the next flush tries again). Returns how many were sent."""
    sent = 0
    for pk in PendingTask.objects.order_by("id").values_list("id", flat=True)[:limit]:
        with transaction.atomic():
            row = PendingTask.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is None:  # sent meanwhile by another flush, or being sent by it now
                continue
            try:
                # A savepoint: an eager run (the demo) that breaks its transaction can't break ours.
                with transaction.atomic():
                    _send(row.task, row.args, row.kwargs)
            except BROKER_ERRORS as exc:
                PendingTask.objects.filter(pk=pk).update(
                    attempts=F("attempts") + 1, last_error=str(exc)
                )
                logger.warning("The broker is still unreachable (%s); kept tasks wait", exc)
                return sent
            except Exception as exc:
                # An unknown task name or a failing eager run must not hold up the others.
                logger.exception("Could not send kept task %s #%s", row.task, pk)
                PendingTask.objects.filter(pk=pk).update(
                    attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"
                )
                continue
            row.delete()
            sent += 1
    return sent
