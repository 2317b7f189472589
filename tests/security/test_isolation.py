"""The isolation harness (T1): every URL of the project, as every persona."""

from collections.abc import Callable
from typing import NamedTuple

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .access import (
    ACCESS,
    ANONYMOUS,
    NAMESPACES_ELSEWHERE,
    NAMESPACES_STAFF_ONLY,
    PERSONAS,
)


class Route(NamedTuple):
    name: str | None  # namespaced
    pattern: str
    namespace: str
    callback: Callable


def _walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if namespace and entry.namespace
                else (entry.namespace or namespace)
            )
            yield from _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(name, str(entry.pattern), namespace, entry.callback)


def project_urls() -> list[Route]:
    """Every URL pattern of the project, with its namespaced name (the API harness reads it too)."""
    return list(_walk(get_resolver().url_patterns))


def test_every_url_is_classified():
    unclassified = sorted(
        f"{name or '<unnamed>'} ({pattern})"
        for name, pattern, namespace, _view in project_urls()
        if namespace.split(":")[0] not in NAMESPACES_STAFF_ONLY
        and namespace not in NAMESPACES_ELSEWHERE
        and name not in ACCESS
    )
    assert not unclassified, (
        "Classify these URLs in tests/security/access.py (who may open them): "
        + ", ".join(unclassified)
    )


def test_no_classification_is_stale():
    names = {route.name for route in project_urls()}
    assert set(ACCESS) <= names


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("url_name", sorted(ACCESS))
def test_each_persona_gets_exactly_what_it_may(client, world, personas, url_name, persona):
    access = ACCESS[url_name]
    if persona != ANONYMOUS:
        client.force_login(personas[persona])
    url = reverse(url_name, kwargs=access.kwargs(world))
    response = getattr(client, access.method)(url)
    status = response.status_code
    if access.public:
        assert status in access.ok | {200, 302}
    elif persona in access.allowed:
        assert status in access.ok, f"{persona} should reach {url}, got {status}"
    elif persona == ANONYMOUS:
        assert status == 302
        assert response.url.startswith(reverse("login"))
    else:
        refused = access.refused_with(persona)
        assert status == refused, f"{persona} must get {refused} on {url}, got {status}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_django_admin_is_for_msp_staff_only(client, personas, persona):
    if persona != ANONYMOUS:
        client.force_login(personas[persona])
    response = client.get(reverse("admin:index"))
    staff = persona in ("system_admin", "catalog_admin")
    assert response.status_code == (200 if staff else 302)


HOME_LANDING = {
    "system_admin": None,
    "catalog_admin": None,
    "plain_user": None,
    "customer_admin": "entitlements:home",
    "end_user": "portal:catalog",
    "outsider": "entitlements:home",
    "outsider_end_user": "portal:catalog",
}


@pytest.mark.parametrize("persona", sorted(HOME_LANDING))
def test_home_lands_each_persona_on_its_own_page(client, personas, persona):
    """Staff and people without a customer see the dashboard; the others their own landing."""
    client.force_login(personas[persona])
    response = client.get(reverse("home"))
    landing = HOME_LANDING[persona]
    if landing is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.url == reverse(landing)
