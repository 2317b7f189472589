"""The API against its own OpenAPI schema (A1): schemathesis generates calls to every operation,
as a catalog administrator and as a customer administrator, through the WSGI application.
No call may answer 500, and every answer must match the schema (status, media type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


# Loaded through the WSGI application as a client would load it; the schema holds no data.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def connection_kept_between_calls(db):
    """As Django's test client does: the test's transaction holds the connection, so the end of
    each call must not close it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credits_on(tenant_a, tenant_b, catalog_admin):
    from customers.services import customer_settings_update

    for tenant in (tenant_a, tenant_b):
        customer_settings_update(
            actor=catalog_admin,
            customer=tenant["customer"],
            credit_management=True,
            alert_threshold=None,
        )


@schema.parametrize()
@SETTINGS
def test_api_matches_its_schema_as_catalog_administrator(case, catalog_admin, credits_on):
    token = make_token(catalog_admin)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_api_matches_its_schema_as_customer_administrator(case, customer_admin, credits_on):
    token = make_token(customer_admin)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
