"""Celery entry points of approvals; each calls one service."""

from celery import shared_task
from django.db import transaction

from msp_portal.outbox import enqueue_on_commit

from . import notify, services


@shared_task(name="approvals.notify_waiting")
def notify_waiting(step_id: int, round: int = 0) -> int:
    return notify.step_waiting_send(step_id=step_id, round=round)


@shared_task(name="approvals.notify_decided")
def notify_decided(step_id: int) -> int:
    return notify.decision_send(step_id=step_id)


@shared_task(name="approvals.remind")
def remind() -> int:
    """Steps waiting longer than APPROVAL_REMINDER_DAYS: their approvers are told again, at most
    once per interval, however often this runs."""
    with transaction.atomic():
        due = services.approval_reminders_due()
        for step_id, number in due:
            enqueue_on_commit(notify_waiting, step_id, number)
    return len(due)
