"""Who sees approval steps and links (T1): a step whoever sees its request; a link its approver."""

from django.db.models import Q

from entitlements.models import ServiceRequest
from msp_portal.tenancy import NOTHING, scope_register, visible_to


def _steps(user, action: str) -> Q:
    return Q(request__in=visible_to(user, ServiceRequest, action).values("pk"))


def _links(user, action: str) -> Q:
    return Q(approver=user) if user.is_authenticated else NOTHING


def register() -> None:
    from .models import ApprovalLink, ApprovalStep

    scope_register(ApprovalStep, _steps)
    scope_register(ApprovalLink, _links)
