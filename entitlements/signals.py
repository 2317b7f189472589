"""Signals a request sends as it moves, so the apps above (approvals, fulfilment, webhooks) can
follow it without entitlements importing them (the layers import downward only, DESIGN.md §4).

Both are sent INSIDE the transaction that made the change: a receiver that writes its own rows
(an approval step, a ticket to push, a webhook delivery) writes them atomically with the change,
so a rolled-back change leaves nothing behind; work outside the database is enqueued with
`msp_portal.outbox.enqueue_on_commit`, which sends nothing for a rolled-back change.

- `request_submitted(sender=ServiceRequest, request, actor)`: a request was made; its status is
  already `awaiting_approval` (its service's policy asks for approval) or `approved`.
- `request_status_changed(sender=ServiceRequest, request, old_status, new_status, actor, note)`:
  a request moved on, whoever moved it (a person, an approval, the ITSM); `actor` may be None
  for the system.
"""

from django.dispatch import Signal

request_submitted = Signal()
request_status_changed = Signal()
