"""Approval use cases (R3): the steps a request waits for, the decisions approvers take in the
portal or from their e-mail, and the reminders of steps left waiting."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from credits.notify import catalog_administrators
from customers.scope import administers, administrator_users, is_msp_staff
from entitlements.models import RequestStatus, ServiceRequest
from entitlements.services import request_transition
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.outbox import enqueue_on_commit
from msp_portal.tenancy import CHANGE, visible_to

from .models import ApprovalLink, ApprovalStep, StepKind, StepStatus
from .signals import approval_waiting

NOTE_MAX = 2000


def _own_ids(request: ServiceRequest) -> set[int]:
    """The people a request is of: its requester and the person it is for (the same person when
    it is for the requester)."""
    return {request.requester_id, request.beneficiary_id}


def _decides_for_customer(step: ApprovalStep) -> bool:
    """Whether step is decided by its customer's administrators (a customer administrator's step
    not routed to the MSP)."""
    return step.kind == StepKind.CUSTOMER_ADMIN and not step.routed_to_msp


def _earlier_approvers(step: ApprovalStep) -> QuerySet:
    """The ids of who approved the request's earlier steps (a subquery)."""
    return ApprovalStep.objects.filter(
        request_id=step.request_id,
        order__lt=step.order,
        status=StepStatus.APPROVED,
        decided_by__isnull=False,
    ).values("decided_by_id")


def _approved_earlier(actor: User, step: ApprovalStep) -> bool:
    return _earlier_approvers(step).filter(decided_by=actor).exists()


def step_approvers(*, step: ApprovalStep) -> QuerySet[User]:
    """Who may decide a step (any one of them decides), and so who is asked, mailed and reminded:
    the customer's active administrators, or the MSP's catalog administrators (R3; for a step
    routed to the MSP too), never the requester nor the person the request is for (see
    step_may_decide), nor, when others can, whoever approved an earlier step of it."""
    if _decides_for_customer(step):
        people = administrator_users(step.request.customer)
    else:
        people = catalog_administrators()
    people = people.exclude(pk__in=_own_ids(step.request))
    if step.earlier_approvers_excluded:
        people = people.exclude(pk__in=_earlier_approvers(step))
    return people


def step_may_decide(*, actor: User, step: ApprovalStep) -> bool:
    """Whether actor is one of the step's approvers (any one of them decides).

    The rule of self-approval: nobody decides a step of their own request. The requester and
    the colleague it is for (R2) never decide any step of it, whatever their roles, in the
    portal, from an e-mailed link or through the API (all go through approval_decide); they are
    not asked, mailed, reminded or shown the buttons (step_approvers, selectors.approval_list).
    A customer administrator's step that nobody else could decide when it started waiting (the
    requester, or the person it is for, is the customer's only active administrator) goes to
    the MSP's catalog administrators instead (routed_to_msp), and the request's page and
    timeline say so: the approval still comes from someone other than the people it benefits.
    And two approvals are two people: whoever approved an earlier step of the request does not
    decide this one when someone else can (earlier_approvers_excluded, set as it starts).
    """
    if not actor.is_authenticated or not actor.is_active:
        return False
    if actor.pk in _own_ids(step.request):
        return False
    if step.earlier_approvers_excluded and _approved_earlier(actor, step):
        return False
    if _decides_for_customer(step):
        return administers(actor, step.request.customer)
    return is_msp_staff(actor, CHANGE)


def own_request_refusal(*, actor: User, step: ApprovalStep) -> str | None:
    """Why actor may not decide step because the request is theirs (None when it is not)."""
    request = step.request
    if actor.pk not in _own_ids(request):
        return None
    whose = (
        f"You asked for request #{request.pk}"
        if actor.pk == request.requester_id
        else f"Request #{request.pk} is for you"
    )
    if _decides_for_customer(step):
        who = f"another administrator of {request.customer} decides it"
    else:
        who = "an MSP catalog administrator decides it"
    return f"{whose}: nobody decides their own request, so {who}. Nothing was changed."


def routed_reason(request: ServiceRequest) -> str:
    """Why a customer administrator's step of request went to the MSP, in words."""
    customer = request.customer
    if request.is_for_colleague:
        return (
            f"{request.requester.display_name} asked for it for "
            f"{request.beneficiary.display_name}, and nobody else administers {customer}"
        )
    return (
        f"{request.requester.display_name} asked for it and is the only administrator of {customer}"
    )


def _route_if_nobody_else(step: ApprovalStep) -> bool:
    """A customer administrator's step that nobody but the request's own people could decide goes
    to the MSP's catalog administrators (recorded, and said on the request's timeline)."""
    if not _decides_for_customer(step) or step_approvers(step=step).exists():
        return False
    step.routed_to_msp = True
    step.save(update_fields=["routed_to_msp"])
    _on_timeline(
        step,
        "approval.routed",
        what=f"Sent to the MSP's catalog administrators (approval step {step.order})",
        note=f"Nobody decides their own request: {routed_reason(step.request)}.",
        routed_to=StepKind.MSP,
    )
    return True


def _on_timeline(step: ApprovalStep, action: str, *, what: str, note: str, **more) -> None:
    """Record what the portal itself decided about a waiting step, as the request's timeline
    shows it (entitlements.selectors.request_history reads `what` and `note`)."""
    audit_record(
        actor=None,
        actor_label="MSP Portal",
        action=action,
        obj=step.request,
        after={
            "step": step.order,
            "kind": step.kind,
            "status": StepStatus.PENDING,
            **more,
            "what": what,
            "note": note,
        },
    )


def earlier_approval_refusal(*, actor: User, step: ApprovalStep) -> str | None:
    """Why actor may not decide step because they approved an earlier step (None otherwise)."""
    if not step.earlier_approvers_excluded or not _approved_earlier(actor, step):
        return None
    return (
        f"You approved an earlier step of request #{step.request_id}, and its approvals come "
        f"from different people: another {_who_decides(step)} decides step {step.order}. "
        "Nothing was changed."
    )


def _who_decides(step: ApprovalStep) -> str:
    if _decides_for_customer(step):
        return f"administrator of {step.request.customer}"
    return "MSP catalog administrator"


def _exclude_earlier_approvers(step: ApprovalStep) -> None:
    """Two approvals are two people: a step starting after an approval is not decided by that
    approver when someone else can decide it; when nobody else can (the MSP has one catalog
    administrator), the approver may, and the request's timeline says why."""
    earlier = list(_earlier_approvers(step).values_list("decided_by_id", flat=True))
    if not earlier:
        return
    if step_approvers(step=step).exclude(pk__in=earlier).exists():
        step.earlier_approvers_excluded = True
        step.save(update_fields=["earlier_approvers_excluded"])
        return
    _nobody_else_note(step)


def _nobody_else_note(step: ApprovalStep) -> None:
    _on_timeline(
        step,
        "approval.same_approver",
        what=f"Approval step {step.order} may be decided by an earlier step's approver",
        note=f"Nobody else can decide it: no other {_who_decides(step)} is active.",
    )


def is_approver(user: User) -> bool:
    """Whether user may decide some step at all: a customer administrator or a catalog
    administrator (the pages answer anyone else 403)."""
    from customers.scope import administered_customer

    return is_msp_staff(user, CHANGE) or administered_customer(user) is not None


def _start(step: ApprovalStep) -> None:
    """Make step the one to decide: it waits from now, its approvers are told once the
    transaction commits, and approval_waiting is sent inside it."""
    from . import tasks

    step.waiting_since = timezone.now()
    step.save(update_fields=["waiting_since"])
    _route_if_nobody_else(step)
    _exclude_earlier_approvers(step)
    approval_waiting.send(
        sender=ApprovalStep,
        request=step.request,
        step=step,
        # The same step under the name the webhooks receiver reads.
        approval=step,
        approvers=list(step_approvers(step=step)),
    )
    enqueue_on_commit(tasks.notify_waiting, step.pk, 0)


def approval_steps_start(*, request: ServiceRequest) -> list[ApprovalStep]:
    """Create the steps a request awaiting approval needs (its service's policy for its total)
    and start the first; called inside the submission's transaction."""
    if request.status != RequestStatus.AWAITING_APPROVAL:
        return []
    kinds = request.service.approval_steps(request.total)
    steps = ApprovalStep.objects.bulk_create(
        ApprovalStep(request=request, order=i, kind=kind) for i, kind in enumerate(kinds, start=1)
    )
    for step in steps:
        step.request = request
    if steps:
        _start(steps[0])
    return steps


def approval_steps_close(*, request: ServiceRequest) -> int:
    """A request that left awaiting approval otherwise (cancelled): its undecided steps are
    skipped, so nobody is asked or reminded any more."""
    return ApprovalStep.objects.filter(request=request, status=StepStatus.PENDING).update(
        status=StepStatus.SKIPPED
    )


def current_step(request: ServiceRequest) -> ApprovalStep | None:
    """The step waiting for a decision now, if any."""
    return (
        ApprovalStep.objects.filter(
            request=request, status=StepStatus.PENDING, waiting_since__isnull=False
        )
        .order_by("order")
        .first()
    )


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y, H:i")


def _already_decided(request: ServiceRequest) -> DomainError:
    last = (
        ApprovalStep.objects.filter(
            request=request, status__in=[StepStatus.APPROVED, StepStatus.REJECTED]
        )
        .order_by("-decided_at", "-order")
        .first()
    )
    if request.status != RequestStatus.AWAITING_APPROVAL and last is not None:
        return DomainError(
            f"Request #{request.pk} was decided already: {last.get_status_display().lower()} by "
            f"{last.decided_by_label} on {_when(last.decided_at)}. Nothing was changed."
        )
    return DomainError(
        f"Request #{request.pk} is {request.get_status_display().lower()}: there is nothing left "
        "to decide. Nothing was changed."
    )


@transaction.atomic
def approval_decide(
    *,
    actor: User,
    request: ServiceRequest,
    approve: bool,
    note: str = "",
    link: ApprovalLink | None = None,
) -> ApprovalStep:
    """An approver approves or rejects the step a request waits for (R3).

    Outside the actor's scope the request does not exist (Http404); in scope but not theirs to
    decide, NotAllowed, and so for the request's requester and the person it is for, who never
    decide their own request (see step_may_decide). A rejection rejects the request (and refunds it, once); the last step's
    approval approves it; an earlier step's approval starts the next. A decision on a request
    already decided, or through a link used already, changes nothing and says so.
    """
    if not visible_to(actor, ServiceRequest).filter(pk=request.pk).exists():
        raise Http404("No such request.")
    if not is_approver(actor):
        raise NotAllowed(
            "Only customer administrators and catalog administrators approve requests."
        )
    request = (
        ServiceRequest.objects.select_for_update()
        .select_related("customer__company", "service", "requester", "beneficiary")
        .get(pk=request.pk)
    )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(f"Keep the note to {NOTE_MAX:,} characters; it has {len(note):,}.")
    if link is not None:
        link = ApprovalLink.objects.select_for_update().get(pk=link.pk)
        if link.approver_id != actor.pk:
            raise NotAllowed("This approval link was sent to another approver.")
        if link.used_at is not None:
            raise DomainError(
                f"This approval link was used already, on {_when(link.used_at)}, and works only "
                "once. Nothing was changed."
            )
    step = current_step(request) if request.status == RequestStatus.AWAITING_APPROVAL else None
    if step is None:
        awaiting = request.status == RequestStatus.AWAITING_APPROVAL
        if awaiting and not ApprovalStep.objects.filter(request=request).exists():
            raise DomainError(
                f"Request #{request.pk} has no approval steps (it was submitted before "
                "approvals); move it on from its page."
            )
        raise _already_decided(request)
    if link is not None and link.step_id != step.pk:
        earlier = ApprovalStep.objects.get(pk=link.step_id)
        raise DomainError(
            f"The step this link was sent for was decided already: "
            f"{earlier.get_status_display().lower()} by {earlier.decided_by_label} on "
            f"{_when(earlier.decided_at)}. Nothing was changed."
        )
    step.request = request
    refusal = own_request_refusal(actor=actor, step=step) or earlier_approval_refusal(
        actor=actor, step=step
    )
    if refusal:
        raise NotAllowed(refusal)
    if not step_may_decide(actor=actor, step=step):
        who = _who_decides(step)
        raise NotAllowed(f"Request #{request.pk} waits for an {who}: it is not yours to decide.")
    if not approve and not note:
        raise DomainError("Say why you reject the request: the requester sees your note.")
    now = timezone.now()
    step.status = StepStatus.APPROVED if approve else StepStatus.REJECTED
    step.decided_by, step.decided_by_label = actor, actor.display_name[:150]
    step.decided_at, step.note = now, note
    step.save(update_fields=["status", "decided_by", "decided_by_label", "decided_at", "note"])
    if link is not None:
        link.used_at, link.used_for = now, "approve" if approve else "reject"
        link.save(update_fields=["used_at", "used_for"])
    from . import tasks

    enqueue_on_commit(tasks.notify_decided, step.pk)
    audit_record(
        actor=actor,
        action=f"approval.{step.status}",
        obj=request,
        before={"step": step.order, "status": StepStatus.PENDING},
        after={
            "step": step.order,
            "kind": step.kind,
            "routed_to_msp": step.routed_to_msp,
            "status": step.status,
            "note": note,
            "by_link": link is not None,
        },
    )
    if not approve:
        ApprovalStep.objects.filter(request=request, status=StepStatus.PENDING).update(
            status=StepStatus.SKIPPED
        )
        request_transition(actor=actor, request=request, status=RequestStatus.REJECTED, note=note)
        return step
    following = (
        ApprovalStep.objects.filter(
            request=request, status=StepStatus.PENDING, order__gt=step.order
        )
        .order_by("order")
        .first()
    )
    if following is not None:
        following.request = request
        _start(following)
    else:
        request_transition(actor=actor, request=request, status=RequestStatus.APPROVED, note=note)
    return step


def transition_guard(request: ServiceRequest, status: str, actor=None) -> str | None:
    """entitlements.services asks before any transition: a request waiting for its approvers is
    approved or rejected only by their decisions (approval_decide), never by hand."""
    if request.status != RequestStatus.AWAITING_APPROVAL or status not in (
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
    ):
        return None
    statuses = list(ApprovalStep.objects.filter(request=request).values_list("status", flat=True))
    if not statuses:
        return None  # submitted before approvals existed: decided by hand as before
    if status == RequestStatus.APPROVED and all(s == StepStatus.APPROVED for s in statuses):
        return None
    if status == RequestStatus.REJECTED and StepStatus.REJECTED in statuses:
        return None
    return (
        f"Request #{request.pk} is waiting for its approvers: approve or reject it on the "
        "Approvals page (or from the approval e-mail), where the decision is recorded with its note."
    )


def approval_links_make(*, step: ApprovalStep, approvers, round: int) -> dict[int, ApprovalLink]:
    """One link per approver for this mailing of the step (made once, however often it runs)."""
    ApprovalLink.objects.bulk_create(
        (ApprovalLink(step=step, approver=user, round=round) for user in approvers),
        ignore_conflicts=True,
    )
    return {
        link.approver_id: link
        for link in ApprovalLink.objects.filter(step=step, round=round).select_related("step")
    }


def approval_reminders_due(*, now=None) -> list[tuple[int, int]]:
    """Claim the reminders due now: each waiting step at most once per APPROVAL_REMINDER_DAYS
    (a conditional UPDATE that one run alone wins). Returns (step id, reminder number) pairs."""
    days = settings.APPROVAL_REMINDER_DAYS
    if days <= 0:
        return []
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    due = ApprovalStep.objects.filter(
        Q(reminded_at__isnull=True) | Q(reminded_at__lte=cutoff),
        status=StepStatus.PENDING,
        waiting_since__lte=cutoff,
        request__status=RequestStatus.AWAITING_APPROVAL,
    ).values_list("pk", "reminders_sent")
    claimed = []
    for pk, sent in due[:500]:
        won = ApprovalStep.objects.filter(
            pk=pk, reminders_sent=sent, status=StepStatus.PENDING
        ).update(reminded_at=now, reminders_sent=sent + 1)
        if won:
            claimed.append((pk, sent + 1))
    # A customer's step whose other administrators left meanwhile goes to the MSP now.
    for step in ApprovalStep.objects.filter(
        pk__in=[pk for pk, _ in claimed], kind=StepKind.CUSTOMER_ADMIN, routed_to_msp=False
    ).select_related("request__customer__company", "request__requester", "request__beneficiary"):
        _route_if_nobody_else(step)
    # A step kept from an earlier step's approver whose other approvers left meanwhile: that
    # approver may decide it now, rather than nobody.
    for step in ApprovalStep.objects.filter(
        pk__in=[pk for pk, _ in claimed], earlier_approvers_excluded=True
    ).select_related("request__customer__company", "request__requester", "request__beneficiary"):
        if not step_approvers(step=step).exists():
            step.earlier_approvers_excluded = False
            step.save(update_fields=["earlier_approvers_excluded"])
            _nobody_else_note(step)
    return claimed
