"""Reads of the lowest layer: MSP mode, the installation record and the audit trail."""

from django.db.models import QuerySet

from .models import AuditEvent, Installation, MspMode, ReleaseChange


def msp_mode_get() -> MspMode:
    """The MSP mode flag, read fresh from the database on every call (nothing is cached)."""
    return MspMode.objects.filter(pk=1).first() or MspMode(pk=1, enabled=False)


def msp_mode_enabled() -> bool:
    """Whether MSP mode is on, read fresh from the database."""
    return MspMode.objects.filter(pk=1, enabled=True).exists()


def installation_get() -> Installation | None:
    """The installation record, or None before the first migrate finished."""
    return Installation.objects.filter(pk=1).first()


def release_change_list() -> QuerySet[ReleaseChange]:
    """Every change of release since installation, oldest first."""
    return ReleaseChange.objects.order_by("at", "id")


def audit_event_list(
    *,
    actor: str = "",
    action: str = "",
    object_query: str = "",
    date_from=None,
    date_to=None,
) -> QuerySet[AuditEvent]:
    """Audit events filtered by actor, action, object and date range, newest first."""
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if action:
        events = events.filter(action__istartswith=action)
    if object_query:
        events = events.filter(object_repr__icontains=object_query)
    if date_from:
        events = events.filter(at__date__gte=date_from)
    if date_to:
        events = events.filter(at__date__lte=date_to)
    return events
