"""The lower layers' signals, turned into webhook events (the outbox write, A2).

Each receiver runs in the transaction of the change it hears of (the credits, request, approval
and note signals are sent inside it) and writes one delivery per subscribed endpoint there, so
the deliveries commit or roll back with the change. `sync_run_finished` is sent after its run
committed: its deliveries are written in a transaction of their own.

Contracts of the signals webhooks listens to (kwargs beside `sender`):
- entitlements.signals.request_submitted(request, actor) → request.created
- entitlements.signals.request_status_changed(request, old_status, new_status, actor, note)
  → request.status_changed
- approvals.signals.approval_waiting(request, approval, approvers) → approval.waiting
  (`approval`: the ApprovalStep, its pk, order and kind; `approvers`: the accounts that may decide)
- fulfilment.signals.public_note_added(request, note, actor) → request.note_added
  (`note`: the TicketNote, its pk and `text`)
- credits.signals.balance_line_crossed(entry, customer, line, threshold)
  → credits.low_balance ("threshold") / credits.below_zero ("zero")
- itsm_sync.signals.sync_run_finished(run) → sync_run.finished (catalog-wide endpoints only)
"""

from __future__ import annotations

from django.db import transaction

from approvals.signals import approval_waiting
from credits.signals import balance_line_crossed
from entitlements.signals import request_status_changed, request_submitted
from fulfilment.signals import public_note_added
from itsm_sync.signals import sync_run_finished

from . import payloads
from .models import Event
from .services import event_record


def on_request_submitted(sender, *, request, actor=None, **kwargs) -> None:
    event_record(
        event=Event.REQUEST_CREATED,
        customer_id=request.customer_id,
        data=lambda: {
            "request": payloads.request_data(request),
            "actor": payloads._username(actor),
        },
    )


def on_request_status_changed(
    sender, *, request, old_status, new_status, actor=None, note="", **kwargs
) -> None:
    event_record(
        event=Event.REQUEST_STATUS_CHANGED,
        customer_id=request.customer_id,
        data=lambda: payloads.status_change_data(
            request, old_status=old_status, new_status=new_status, actor=actor, note=note
        ),
    )


def on_approval_waiting(sender, *, request, approval=None, approvers=(), **kwargs) -> None:
    def data() -> dict:
        body = {"request": payloads.request_data(request)}
        if approval is not None:
            body["approval"] = {
                "id": approval.pk,
                "order": getattr(approval, "order", None),
                "kind": str(getattr(approval, "kind", "") or ""),
            }
        if approvers:
            body["approvers"] = [payloads._username(u) for u in approvers]
        return body

    event_record(event=Event.APPROVAL_WAITING, customer_id=request.customer_id, data=data)


def on_public_note_added(sender, *, request, note, actor=None, **kwargs) -> None:
    def data() -> dict:
        if isinstance(note, str):
            text, note_id = note, None
        else:
            text = getattr(note, "body", None) or getattr(note, "text", "") or ""
            note_id = note.pk
        return {
            "request": payloads.request_data(request),
            "note": {"id": note_id, "text": text},
            "actor": payloads._username(actor),
        }

    event_record(event=Event.REQUEST_NOTE_ADDED, customer_id=request.customer_id, data=data)


LINE_EVENTS = {"threshold": Event.CREDITS_LOW_BALANCE, "zero": Event.CREDITS_BELOW_ZERO}


def on_balance_line_crossed(sender, *, entry, customer, line, threshold=None, **kwargs) -> None:
    event_record(
        event=LINE_EVENTS[line],
        customer_id=customer.pk,
        data=lambda: payloads.balance_data(
            customer=customer, entry=entry, line=line, threshold=threshold
        ),
        occurred_at=entry.created_at,
    )


def on_sync_run_finished(sender, *, run, **kwargs) -> None:
    with transaction.atomic():
        event_record(
            event=Event.SYNC_RUN_FINISHED,
            customer_id=None,
            data=lambda: payloads.sync_run_data(run),
        )


def connect() -> None:
    balance_line_crossed.connect(on_balance_line_crossed, dispatch_uid="webhooks.credits")
    sync_run_finished.connect(on_sync_run_finished, dispatch_uid="webhooks.sync_run")
    request_submitted.connect(on_request_submitted, dispatch_uid="webhooks.request_submitted")
    request_status_changed.connect(
        on_request_status_changed, dispatch_uid="webhooks.request_status_changed"
    )
    approval_waiting.connect(on_approval_waiting, dispatch_uid="webhooks.approval_waiting")
    public_note_added.connect(on_public_note_added, dispatch_uid="webhooks.public_note_added")
