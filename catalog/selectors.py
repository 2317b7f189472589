"""Reads of the catalog: the whole catalog for catalog staff, published services for pickers."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from msp_portal.models import AuditEvent

from .models import Category, Question, Service, ServiceStatus

HISTORY_SIZE = 10


def _search(services: QuerySet[Service], query: str) -> QuerySet[Service]:
    for word in query.split():
        services = services.filter(Q(name__icontains=word) | Q(description__icontains=word))
    return services


def service_list(
    *,
    user,
    query: str = "",
    category: Category | None = None,
    status: str | None = None,
) -> QuerySet[Service]:
    """Services the user may see (all of them for catalog staff, none otherwise), by name.

    Every word of query must appear in the name or the description.
    """
    if not user.has_perm("catalog.view_service"):
        return Service.objects.none()
    services = Service.objects.select_related("category").order_by("name", "id")
    if category is not None:
        services = services.filter(category=category)
    if status:
        services = services.filter(status=status)
    return _search(services, query)


def service_published_list(query: str = "") -> QuerySet[Service]:
    """Published services by name, for pickers that assign services to customers."""
    services = (
        Service.objects.filter(status=ServiceStatus.PUBLISHED)
        .select_related("category")
        .order_by("name", "id")
    )
    return _search(services, query)


def question_list(*, service: Service) -> list[Question]:
    """A service's questions in the order the form asks them (one query)."""
    return list(Question.objects.filter(service=service).order_by("position", "id"))


def questions_before(questions: list[Question], question: Question) -> list[Question]:
    """The questions asked before question (those its condition may depend on)."""
    return [q for q in questions if (q.position, q.pk) < (question.position, question.pk)]


def category_list(*, user) -> QuerySet[Category]:
    """Categories the user may see (all of them for catalog staff, none otherwise), by name."""
    if not user.has_perm("catalog.view_category"):
        return Category.objects.none()
    return Category.objects.order_by("name", "id")


def category_list_with_counts(*, user) -> QuerySet[Category]:
    """category_list with the number of services filed under each category."""
    return category_list(user=user).annotate(service_count=Count("services"))


@dataclass(frozen=True)
class HistoryEntry:
    """One audited change of a service, each changed field as (label, before, after).

    before and after are both None for a field whose values are not worth showing.
    """

    at: datetime
    actor: str
    verb: str
    changes: list[tuple[str, object, object]]


HISTORY_VERBS = {
    "service.create": "Created",
    "service.update": "Edited",
    "service.publish": "Published",
    "service.retire": "Retired",
    "service.question_add": "Question added",
    "service.question_update": "Question changed",
    "service.question_delete": "Question deleted",
    "service.question_move": "Question moved",
}
FIELD_LABELS = {
    "name": "Name",
    "description": "Description",
    "category": "Category",
    "status": "Status",
    "price": "Price",
    "min_quantity": "Minimum quantity",
    "max_quantity": "Maximum quantity",
    "approval_policy": "Approval",
    "approval_threshold": "Approval above",
}


QUESTION_LABELS = {
    "label": "Question",
    "kind": "Answer",
    "required": "Required",
    "choices": "Choices",
    "min_value": "Smallest",
    "max_value": "Largest",
    "condition": "Condition",
}


def _question_named(action: str, before: dict, after: dict) -> str:
    """“: <label>” for a question's audited change, from whichever side names it."""
    state = after.get("question") if action == "service.question_add" else before.get("question")
    label = state.get("label") if isinstance(state, dict) else after.get("label")
    return f": “{label}”" if label else ""


def service_history(*, service: Service) -> list[HistoryEntry]:
    """The latest audited changes of one service, newest first."""
    events = AuditEvent.objects.filter(
        object_type="catalog.service", object_id=str(service.pk)
    ).order_by("-at", "-id")[:HISTORY_SIZE]
    entries = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        changes = []
        if event.action == "service.update":
            # A description is too long to show twice; saying that it changed is enough.
            changes = [
                (label, *((None, None) if key == "description" else (before.get(key), after[key])))
                for key, label in FIELD_LABELS.items()
                if key in after
            ]
        verb = HISTORY_VERBS.get(event.action, event.action)
        if event.action.startswith("service.question_"):
            verb += _question_named(event.action, before, after)
            if event.action == "service.question_update":
                changes = [
                    (label, before.get(key), after[key])
                    for key, label in QUESTION_LABELS.items()
                    if key in after
                ]
        entries.append(
            HistoryEntry(at=event.at, actor=event.actor_label, verb=verb, changes=changes)
        )
    return entries
