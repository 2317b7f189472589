"""Receivers of ITSM mirror signals; each calls one service or enqueues one task."""

from msp_portal.outbox import enqueue_on_commit

from . import services, tasks


def person_moved(sender, *, person_id: int, old_company_id: int, **kwargs) -> None:
    services.customer_admin_role_end_on_move(person_id=person_id, old_company_id=old_company_id)


def sync_run_finished(sender, *, run, **kwargs) -> None:
    """After every people sync that changed the mirror, re-evaluate every customer's filters (C4)."""
    if run.kind != "people" or run.dry_run or run.status not in ("succeeded", "partial"):
        return
    enqueue_on_commit(tasks.apply_user_filters, run_id=run.pk)
