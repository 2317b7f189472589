"""Fulfilment's Celery tasks: thin, each calls one service."""

from celery import shared_task

from . import services


@shared_task(name="fulfilment.push")
def push(push_id: int) -> str:
    """One attempt to create a request's ticket (safe to run twice: see ticket_push)."""
    return services.ticket_push(push_id=push_id).state


@shared_task(name="fulfilment.poll")
def poll() -> dict:
    """Send the pushes whose wait is over, then read status and notes changed in the ITSM."""
    sent = services.pushes_due_send()
    return {"pushes_sent": sent, **services.ticket_status_poll()}
