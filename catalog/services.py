"""Catalog use cases: categories and services, every change audited.

A service's life: it is created as a draft, published when customers may be offered it, and
retired when it is withdrawn. A retired service may be published again (a withdrawn offer comes
back with the same name, price and history); nothing returns to draft, because a service that
has been offered can't be un-offered, only retired.
"""

from decimal import Decimal
from typing import NotRequired, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed

from .models import ApprovalPolicy, Category, Question, Service, ServiceStatus
from .questions import number_text, question_problems


class ServiceTransitionRefused(DomainError):
    """The service is not in a status from which this change of status is allowed."""


def _require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise NotAllowed(
            "You do not have the role this action needs: ask a system "
            "administrator for the Catalog administrator role."
        )


def _save(obj: Category | Service, duplicate_message: str) -> None:
    """Validate and save; a twin saved concurrently surfaces as the same friendly name error."""
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as error:
        if "name_ci_unique" in str(error):
            raise ValidationError({"name": duplicate_message}) from error
        raise


def _threshold(policy: str, threshold: Decimal | None) -> Decimal | None:
    """A threshold only means something with "above an amount"; with another policy it is dropped."""
    return threshold if policy == ApprovalPolicy.ABOVE_AMOUNT else None


def _category_state(category: Category) -> dict:
    return {"name": category.name, "description": category.description}


def _service_state(service: Service) -> dict:
    return {
        "name": service.name,
        "description": service.description,
        "category": service.category.name,
        "status": service.status,
        "price": f"{service.price:.2f}",
        "min_quantity": service.min_quantity,
        "max_quantity": service.max_quantity,
        "approval_policy": service.approval_policy,
        "approval_threshold": (
            None if service.approval_threshold is None else f"{service.approval_threshold:.2f}"
        ),
    }


def _changed(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


@transaction.atomic
def category_create(*, actor: User, name: str, description: str = "") -> Category:
    """Create a category; its name must be unique whatever the letter case."""
    _require(actor, "catalog.add_category")
    category = Category(name=name.strip(), description=description.strip())
    _save(category, f"A category named “{category.name}” already exists. Choose another name.")
    audit_record(
        actor=actor, action="category.create", obj=category, after=_category_state(category)
    )
    return category


@transaction.atomic
def category_update(
    *, actor: User, category: Category, name: str, description: str = ""
) -> Category:
    """Rename or describe a category; the new name must still be unique."""
    _require(actor, "catalog.change_category")
    category = Category.objects.select_for_update().get(pk=category.pk)
    before = _category_state(category)
    category.name, category.description = name.strip(), description.strip()
    _save(category, f"A category named “{category.name}” already exists. Choose another name.")
    before, after = _changed(before, _category_state(category))
    if after:
        audit_record(
            actor=actor, action="category.update", obj=category, before=before, after=after
        )
    return category


@transaction.atomic
def service_create(
    *,
    actor: User,
    name: str,
    category: Category,
    price: Decimal,
    description: str = "",
    min_quantity: int | None = None,
    max_quantity: int | None = None,
    approval_policy: str = ApprovalPolicy.NONE,
    approval_threshold: Decimal | None = None,
) -> Service:
    """Create a service as a draft: nobody can be offered it until it is published."""
    _require(actor, "catalog.add_service")
    service = Service(
        name=name.strip(),
        description=description.strip(),
        category=category,
        status=ServiceStatus.DRAFT,
        price=price,
        min_quantity=min_quantity,
        max_quantity=max_quantity,
        approval_policy=approval_policy,
        approval_threshold=_threshold(approval_policy, approval_threshold),
    )
    _save(service, f"A service named “{service.name}” already exists. Choose another name.")
    audit_record(actor=actor, action="service.create", obj=service, after=_service_state(service))
    return service


@transaction.atomic
def service_update(
    *,
    actor: User,
    service: Service,
    name: str,
    category: Category,
    price: Decimal,
    description: str = "",
    min_quantity: int | None = None,
    max_quantity: int | None = None,
    approval_policy: str | None = None,
    approval_threshold: Decimal | None = None,
) -> Service:
    """Change a service's details (not its status: publish or retire it for that).

    approval_policy None keeps the service's policy and threshold as they are.
    """
    _require(actor, "catalog.change_service")
    service = Service.objects.select_for_update().select_related("category").get(pk=service.pk)
    before = _service_state(service)
    service.name, service.description = name.strip(), description.strip()
    service.category, service.price = category, price
    service.min_quantity, service.max_quantity = min_quantity, max_quantity
    if approval_policy is not None:
        service.approval_policy = approval_policy
        service.approval_threshold = _threshold(approval_policy, approval_threshold)
    _save(service, f"A service named “{service.name}” already exists. Choose another name.")
    before, after = _changed(before, _service_state(service))
    if after:
        audit_record(actor=actor, action="service.update", obj=service, before=before, after=after)
    return service


def _transition(*, actor: User, service: Service, to: str, refusals: dict[str, str]) -> Service:
    _require(actor, "catalog.change_service")
    service = Service.objects.select_for_update().get(pk=service.pk)
    if service.status in refusals:
        raise ServiceTransitionRefused(refusals[service.status].format(name=service.name))
    before = service.status
    service.status = to
    service.full_clean()
    service.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=f"service.{'publish' if to == ServiceStatus.PUBLISHED else 'retire'}",
        obj=service,
        before={"status": before},
        after={"status": to},
    )
    return service


@transaction.atomic
def service_publish(*, actor: User, service: Service) -> Service:
    """Publish a draft or retired service, so that it can be assigned to customers."""
    return _transition(
        actor=actor,
        service=service,
        to=ServiceStatus.PUBLISHED,
        refusals={ServiceStatus.PUBLISHED: "“{name}” is already published."},
    )


@transaction.atomic
def service_retire(*, actor: User, service: Service) -> Service:
    """Retire a published service: it is no longer offered, and can be published again later."""
    return _transition(
        actor=actor,
        service=service,
        to=ServiceStatus.RETIRED,
        refusals={
            ServiceStatus.RETIRED: "“{name}” is already retired.",
            ServiceStatus.DRAFT: "“{name}” is a draft and was never offered, so there is "
            "nothing to retire. Leave it as a draft until it is ready, then publish it.",
        },
    )


# ---------------------------------------------------------------------------------------------
# Questions (R1): a service's form. Requests keep their answers as asked (label, kind, value and
# text), never a reference they depend on, so editing, moving or deleting a question never
# changes or breaks a request already made.
# ---------------------------------------------------------------------------------------------


def _question_state(question: Question) -> dict:
    state = {
        "label": question.label,
        "kind": question.kind,
        "required": question.required,
        "position": question.position,
    }
    if question.choices:
        state["choices"] = list(question.choices)
    if question.help_text:
        state["help_text"] = question.help_text
    for key in ("min_value", "max_value"):
        if getattr(question, key) is not None:
            state[key] = number_text(getattr(question, key))
    if question.condition_question_id:
        state["condition"] = [
            question.condition_question_id,
            question.condition_operator,
            question.condition_value,
        ]
    return state


def _questions_locked(service: Service) -> list[Question]:
    """The service's questions in order, locked (with the service) for one change of its form."""
    Service.objects.select_for_update().filter(pk=service.pk).first()
    return list(
        Question.objects.select_for_update().filter(service=service).order_by("position", "id")
    )


def _question_check(question: Question, questions: list[Question]) -> None:
    """The question's definition, and each later question whose condition depends on it."""
    ordered = sorted(
        [q for q in questions if q.pk != question.pk] + [question],
        key=lambda q: (q.position, q.pk or 10**12),
    )
    index = ordered.index(question)
    problems = question_problems(question, ordered[:index])
    if problems:
        raise ValidationError(problems)
    for later in ordered[index + 1 :]:
        if later.condition_question_id == question.pk and question.pk is not None:
            trouble = question_problems(later, ordered[: ordered.index(later)])
            if trouble:
                raise ValidationError(
                    f"“{later.label}” is shown only when this question is "
                    f"“{later.condition_value}”, which this change makes impossible: change "
                    "or clear that condition first. " + " ".join(trouble.values())
                )


class QuestionDefinition(TypedDict):
    """What a catalog administrator says about a question: question_add's and question_update's
    arguments (the question form's cleaned_data)."""

    kind: str
    label: str
    help_text: NotRequired[str]
    required: NotRequired[bool]
    choices: NotRequired[list[str] | None]
    min_value: NotRequired[Decimal | None]
    max_value: NotRequired[Decimal | None]
    condition_question: NotRequired[Question | None]
    condition_operator: NotRequired[str]
    condition_value: NotRequired[str]


def _question_define(question: Question, definition: QuestionDefinition) -> None:
    """Set a question's definition: text trimmed, a condition's operator and value only with
    the question it depends on."""
    condition_question = definition.get("condition_question")
    question.kind = definition["kind"]
    question.label = definition["label"].strip()
    question.help_text = definition.get("help_text", "").strip()
    question.required = definition.get("required", False)
    question.choices = definition.get("choices") or []
    question.min_value = definition.get("min_value")
    question.max_value = definition.get("max_value")
    question.condition_question = condition_question
    question.condition_operator = (
        definition.get("condition_operator", "") if condition_question else ""
    )
    question.condition_value = definition.get("condition_value", "") if condition_question else ""


@transaction.atomic
def question_add(
    *, actor: User, service: Service, **definition: Unpack[QuestionDefinition]
) -> Question:
    """Add a question at the end of a service's form; its definition must make sense."""
    _require(actor, "catalog.change_service")
    questions = _questions_locked(service)
    question = Question(service=service, position=(questions[-1].position + 1) if questions else 1)
    _question_define(question, definition)
    _question_check(question, questions)
    question.full_clean(exclude=["condition_question"])
    question.save()
    audit_record(
        actor=actor,
        action="service.question_add",
        obj=service,
        after={"question": _question_state(question)},
    )
    return question


@transaction.atomic
def question_update(
    *, actor: User, question: Question, **definition: Unpack[QuestionDefinition]
) -> Question:
    """Change a question; requests already made keep the question as it was asked."""
    _require(actor, "catalog.change_service")
    questions = _questions_locked(question.service)
    current = next((q for q in questions if q.pk == question.pk), None)
    if current is None:
        raise DomainError("That question was deleted meanwhile: reload the page.")
    before = _question_state(current)
    _question_define(current, definition)
    _question_check(current, questions)
    current.full_clean(exclude=["condition_question", "service"])
    current.save()
    before, after = _changed(before, _question_state(current))
    if after:
        audit_record(
            actor=actor,
            action="service.question_update",
            obj=current.service,
            before={"question": current.pk, **before},
            after={"question": current.pk, **after},
        )
    return current


@transaction.atomic
def question_delete(*, actor: User, question: Question) -> None:
    """Delete a question no other question's condition depends on; requests keep their answers."""
    _require(actor, "catalog.change_service")
    questions = _questions_locked(question.service)
    current = next((q for q in questions if q.pk == question.pk), None)
    if current is None:
        return
    dependents = [q.label for q in questions if q.condition_question_id == current.pk]
    if dependents:
        raise DomainError(
            f"“{current.label}” can't be deleted: "
            + ", ".join(f"“{label}”" for label in dependents)
            + (" is" if len(dependents) == 1 else " are")
            + " shown only depending on its answer. Change or clear that condition first."
        )
    audit_record(
        actor=actor,
        action="service.question_delete",
        obj=current.service,
        before={"question": _question_state(current)},
    )
    current.delete()


@transaction.atomic
def question_move(*, actor: User, question: Question, direction: str) -> Question:
    """Move a question one place up or down; a question stays after the one it depends on."""
    _require(actor, "catalog.change_service")
    if direction not in ("up", "down"):
        raise DomainError("Move a question up or down.")
    questions = _questions_locked(question.service)
    index = next((i for i, q in enumerate(questions) if q.pk == question.pk), None)
    if index is None:
        raise DomainError("That question was deleted meanwhile: reload the page.")
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(questions):
        raise DomainError(
            f"“{questions[index].label}” is already the {'first' if direction == 'up' else 'last'} "
            "question."
        )
    current, other = questions[index], questions[other_index]
    first, second = (other, current) if direction == "up" else (current, other)
    if second.condition_question_id == first.pk:
        raise DomainError(
            f"“{second.label}” depends on the answer to “{first.label}”, so it must come after "
            "it. Change or clear the condition first."
        )
    # Renumber the whole form: positions stay 1..n whatever history left behind.
    questions[index], questions[other_index] = other, current
    for position, q in enumerate(questions, start=1):
        q.position = position
    Question.objects.bulk_update(questions, ["position"])
    audit_record(
        actor=actor,
        action="service.question_move",
        obj=current.service,
        after={"question": current.pk, "label": current.label, "position": current.position},
    )
    return current
