"""A person moving to another company: the one place it happens, announced after commit."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from msp_portal.audit import audit_record

from ..models import Person
from ..signals import person_company_changed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def person_move_company(
    *,
    person_id: int,
    old_company_id: int,
    new_company_id: int,
    actor: AbstractBaseUser | None = None,
) -> bool:
    """Move an ITSM person to another company — the one place a move happens — and announce it.

    The sync calls it for every person whose Company changed (the row is then already written,
    so nothing is rewritten here); after commit it sends `signals.person_company_changed`, where
    accounts moves the user and customers ends an administrator role of the old company.
    Returns whether this call itself moved the row.
    """
    with transaction.atomic():
        moved = (
            Person.objects.filter(pk=person_id)
            .exclude(company_id=new_company_id)
            .update(company_id=new_company_id, mirrored_at=timezone.now())
        )
        if moved:
            audit_record(
                actor=actor,
                action="itsm_sync.person_move_company",
                obj=Person.objects.get(pk=person_id),
                before={"company_id": old_company_id},
                after={"company_id": new_company_id},
            )
        transaction.on_commit(
            partial(
                send_robustly,
                person_company_changed,
                sender=Person,
                person_id=person_id,
                old_company_id=old_company_id,
                new_company_id=new_company_id,
            )
        )
    return bool(moved)


def send_robustly(signal: Any, **kwargs: Any) -> None:
    """Send after commit; a failing receiver is logged and must not fail the committed sync."""
    for receiver, response in signal.send_robust(**kwargs):
        if isinstance(response, Exception):
            logger.error(
                "ITSM sync signal receiver %r failed: %r", receiver, response, exc_info=response
            )
