"""A memo that lives for one request: a fact several layers ask while serving the same page
(is MSP mode on, which customer is this person's) is read from the database once.

Nothing outlives the request, so a change still shows on the next page (E2). Outside a request
(Celery tasks, management commands, tests calling services) nothing is memoised at all.
"""

from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import TypeVar

from django.http import HttpRequest, HttpResponse

T = TypeVar("T")

_memo: ContextVar[dict | None] = ContextVar("request_memo", default=None)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """compute() once per request for key; every call outside a request computes afresh."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(key: Hashable) -> None:
    """Drop key after a write that changes it, so the rest of the request reads it again."""
    memo = _memo.get()
    if memo is not None:
        memo.pop(key, None)


def forget_all() -> None:
    memo = _memo.get()
    if memo is not None:
        memo.clear()


class RequestMemoMiddleware:
    """Give each request an empty memo, and drop it when the response is ready."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _memo.set({})
        try:
            return self.get_response(request)
        finally:
            _memo.reset(token)
