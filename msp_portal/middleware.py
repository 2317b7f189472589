"""Middleware of the lowest layer that every response passes through."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreWhenSignedInMiddleware:
    """Mark every response to a signed-in person `Cache-Control: private, no-store`.

    Their pages and exports (ledger and request CSVs) hold one customer's data: neither a shared
    proxy nor the browser's disk may keep a copy for the next person at that computer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
