"""Signals of approvals, for the apps above (webhooks) to follow without approvals importing them.

`approval_waiting(sender=ApprovalStep, request, step, approval, approvers)` is sent INSIDE the
transaction that made a step the one to decide (at submission for the first step, when the step
before it approves for the next). `approval` is `step` again, under the name the webhooks
receiver reads; `approvers` is the list of accounts that may decide it. A receiver that writes
rows writes them atomically with the change; anything outside the database is enqueued with
`msp_portal.outbox.enqueue_on_commit`.
"""

from django.dispatch import Signal

approval_waiting = Signal()
