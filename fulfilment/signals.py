"""Signals fulfilment sends, for the apps above it (webhooks).

- `public_note_added(sender=TicketNote, request, note, actor)`: a public note of the request's
  ticket was read into the portal; sent inside the transaction that stored it, once per note.
  `actor` is None (the service desk wrote it).
"""

from django.dispatch import Signal

public_note_added = Signal()
