"""Customer use cases; first of them, switching MSP mode on and keeping it compliant (M1–M5)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import PeopleGroup, User
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, MspModeRequired, NotAllowed
from msp_portal.models import MspMode
from msp_portal.selectors import msp_mode_enabled

from .models import MspModeRequest
from .readiness import msp_readiness

OPERATOR = "operator (command line)"


class MspEnableRefused(DomainError):
    """MSP mode can't be switched on; one message per blocker, each saying what to do."""


def msp_mode_required_check() -> None:
    """Refuse customer, administrator, service-assignment and credit use cases while MSP mode is off (M5)."""
    if not msp_mode_enabled():
        raise MspModeRequired(
            "Customers exist only in MSP mode, which is off. A system administrator can switch "
            "it on from the MSP mode page once the readiness check passes."
        )


def _check_actor(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("msp_portal.manage_msp_mode"):
        raise NotAllowed("Only system administrators can switch MSP mode on.")


@transaction.atomic
def msp_enable(
    *, actor: User | None, ticket: MspModeRequest | None = None, actor_label: str = ""
) -> MspMode:
    """Switch MSP mode on for good, or refuse with every blocker; audited (M1–M4).

    actor None is the operator at the command line; in a SaaS deployment only the operator may
    switch it on, fulfilling a ticket filed by a system administrator.
    """
    _check_actor(actor)
    if settings.DEPLOYMENT_MODE == "saas" and (actor is not None or ticket is None):
        raise MspEnableRefused(
            "In a SaaS deployment MSP mode is switched on by the operator: file a request on the "
            "MSP mode page; the operator then runs `python manage.py enable_msp --ticket N`."
        )
    mode, _ = MspMode.objects.select_for_update().get_or_create(pk=1)
    if ticket is not None:
        ticket = MspModeRequest.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != MspModeRequest.Status.OPEN:
            raise MspEnableRefused(
                f"Ticket #{ticket.pk} is already {ticket.get_status_display().lower()}; "
                "only an open request can be fulfilled."
            )
    if mode.enabled:
        if ticket is not None:
            _ticket_close(ticket, MspModeRequest.Status.FULFILLED, "MSP mode was already on.")
        return mode
    readiness = msp_readiness()
    if not readiness.ready:
        raise MspEnableRefused(
            *[f"{c.label}: {c.detail} {c.remedy}".strip() for c in readiness.blockers]
        )
    label = actor_label or (actor.get_username() if actor else OPERATOR)
    mode.enabled = True
    mode.enabled_at = timezone.now()
    mode.enabled_by = actor
    mode.enabled_by_label = label
    mode.full_clean()
    mode.save()
    audit_record(
        actor=actor,
        actor_label=label,
        action="msp_mode.enable",
        obj=mode,
        before={"enabled": False},
        after={"enabled": True},
        message=f"Fulfils ticket #{ticket.pk}." if ticket else "",
    )
    if ticket is not None:
        _ticket_close(ticket, MspModeRequest.Status.FULFILLED, f"MSP mode switched on by {label}.")
    return mode


def _ticket_close(ticket: MspModeRequest, status: str, outcome: str) -> None:
    ticket.status, ticket.outcome, ticket.closed_at = status, outcome, timezone.now()
    ticket.save(update_fields=["status", "outcome", "closed_at"])


@transaction.atomic
def msp_request_file(*, actor: User, note: str = "") -> MspModeRequest:
    """File a request (ticket) for the operator to switch MSP mode on, in a SaaS deployment (M4)."""
    _check_actor(actor)
    if settings.DEPLOYMENT_MODE != "saas":
        raise DomainError(
            "This is an on-premises deployment: switch MSP mode on directly on this page."
        )
    if msp_mode_enabled():
        raise DomainError("MSP mode is already on; there is nothing to request.")
    open_ticket = MspModeRequest.objects.filter(status=MspModeRequest.Status.OPEN).first()
    if open_ticket is not None:
        raise DomainError(
            f"Ticket #{open_ticket.pk} is already open; the operator will fulfil it. "
            "There is no need to file another."
        )
    ticket = MspModeRequest.objects.create(requested_by=actor, note=note)
    audit_record(actor=actor, action="msp_mode.request", obj=ticket, after={"note": note})
    return ticket


@dataclass
class ComplianceReport:
    """What the compliance job found and neutralised."""

    external_users: list[str]
    collaboration_groups: list[str]

    @property
    def clean(self) -> bool:
        return not self.external_users and not self.collaboration_groups


@transaction.atomic
def msp_compliance_enforce() -> ComplianceReport:
    """In MSP mode, deactivate external users and close collaboration groups that slipped in (M3)."""
    if not msp_mode_enabled():
        return ComplianceReport([], [])
    users = list(User.objects.select_for_update().filter(is_external=True, is_active=True))
    for user in users:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=None,
            action="msp_compliance.external_user_deactivated",
            obj=user,
            before={"is_active": True},
            after={"is_active": False},
            message="External users are not allowed in MSP mode; the account was deactivated.",
        )
    groups = list(PeopleGroup.objects.select_for_update().filter(open_to_collaborators=True))
    for group in groups:
        group.open_to_collaborators = False
        group.save(update_fields=["open_to_collaborators"])
        audit_record(
            actor=None,
            action="msp_compliance.collaboration_closed",
            obj=group,
            before={"open_to_collaborators": True},
            after={"open_to_collaborators": False},
            message="No people group may be open to collaborators in MSP mode; it was closed.",
        )
    return ComplianceReport([u.username for u in users], [g.name for g in groups])
