"""Bad input on every write of the JSON API (issue 18 item 6): hostile JSON bodies, bodies that
are not objects or not JSON at all, as a persona allowed to write. Never a 500; every refusal a
problem (RFC 9457) naming the fields to correct; a refused call writes nothing."""

import json
import re

import pytest
from django.db import connection
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import UNLIMITED, ApiClient, make_token

from .access import CATALOG_ADMIN, CUSTOMER_ADMIN, END_USER, SYSTEM_ADMIN
from .access_api import API_ACCESS
from .test_bad_input import invariants_hold

PREFERENCE = [CATALOG_ADMIN, SYSTEM_ADMIN, CUSTOMER_ADMIN, END_USER]
HOSTILE = st.one_of(
    st.sampled_from(
        ["", " ", "0", "-1", "1e309", "NaN", "99999999999999999999", "\x00", "é" * 300, "<b>x</b>"]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(max_size=50),
)
WRITES = sorted(route for route, access in API_ACCESS.items() if route[1] == "post")
REFUSED = {400, 403, 404, 409, 422}


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": UNLIMITED}


def _body_fields(path: str) -> list[str]:
    """The fields the schema documents for a POST to path (the body hypothesis fills)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for template, operations in schema["paths"].items():
        pattern = template
        for part in template.split("/"):
            if part.startswith("{"):
                pattern = pattern.replace(part, "[^/]+")
        if re.fullmatch(pattern, path) and "post" in operations:
            body = operations["post"].get("requestBody", {})
            ref = body.get("content", {}).get("application/json", {}).get("schema", {})
            name = ref.get("$ref", "").rsplit("/", 1)[-1]
            return sorted(schema["components"]["schemas"].get(name, {}).get("properties", {}))
    return []


def _snapshot() -> dict[str, int]:
    """Rows per table, to prove a refused call wrote nothing."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            if table.startswith(("django_session", "axes_")):
                continue
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.parametrize("route", WRITES, ids=lambda r: r[0])
def test_hostile_bodies_never_break_an_api_write(world, personas, route):
    access = API_ACCESS[route]
    persona = next(p for p in PREFERENCE if p in access.allowed)
    api = ApiClient(make_token(personas[persona]))
    url = reverse(route[0], kwargs=access.kwargs(world))
    fields = _body_fields(url)

    def refused_cleanly(response, before) -> None:
        assert response.status_code < 500
        if response.status_code in REFUSED:
            assert response["Content-Type"] == "application/problem+json"
            problem = response.json()
            assert problem["detail"] and problem["status"] == response.status_code
            if response.status_code == 400 and "errors" in problem:
                assert all(isinstance(m, list) and m for m in problem["errors"].values())
            after = _snapshot()
            # The token's last use may be recorded; nothing else may change.
            assert before == after, f"a refused {url} changed rows"
        invariants_hold()

    for raw in ("[]", '"text"', "null", "{not json", "1"):
        before = _snapshot()
        response = api.client.post(url, raw, content_type="application/json", headers=api.headers)
        if fields:
            assert response.status_code == 400, (raw, response.status_code)
        refused_cleanly(response, before)
    before = _snapshot()
    response = api.client.post(url, "a=1", content_type="text/plain", headers=api.headers)
    if fields:
        assert response.status_code in (400, 415)
    refused_cleanly(response, before)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.fixed_dictionaries({}, optional={f: HOSTILE for f in fields}))
    def hostile(body):
        before = _snapshot()
        try:
            text = json.dumps(body)
        except ValueError:
            return
        response = api.client.post(url, text, content_type="application/json", headers=api.headers)
        refused_cleanly(response, before)

    hostile()
