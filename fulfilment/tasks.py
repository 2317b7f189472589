"""Fulfilment's Celery tasks: thin, each calls one service."""

from celery import shared_task
from django.utils import timezone

from . import services
from .models import PushState


@shared_task(name="fulfilment.push", bind=True)
def push(self, push_id: int) -> str:
    """One attempt to create a request's ticket (safe to run twice: see ticket_push); a push
    left waiting is sent again when its backoff ends (the poll's sweep, in case this is lost).
    Tasks run in-process (the demo) leave the retry to the sweep rather than loop at once."""
    result = services.ticket_push(push_id=push_id)
    if result.state == PushState.WAITING and not self.app.conf.task_always_eager:
        wait = (result.next_attempt_at - timezone.now()).total_seconds()
        self.apply_async(args=[push_id], countdown=max(0.0, wait))
    return result.state


@shared_task(name="fulfilment.poll")
def poll() -> dict:
    """Send the pushes whose wait is over, then read status and notes changed in the ITSM."""
    sent = services.pushes_due_send()
    return {"pushes_sent": sent, **services.ticket_status_poll()}
