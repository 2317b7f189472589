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

An app follows requests by calling `request_follow` from its AppConfig.ready.
"""

from collections.abc import Callable

from django.dispatch import Signal

request_submitted = Signal()
request_status_changed = Signal()


def request_follow(
    *,
    app: str,
    on_submitted: Callable[..., None],
    on_status_changed: Callable[..., None],
    transition_guard: Callable[..., str | None] | None = None,
    request_panel: Callable[..., object] | None = None,
) -> None:
    """Let an app above follow requests (from its AppConfig.ready): its receivers of both
    signals, and optionally its say over a move (REQUEST_TRANSITION_GUARDS) and its panel on the
    request page (REQUEST_PANELS); registering twice (a second ready) changes nothing."""
    from .models import ServiceRequest
    from .services import REQUEST_TRANSITION_GUARDS
    from .views_portal import REQUEST_PANELS

    for registry, hook in (
        (REQUEST_TRANSITION_GUARDS, transition_guard),
        (REQUEST_PANELS, request_panel),
    ):
        if hook is not None and hook not in registry:
            registry.append(hook)
    request_submitted.connect(on_submitted, sender=ServiceRequest, dispatch_uid=f"{app}.submit")
    request_status_changed.connect(
        on_status_changed, sender=ServiceRequest, dispatch_uid=f"{app}.status"
    )
