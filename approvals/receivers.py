"""Approvals follow requests through the entitlements signals, inside their transaction."""

from entitlements.models import RequestStatus

from . import services


def on_request_submitted(sender, *, request, actor=None, **kwargs) -> None:
    """A request awaiting approval gets its steps, and its first step's approvers are told."""
    if request.status == RequestStatus.AWAITING_APPROVAL:
        services.approval_steps_start(request=request)


def on_request_status_changed(sender, *, request, old_status, new_status, **kwargs) -> None:
    """A request that stopped awaiting approval (cancelled) asks nobody any more."""
    if old_status == RequestStatus.AWAITING_APPROVAL:
        services.approval_steps_close(request=request)
