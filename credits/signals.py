"""Signals credits sends so higher layers can follow balances without credits importing them.

- `balance_line_crossed(sender=CreditEntry, entry, customer, line, threshold)`: a change took a
  customer's balance below a line, `line` being "threshold" (the customer's alert threshold,
  `threshold`) or "zero"; sent once per line crossed, re-armed when the balance recovers (the
  same rule as the K5 alerts). It is sent INSIDE the transaction of the change, so a receiver
  that writes rows (the webhooks outbox) commits or rolls back with the change itself.
"""

from django.dispatch import Signal

balance_line_crossed = Signal()
