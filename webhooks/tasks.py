"""Celery entry points of webhooks; each calls one service."""

from celery import shared_task

from . import services


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: int) -> str:
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    if outcome == "retry":
        services.retry_schedule(delivery_id=delivery_id)
    return outcome


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    return services.deliveries_sweep()
