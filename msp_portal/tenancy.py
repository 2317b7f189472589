"""Tenancy (T1, T2): who may see which rows, asked in one place, and the acting-as customer.

Every model a page, the API, an export or a picker reads is registered here with a scope rule
(as NetBox's `RestrictedQuerySet.restrict(user, action)`): a function of the user and the action
that returns the Q selecting the rows that user may see or change. The rules of the tenant-owned
models are written in `customers/scope.py`, which decides which customer a user belongs to and
whether a user administers a customer; lower layers register permission rules for their own
shared data (the catalog, people groups). Reading an unregistered model is a programming error.
"""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

ACTING_AS_SESSION_KEY = "acting_as"

VIEW = "view"
CHANGE = "change"
ACTIONS = (VIEW, CHANGE)
NOTHING = Q(pk__in=[])

ScopeRule = Callable[[object, str], Q]
_SCOPES: dict[type[Model], ScopeRule] = {}


def scope_register(model: type[Model], rule: ScopeRule) -> None:
    """Declare how rows of model are narrowed to what a user may see (VIEW) or change (CHANGE)."""
    _SCOPES[model] = rule


def by_permission(view_perm: str, change_perm: str | None = None) -> ScopeRule:
    """A rule for data shared by everyone who holds a role: all rows with the permission, else none."""

    def rule(user, action: str) -> Q:
        perm = change_perm if action == CHANGE and change_perm else view_perm
        return Q() if user.is_authenticated and user.has_perm(perm) else NOTHING

    return rule


def visible_to(user, source: type[Model] | QuerySet, /, action: str = VIEW) -> QuerySet:
    """The rows of source (a model or a queryset of it) that user may see or change."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown tenancy action {action!r}; use one of {ACTIONS}.")
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    return queryset.filter(_rule(queryset.model)(user, action))


def sees_all(user, model: type[Model], /, action: str = VIEW) -> bool:
    """Whether visible_to narrows nothing of model for user (MSP staff of the role, say)."""
    return not _rule(model)(user, action)  # Q() is empty, NOTHING is a condition


def _rule(model: type[Model]) -> ScopeRule:
    rule = _SCOPES.get(model)
    if rule is None:
        raise ImproperlyConfigured(
            f"{model._meta.label} has no tenancy scope: register one with "
            "msp_portal.tenancy.scope_register in its app's scope module."
        )
    return rule


def get_visible_or_404(
    user, source: type[Model] | QuerySet, /, action: str = VIEW, **lookup
) -> Model:
    """One object the user may see (or change); anything outside their scope is a 404 (T1)."""
    return get_object_or_404(visible_to(user, source, action), **lookup)


@dataclass(frozen=True)
class ActingAs:
    """The customer an MSP staff member is acting for, shown in the banner and on every write."""

    customer_id: int
    label: str


_acting_as: ContextVar[ActingAs | None] = ContextVar("acting_as", default=None)


def current_acting_as() -> ActingAs | None:
    """The acting-as customer of the request being served, or None."""
    return _acting_as.get()


def acting_as_from_session(session) -> ActingAs | None:
    """Read the acting-as customer stored in a session by the switch-company view."""
    raw = session.get(ACTING_AS_SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return ActingAs(customer_id=int(raw["customer_id"]), label=str(raw["label"]))
    except (KeyError, TypeError, ValueError):
        return None


class ActingAsMiddleware:
    """Expose the acting-as customer as request.acting_as and to audit_record for the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        acting_as = None
        if request.user.is_authenticated and request.user.is_staff:
            acting_as = acting_as_from_session(request.session)
        request.acting_as = acting_as
        token = _acting_as.set(acting_as)
        try:
            return self.get_response(request)
        finally:
            _acting_as.reset(token)
