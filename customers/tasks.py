"""Celery entry points of customers; each calls one service."""

import logging

from celery import shared_task

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
