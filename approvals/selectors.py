"""Reads of approvals, always scoped to the user asking (T1)."""

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

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


def _approved_earlier(user: User) -> Exists:
    """Steps of which user approved an earlier step of the same request."""
    return Exists(
        ApprovalStep.objects.filter(
            request_id=OuterRef("request_id"),
            order__lt=OuterRef("order"),
            status=StepStatus.APPROVED,
            decided_by_id=user.pk,
        )
    )


def _not_a_second_approval(user: User) -> Q:
    """Steps user may decide after approving an earlier one: only those nobody else could
    (services.step_may_decide: two approvals are two people)."""
    return ~(Q(earlier_approvers_excluded=True) & Q(_approved_earlier(user)))


def _theirs(user: User) -> Q:
    """The waiting steps user decides: a customer administrator their customer's steps, a catalog
    administrator the MSP's steps and the customers' steps routed to the MSP; never a step of
    their own request, nor one after their approval when someone else can decide it."""
    if is_msp_staff(user, CHANGE):
        mine = Q(kind=StepKind.MSP) | Q(routed_to_msp=True)
    elif (customer := administered_customer(user)) is not None:
        mine = Q(kind=StepKind.CUSTOMER_ADMIN, routed_to_msp=False, request__customer=customer)
    else:
        return NOTHING
    return mine & _not_their_own(user) & _not_a_second_approval(user)


def decides_here(user: User, step: ApprovalStep) -> bool:
    """Whether a catalog administrator decides a step listed under "All waiting" (the list's
    rows are loaded with their request, and with approval_list's `second_approval`)."""
    request = step.request
    return (
        (step.kind == StepKind.MSP or step.routed_to_msp)
        and user.pk not in (request.requester_id, request.beneficiary_id)
        and not getattr(step, "second_approval", False)
    )


def approval_list(*, user: User, show: str = MINE) -> QuerySet[ApprovalStep]:
    """Steps waiting for a decision, oldest first: those user decides (MINE), or every one
    user may see (ALL: catalog administrators follow the customers' steps too)."""
    steps = visible_to(user, _waiting().filter(_theirs(user) if show == MINE else Q()))
    return (
        steps.annotate(
            second_approval=ExpressionWrapper(
                Q(earlier_approvers_excluded=True) & Q(_approved_earlier(user)),
                output_field=BooleanField(),
            )
        )
        .select_related(
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
