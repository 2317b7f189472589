"""The portal's URLs and, under bench/load's settings only, a minimal view to measure pages by."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def minimal(request: HttpRequest) -> HttpResponse:
    """The floor of any page: the whole middleware stack and nothing of the view's own."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/minimal/", minimal, name="bench_minimal"),
    path("", include("msp_portal.urls")),
]
