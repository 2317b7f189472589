"""Fulfilment use cases: push approved requests to the ITSM exactly once, bring status and
public notes back, cancel in the ITSM first (R4, R3's refunds)."""

from .cancel import ticket_cancel_for
from .push import (
    pushes_due_send,
    ticket_push,
    ticket_push_queue,
    ticket_push_retry,
    ticket_pushes_send,
    ticket_values,
)
from .service_settings import field_map_clean, fulfilment_settings_for, fulfilment_settings_save
from .status import ticket_apply, ticket_refresh, ticket_status_poll

__all__ = [
    "field_map_clean",
    "fulfilment_settings_for",
    "fulfilment_settings_save",
    "pushes_due_send",
    "ticket_apply",
    "ticket_cancel_for",
    "ticket_push",
    "ticket_push_queue",
    "ticket_push_retry",
    "ticket_pushes_send",
    "ticket_refresh",
    "ticket_status_poll",
    "ticket_values",
]
