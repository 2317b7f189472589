"""The isolation harness for the JSON API (T1, A1): every route and method, as every persona
calling with a token of their own; the same 404/403 as the pages, 401 without a token."""

import pytest
from django.urls import reverse

from tests.api.conftest import UNLIMITED, ApiClient, make_token

from .access import ANONYMOUS, PERSONAS
from .access_api import API_ACCESS
from .test_isolation import project_urls

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": UNLIMITED}


def api_routes() -> set[tuple[str, str]]:
    """(url name, method) of every JSON API route the URL conf serves."""
    routes = set()
    for route in project_urls():
        if route.namespace == "api:v1" and route.name:
            view = getattr(route.callback, "cls", None) or getattr(
                route.callback, "view_class", None
            )
            routes |= {(route.name, m) for m in METHODS if view is not None and hasattr(view, m)}
    return routes


def test_every_api_route_is_classified():
    unclassified = sorted(f"{n} {m.upper()}" for n, m in api_routes() - set(API_ACCESS))
    assert not unclassified, (
        "Classify these API routes in tests/security/access_api.py: " + ", ".join(unclassified)
    )


def test_no_api_classification_is_stale():
    assert set(API_ACCESS) <= api_routes()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", sorted(API_ACCESS), ids=lambda r: f"{r[0]}-{r[1]}")
def test_each_persona_gets_exactly_what_it_may_with_a_token(world, personas, route, persona):
    url_name, method = route
    access = API_ACCESS[route]
    api = ApiClient(None if persona == ANONYMOUS else make_token(personas[persona]))
    url = reverse(url_name, kwargs=access.kwargs(world))
    response = getattr(api, method)(url)
    status = response.status_code
    if access.public:
        assert status == 200
    elif persona == ANONYMOUS:
        assert status == 401, f"{url} without a token must answer 401, got {status}"
        assert response["WWW-Authenticate"].startswith("Bearer")
    elif persona in access.allowed:
        assert status in access.ok, f"{persona} should reach {method} {url}, got {status}"
    else:
        refused = access.refused_with(persona)
        assert status == refused, f"{persona} must get {refused} on {method} {url}, got {status}"
    if status >= 400:
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status and problem["detail"] and problem["title"]
