"""Celery entry points of customers; each calls one service."""

import logging

from celery import shared_task

from itsm_sync.services.refusals import sync_run_people_refused

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="customers.msp_compliance")
def msp_compliance() -> dict:
    report = services.msp_compliance_enforce()
    if not report.clean:
        logger.warning(
            "MSP compliance neutralised %d external users and %d collaboration groups",
            len(report.external_users),
            len(report.collaboration_groups),
        )
    return {
        "external_users": report.external_users,
        "collaboration_groups": report.collaboration_groups,
    }


@shared_task(name="customers.apply_user_filters")
def apply_user_filters(customer_id: int | None = None, run_id: int | None = None) -> list[dict]:
    """Re-evaluate the end-user filters of one customer, or of every customer; after a people
    sync (`run_id`), the people newly refused an account are kept on that run too."""
    from .models import Customer

    customers = Customer.objects.select_related("company")
    if customer_id is not None:
        customers = customers.filter(pk=customer_id)
    reports, refused = [], []
    for customer in customers:
        report = services.end_user_filters_apply(actor=None, customer=customer, run_id=run_id)
        refused.extend(report.newly_refused)
        reports.append(
            {
                "customer": report.customer,
                "created": len(report.created),
                "reactivated": len(report.reactivated),
                "deactivated": len(report.deactivated),
                "problems": report.problems,
            }
        )
    if run_id is not None:
        sync_run_people_refused(run_id=run_id, refused=refused, what="portal account")
    return reports
