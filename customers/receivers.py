"""Receivers of ITSM mirror and account signals; each calls one service or enqueues one task."""

from msp_portal.outbox import enqueue_on_commit

from . import services, tasks


def person_moved(sender, *, person_id: int, old_company_id: int, **kwargs) -> None:
    services.customer_admin_role_end_on_move(person_id=person_id, old_company_id=old_company_id)


def sync_run_finished(sender, *, run, **kwargs) -> None:
    """After every people sync that changed the mirror, re-evaluate every customer's filters (C4)."""
    if run.kind != "people" or run.dry_run or run.status not in ("succeeded", "partial"):
        return
    enqueue_on_commit(tasks.apply_user_filters, run_id=run.pk)


def account_saved(sender, *, instance, update_fields=None, **kwargs) -> None:
    """An account switched off by any path (the Django admin included) may leave a customer
    without an active administrator (C2)."""
    if instance.is_active or (update_fields is not None and "is_active" not in update_fields):
        return
    services.customer_admin_account_deactivated(user=instance)
