"""Ending the sessions of accounts that may no longer sign in."""

from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse


class EndedAccountSessionMiddleware:
    """A session whose account was deactivated (or deleted) ends at its next request: the
    backend already answers it as anonymous, and flushing it means re-activating the account
    does not bring the old session back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session and not request.user.is_authenticated:
            request.session.flush()
        return self.get_response(request)
