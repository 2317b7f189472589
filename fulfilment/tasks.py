"""Fulfilment's Celery tasks: thin, each calls one service."""

from collections import Counter

from celery import shared_task
from django.utils import timezone

from . import services
from .models import PushState


@shared_task(name="fulfilment.push", bind=True)
def push(self, push_id: int) -> dict:
    """One attempt to create a request's ticket, and at the same time for the other pushes due
    (up to FULFILMENT_PUSH_BATCH; safe to run twice: see ticket_pushes_send). A push left
    waiting is sent again when its backoff ends (and by the poll's sweep, in case this is lost).
    Tasks run in-process (the demo) leave the retry to the sweep rather than loop at once."""
    pushes = services.ticket_pushes_send(first=push_id)
    if not self.app.conf.task_always_eager:
        for waiting in pushes:
            if waiting.state == PushState.WAITING:
                wait = (waiting.next_attempt_at - timezone.now()).total_seconds()
                self.apply_async(args=[waiting.pk], countdown=max(0.0, wait))
    states = Counter(str(p.state) for p in pushes)
    return dict(states)


@shared_task(name="fulfilment.poll")
def poll() -> dict:
    """Send the pushes whose wait is over, then read status and notes changed in the ITSM."""
    sent = services.pushes_due_send()
    return {"pushes_sent": sent, **services.ticket_status_poll()}
