"""Tenancy helpers: the acting-as customer of MSP staff (T2) and scoped single-object lookups."""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

ACTING_AS_SESSION_KEY = "acting_as"


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


def get_visible_or_404(queryset: QuerySet, **lookup) -> Model:
    """One object from a queryset already scoped by a selector; anything outside it is a 404."""
    return get_object_or_404(queryset, **lookup)
