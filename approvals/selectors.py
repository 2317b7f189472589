"""Reads of approvals, always scoped to the user asking (T1)."""

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from customers.scope import administered_customer, is_msp_staff
from entitlements.models import RequestAnswer, RequestStatus, ServiceRequest
from msp_portal.selectors import capped_count
from msp_portal.tenancy import CHANGE, NOTHING, visible_to

from .models import ApprovalStep, StepKind, StepStatus

MINE = "mine"
ALL = "all"


def _waiting() -> QuerySet[ApprovalStep]:
    return ApprovalStep.objects.filter(
        status=StepStatus.PENDING,
        waiting_since__isnull=False,
        request__status=RequestStatus.AWAITING_APPROVAL,
    )


def _not_their_own(user: User) -> Q:
    """Steps of requests that are not user's own: nobody decides a request they made or that is
    for them (services.step_may_decide)."""
    return ~Q(request__requester_id=user.pk) & ~Q(request__beneficiary_id=user.pk)


def _theirs(user: User) -> Q:
    """The waiting steps user decides: a customer administrator their customer's steps, a catalog
    administrator the MSP's steps and the customers' steps routed to the MSP; never a step of
    their own request."""
    if is_msp_staff(user, CHANGE):
        return (Q(kind=StepKind.MSP) | Q(routed_to_msp=True)) & _not_their_own(user)
    customer = administered_customer(user)
    if customer is not None:
        return Q(
            kind=StepKind.CUSTOMER_ADMIN, routed_to_msp=False, request__customer=customer
        ) & _not_their_own(user)
    return NOTHING


def decides_here(user: User, step: ApprovalStep) -> bool:
    """Whether a catalog administrator decides a step listed under "All waiting" (the list's
    rows are loaded with their request already)."""
    request = step.request
    return (step.kind == StepKind.MSP or step.routed_to_msp) and user.pk not in (
        request.requester_id,
        request.beneficiary_id,
    )


def approval_list(*, user: User, show: str = MINE) -> QuerySet[ApprovalStep]:
    """Steps waiting for a decision, oldest first: those user decides (MINE), or every one
    user may see (ALL: catalog administrators follow the customers' steps too)."""
    steps = visible_to(user, _waiting().filter(_theirs(user) if show == MINE else Q()))
    return (
        steps.select_related(
            "request__service",
            "request__requester",
            "request__beneficiary",
            "request__customer__company",
        )
        # The answers, so approvers decide with them in view: one query for the whole page.
        .prefetch_related(Prefetch("request__answers", RequestAnswer.objects.order_by("position")))
        .order_by("waiting_since", "id")
    )


def approval_waiting_count(*, user: User) -> tuple[int, bool]:
    """How many steps wait for user (capped: the navigation's badge never counts a whole table)."""
    return capped_count(visible_to(user, _waiting().filter(_theirs(user))))


def request_steps(*, request: ServiceRequest) -> list[ApprovalStep]:
    """A request's steps in order (the request is already in the reader's scope)."""
    return list(ApprovalStep.objects.filter(request=request).select_related("decided_by"))
