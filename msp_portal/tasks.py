"""Celery entry points of the lowest layer; each calls one function."""

from celery import shared_task

from . import outbox


@shared_task(name="msp_portal.flush_pending_tasks")
def flush_pending_tasks() -> int:
    return outbox.pending_tasks_flush()
