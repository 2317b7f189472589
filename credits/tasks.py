"""Celery entry points of credits; each calls one service."""

from celery import shared_task

from . import notify, services


@shared_task(name="credits.send_balance_alert")
def send_balance_alert(entry_id: int, line: str) -> int:
    return notify.balance_alert_send(entry_id=entry_id, line=line)


@shared_task(name="credits.reconcile")
def reconcile() -> list[dict]:
    drifts = services.credit_reconcile()
    if drifts:
        notify.drift_alert_send(drifts=drifts)
    return [
        {"customer": d.customer, "balance": str(d.balance), "ledger": str(d.ledger_sum)}
        for d in drifts
    ]
