"""Entitlement use cases: marketplaces, their offers and audiences, and service requests."""

from collections.abc import Callable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from catalog.models import QuestionKind, Service, ServiceStatus
from catalog.questions import Answer, answers_clean
from catalog.selectors import question_list
from credits.models import CreditEntry
from credits.services import credit_debit, credit_refund
from customers.models import Customer, CustomerService
from customers.scope import customer_accounts, end_user_customer, may_manage
from customers.services import criteria_clean, msp_mode_required_check
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed

from .access import VisibleService, access_resolve, visible_service
from .models import (
    REQUEST_TRANSITIONS,
    AudienceKind,
    AudienceRule,
    Marketplace,
    MarketplaceService,
    RequestAnswer,
    RequestStatus,
    ServiceRequest,
)
from .signals import request_status_changed, request_submitted


def _require_manager(actor: User, customer: Customer) -> None:
    msp_mode_required_check()
    if not may_manage(actor, customer):
        raise NotAllowed(
            "Only this customer's administrators and catalog administrators can do this."
        )


@transaction.atomic
def marketplace_create(
    *, actor: User, customer: Customer, name: str, description: str = ""
) -> Marketplace:
    """Create an empty marketplace of a customer (E1)."""
    _require_manager(actor, customer)
    marketplace = Marketplace(
        customer=customer, name=name.strip(), description=description, created_by=actor
    )
    marketplace.full_clean()
    marketplace.save()
    audit_record(
        actor=actor,
        action="marketplace.create",
        obj=marketplace,
        after={"name": marketplace.name, "customer": str(customer)},
    )
    return marketplace


@transaction.atomic
def marketplace_rename(
    *, actor: User, marketplace: Marketplace, name: str, description: str = ""
) -> Marketplace:
    """Rename a marketplace or change its description."""
    _require_manager(actor, marketplace.customer)
    before = {"name": marketplace.name, "description": marketplace.description}
    marketplace.name, marketplace.description = name.strip(), description
    marketplace.full_clean()
    marketplace.save(update_fields=["name", "description"])
    audit_record(
        actor=actor,
        action="marketplace.rename",
        obj=marketplace,
        before=before,
        after={"name": marketplace.name, "description": description},
    )
    return marketplace


@transaction.atomic
def marketplace_delete(*, actor: User, marketplace: Marketplace) -> None:
    """Delete a marketplace; its audience loses what only it granted, requests are kept."""
    _require_manager(actor, marketplace.customer)
    before = {"name": marketplace.name, "customer": str(marketplace.customer)}
    audit_record(actor=actor, action="marketplace.delete", obj=marketplace, before=before)
    marketplace.delete()


@transaction.atomic
def marketplace_services_add(
    *, actor: User, marketplace: Marketplace, services: list[Service]
) -> int:
    """Offer services in a marketplace: only those assigned to its customer and published (E1, C3)."""
    _require_manager(actor, marketplace.customer)
    assignments = {
        a.service_id: a
        for a in CustomerService.objects.filter(
            customer=marketplace.customer, service__in=services
        ).select_related("service")
    }
    refused = [
        s.name for s in services if s.pk not in assignments or s.status != ServiceStatus.PUBLISHED
    ]
    if refused:
        raise DomainError(
            "Only published services assigned to this customer can be offered; not allowed: "
            + ", ".join(refused)
            + ". Ask your catalog administrator to assign them first."
        )
    added = 0
    for service in services:
        _, created = MarketplaceService.objects.get_or_create(
            marketplace=marketplace, assignment=assignments[service.pk]
        )
        added += created
    if added:
        audit_record(
            actor=actor,
            action="marketplace.services_add",
            obj=marketplace,
            after={"services": sorted(s.name for s in services)},
        )
    return added


@transaction.atomic
def marketplace_service_remove(*, actor: User, marketplace: Marketplace, service: Service) -> None:
    """Stop offering a service in a marketplace."""
    _require_manager(actor, marketplace.customer)
    deleted, _ = MarketplaceService.objects.filter(
        marketplace=marketplace, assignment__service=service
    ).delete()
    if not deleted:
        raise DomainError(f"{service.name} is not offered in {marketplace}.")
    audit_record(
        actor=actor,
        action="marketplace.service_remove",
        obj=marketplace,
        before={"service": service.name},
    )


@transaction.atomic
def audience_rule_add(
    *,
    actor: User,
    marketplace: Marketplace,
    kind: str,
    user: User | None = None,
    organization: str = "",
    department: str = "",
    criteria: dict | None = None,
) -> AudienceRule:
    """Widen a marketplace's audience by one rule; named users must be end users of the same customer."""
    customer = marketplace.customer
    _require_manager(actor, customer)
    rule = AudienceRule(marketplace=marketplace, kind=kind)
    if kind == AudienceKind.USER:
        if user is None or end_user_customer(user) != customer:
            raise DomainError("Choose one of this customer's active end users.")
        rule.user = user
    elif kind == AudienceKind.GROUP:
        if department and not organization:
            raise DomainError("Choose the organization before a department.")
        rule.organization, rule.department = organization.strip(), department.strip()
    elif kind == AudienceKind.FILTER:
        rule.criteria = criteria_clean(criteria or {})
        if not rule.criteria:
            raise DomainError("Tick at least one value, or use “Everyone in the customer” instead.")
    elif kind != AudienceKind.EVERYONE:
        raise DomainError(f"Unknown audience kind {kind!r}.")
    rule.full_clean()
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as error:
        raise DomainError(
            f"{user.display_name if user else 'That rule'} is in this audience already."
        ) from error
    audit_record(
        actor=actor,
        action="marketplace.audience_add",
        obj=marketplace,
        after={"rule": rule.describe(customer.company.name)},
    )
    return rule


@transaction.atomic
def audience_rule_remove(*, actor: User, marketplace: Marketplace, rule: AudienceRule) -> None:
    """Narrow a marketplace's audience by removing one rule."""
    _require_manager(actor, marketplace.customer)
    if rule.marketplace_id != marketplace.pk:
        raise DomainError("That rule belongs to another marketplace.")
    description = rule.describe(marketplace.customer.company.name)
    rule.delete()
    audit_record(
        actor=actor,
        action="marketplace.audience_remove",
        obj=marketplace,
        before={"rule": description},
    )


class RequestAlreadySubmitted(DomainError):
    """The request form was posted again (a double click, a reload, a replay); nothing new was
    made or charged, and `request` is the one its first post made."""

    def __init__(self, request: ServiceRequest):
        super().__init__(
            f"You submitted this form already: it made request #{request.pk}, shown here, and "
            "nothing was charged again. To request the service once more, open it from the "
            "catalog."
        )
        self.request = request


def _submitted_with(actor: User, submission_key: str) -> ServiceRequest | None:
    if not submission_key:
        return None
    return ServiceRequest.objects.filter(requester=actor, submission_key=submission_key).first()


def request_submit(
    *,
    actor: User,
    service: Service,
    quantity: int,
    justification: str = "",
    submission_key: str = "",
    access: VisibleService | None = None,
    answers: dict | None = None,
    beneficiary: User | None = None,
) -> ServiceRequest:
    """An end user requests a service entitled to them (E2), within its quantity limits, for
    themself or for a colleague of the same customer who is entitled to it too (R2), answering
    the service's questions (R1).

    answers maps a question's id to its answer as plain data (catalog.questions.answers_clean
    says which); they are checked against the service's current questions and kept with the
    request as asked. Anything refused (an answer of the wrong kind, a missing required one, one
    to a question the service doesn't ask, a colleague of another customer or not entitled)
    raises ValidationError before anything is written.

    access is the actor's entry for the service when the caller resolved it already in this
    request (the request form's page does, to draw the form); otherwise it is resolved here.

    A submission key (the request form's, drawn with the page) makes one request and one debit
    however often it is posted, concurrently or not: the unique constraint on (requester, key)
    refuses the replay's insert, which rolls its whole transaction back before anything is
    charged, and RequestAlreadySubmitted names the first request. Asking first would cost every
    submission a query that only replays need.
    """
    try:
        return _request_submit(
            actor=actor,
            service=service,
            quantity=quantity,
            justification=justification,
            submission_key=submission_key,
            access=access,
            answers=answers,
            beneficiary=beneficiary,
        )
    except IntegrityError:
        first = _submitted_with(actor, submission_key)
        if first is None:
            raise
        raise RequestAlreadySubmitted(first) from None


@transaction.atomic
def _request_submit(
    *,
    actor: User,
    service: Service,
    quantity: int,
    justification: str,
    submission_key: str,
    access: VisibleService | None,
    answers: dict | None,
    beneficiary: User | None,
) -> ServiceRequest:
    msp_mode_required_check()
    entry = access
    if entry is None or entry.service.pk != service.pk:
        entry = visible_service(user=actor, service_id=service.pk)
    if entry is None:
        # A replay of a form whose first post went through still shows that request.
        if (first := _submitted_with(actor, submission_key)) is not None:
            raise RequestAlreadySubmitted(first)
        raise NotAllowed(
            f"{service.name} is not available to you. Ask your administrator for access."
        )
    service = entry.service
    if quantity < 1:
        raise DomainError("Request at least 1.")
    if service.min_quantity and quantity < service.min_quantity:
        raise DomainError(f"Request at least {service.min_quantity} of {service.name}.")
    if service.max_quantity and quantity > service.max_quantity:
        raise DomainError(f"You can request at most {service.max_quantity} of {service.name}.")
    if service.price > 0 and not justification.strip():
        raise DomainError(
            f"{service.name} costs credits: say what it is for, so your administrator can approve it."
        )
    customer = end_user_customer(actor)
    beneficiary = _beneficiary_check(
        actor=actor, customer=customer, service=service, beneficiary=beneficiary
    )
    questions = question_list(service=service)
    kept = answers_clean(
        questions=questions,
        data=answers,
        colleagues=_colleagues(customer=customer, questions=questions, answers=answers),
    )
    total = (service.price * quantity).quantize(Decimal("0.01"))
    request = ServiceRequest(
        customer=customer,
        requester=actor,
        beneficiary=beneficiary,
        service=service,
        quantity=quantity,
        unit_price=service.price,
        total=total,
        justification=justification.strip(),
        submission_key=submission_key,
        status=(
            RequestStatus.AWAITING_APPROVAL
            if service.approval_steps(total)
            else RequestStatus.APPROVED
        ),
    )
    # The customer, requester and service are the rows just resolved: no need to look them up
    # again; the unique submission key is held by the constraint below.
    request.full_clean(
        exclude=["customer", "requester", "beneficiary", "service"], validate_constraints=False
    )
    request.save()
    if kept:
        RequestAnswer.objects.bulk_create(_answer_rows(request, kept))
    if customer.credit_management and request.total > 0:
        credit_debit(
            actor=actor,
            customer=customer,
            amount=request.total,
            reason=f"Request #{request.pk}: {quantity} × {service.name}",
            idempotency_key=f"request:{request.pk}:debit",
            request_id=request.pk,
            # The request was made just now, in this transaction: its key is new.
            new_key=True,
        )
    audit_record(
        actor=actor,
        action="request.submit",
        obj=request,
        after={
            "service": service.name,
            "quantity": quantity,
            "total": str(request.total),
            "status": request.status,
            **({"for": beneficiary.username} if beneficiary.pk != actor.pk else {}),
            **({"answers": {a.label: a.display for a in kept}} if kept else {}),
        },
    )
    request_submitted.send(sender=ServiceRequest, request=request, actor=actor)
    return request


def _beneficiary_check(
    *, actor: User, customer: Customer, service: Service, beneficiary: User | None
) -> User:
    """Whom the request is for: the actor, or an active colleague of the same customer who is
    entitled to the service (R2, E2 for them)."""
    if beneficiary is None or beneficiary.pk == actor.pk:
        return actor
    colleague = customer_accounts(customer).filter(pk=beneficiary.pk).first()
    if colleague is None:
        raise DomainError(
            "You can request only for yourself or an active colleague of "
            f"{customer.company.name}: pick one from the search."
        )
    access = access_resolve(customer=customer, users=[colleague], service_ids=[service.pk])
    if not access.grants(colleague.pk).get(service.pk):
        raise DomainError(
            f"{colleague.display_name} can't have {service.name}: it isn't offered to them. Ask "
            "your administrator to give them access, or request it for someone who has it."
        )
    return colleague


def _colleagues(*, customer: Customer, questions: list, answers: dict | None) -> dict[int, str]:
    """The accounts the answers to colleague questions name that are the customer's active
    people, with the name shown for each (one query, none without a colleague answer)."""
    if not answers or not isinstance(answers, dict):
        return {}
    asked = {q.pk for q in questions if q.kind == QuestionKind.COLLEAGUE}
    ids = set()
    for key, value in answers.items():
        if str(key).removeprefix("q_") in {str(pk) for pk in asked}:
            for item in value if isinstance(value, list | tuple) else [value]:
                if str(item).strip().isdigit() and len(str(item).strip()) < 12:
                    ids.add(int(str(item).strip()))
    if not ids:
        return {}
    return {
        user.pk: f"{user.display_name} ({user.username})"
        for user in customer_accounts(customer).filter(pk__in=ids)
    }


def _answer_rows(request: ServiceRequest, kept: list[Answer]) -> list[RequestAnswer]:
    return [
        RequestAnswer(
            request=request,
            position=a.position,
            question_id=a.question_id,
            label=a.label,
            kind=a.kind,
            value=a.value,
            display=a.display,
        )
        for a in kept
    ]


# A request that ends in one of these gives its credits back, exactly once (K3).
REFUNDED_STATUSES = {RequestStatus.CANCELLED, RequestStatus.REJECTED, RequestStatus.FAILED}


def _refund(*, actor: User, request: ServiceRequest) -> None:
    debit = CreditEntry.objects.filter(
        account__customer=request.customer, idempotency_key=f"request:{request.pk}:debit"
    ).first()
    if debit is None:
        return
    credit_refund(
        actor=actor,
        customer=request.customer,
        amount=-debit.amount,
        reason=f"Request #{request.pk} {request.get_status_display().lower()}",
        idempotency_key=f"request:{request.pk}:refund",
        request_id=request.pk,
    )


# Rules of the apps above that a transition must also pass (approvals: a request waiting for its
# approvers is approved or rejected only by their decisions; fulfilment: a request fulfilled in
# the ITSM is moved by the ITSM's status, actor None, or cancelled). Each takes (request, status,
# actor) and returns why the move is refused, or None.
REQUEST_TRANSITION_GUARDS: list[Callable[[ServiceRequest, str, User | None], str | None]] = []


def _guard_refusal(request: ServiceRequest, status: str, actor: User | None) -> str | None:
    for guard in REQUEST_TRANSITION_GUARDS:
        if (refusal := guard(request, status, actor)) is not None:
            return refusal
    return None


def _may_decide(actor: User | None, request: ServiceRequest) -> bool:
    # None is the system: the ITSM's status read back by fulfilment, along the same transitions.
    return actor is None or may_manage(actor, request.customer)


def request_transitions_for(*, actor: User, request: ServiceRequest) -> set[str]:
    """The statuses this actor may move the request to now (what request_transition accepts)."""
    following = REQUEST_TRANSITIONS.get(request.status, set())
    if _may_decide(actor, request):
        return {s for s in following if _guard_refusal(request, s, actor) is None}
    if request.requester_id == actor.pk and request.requester_may_cancel:
        return following & {RequestStatus.CANCELLED}
    return set()


@transaction.atomic
def request_transition(
    *, actor: User | None, request: ServiceRequest, status: str, note: str = ""
) -> ServiceRequest:
    """Move a request on: its requester may cancel it while submitted; administrators decide the rest."""
    request = (
        ServiceRequest.objects.select_for_update().select_related("customer").get(pk=request.pk)
    )
    if (
        status == RequestStatus.CANCELLED
        and actor is not None
        and request.requester_id == actor.pk
        and not request.requester_may_cancel
        and not _may_decide(actor, request)
    ):
        raise DomainError(
            f"Request #{request.pk} is {request.get_status_display().lower()}: work on it has "
            "started, so ask your administrator or the service desk to cancel it."
        )
    if status not in REQUEST_TRANSITIONS.get(request.status, set()):
        raise DomainError(
            f"Request #{request.pk} is {request.get_status_display().lower()}: it can't become "
            f"{RequestStatus(status).label.lower()}."
        )
    is_requester_cancel = (
        status == RequestStatus.CANCELLED
        and actor is not None
        and request.requester_id == actor.pk
        and request.requester_may_cancel
    )
    if not is_requester_cancel and not _may_decide(actor, request):
        raise NotAllowed(
            "Only the customer's administrators and catalog administrators can do this."
        )
    if (refusal := _guard_refusal(request, status, actor)) is not None:
        raise DomainError(refusal)
    before = {"status": request.status}
    request.status, request.status_note, request.updated_at = status, note.strip(), timezone.now()
    request.save(update_fields=["status", "status_note", "updated_at"])
    if status in REFUNDED_STATUSES:
        _refund(actor=actor, request=request)
    audit_record(
        actor=actor,
        action=f"request.{status}",
        obj=request,
        before=before,
        after={"status": status, "note": note},
    )
    request_status_changed.send(
        sender=ServiceRequest,
        request=request,
        old_status=before["status"],
        new_status=status,
        actor=actor,
        note=note.strip(),
    )
    return request
