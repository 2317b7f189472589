"""The one helper every service calls to write an audit event (T3)."""

from typing import Any

from django.db import models

from .models import AuditEvent
from .tenancy import current_acting_as

SYSTEM_ACTOR = "system"


def _fit(text: str, field: str) -> str:
    """Text shortened to the column's size, an ellipsis marking a cut."""
    limit = AuditEvent._meta.get_field(field).max_length
    return text if len(text) <= limit else text[: limit - 1] + "…"


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    message: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Write one audit event; the acting-as customer comes from the current request, if any."""
    acting_as = current_acting_as()
    user = (
        actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None
    )
    label = actor_label or (user.get_username() if user else str(actor or SYSTEM_ACTOR))
    return AuditEvent.objects.create(
        actor=user,
        actor_label=label[:150],
        acting_as_customer_id=acting_as.customer_id if acting_as else None,
        # The customer's id is the record; its name (up to the mirror's 254 characters) is a
        # label that must not cost the event.
        acting_as_label=_fit(acting_as.label, "acting_as_label") if acting_as else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        message=message,
    )
