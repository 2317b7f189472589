"""Idempotency-Key (item 4), rate limits (item 3) and audited token writes (item 2)."""

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.urls import reverse

from api.models import ApiToken
from api.throttles import window_count
from credits.models import CreditEntry
from customers.services import customer_settings_update
from entitlements.models import ServiceRequest
from msp_portal.models import AuditEvent
from tests.api.conftest import ApiClient, make_token


@pytest.fixture
def credits_on(tenant_a, catalog_admin):
    customer_settings_update(
        actor=catalog_admin,
        customer=tenant_a["customer"],
        credit_management=True,
        alert_threshold=None,
    )
    return tenant_a["customer"]


def test_a_replayed_grant_returns_the_first_answer_and_grants_once(
    api_as, catalog_admin, credits_on
):
    api = api_as(catalog_admin)
    url = reverse("api:v1:credit_grant", args=[credits_on.pk])
    key = str(uuid.uuid4())
    first = api.post(url, {"amount": "100", "reason": "PO 1"}, **{"Idempotency-Key": key})
    again = api.post(url, {"amount": "100", "reason": "PO 1"}, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert CreditEntry.objects.filter(account__customer=credits_on).count() == 1
    assert Decimal(first.json()["balance"]) == Decimal("100.00")


def test_the_same_key_with_another_body_is_422(api_as, catalog_admin, credits_on):
    api = api_as(catalog_admin)
    url = reverse("api:v1:credit_grant", args=[credits_on.pk])
    api.post(url, {"amount": "100", "reason": "PO 1"}, **{"Idempotency-Key": "k-1"})
    response = api.post(url, {"amount": "999", "reason": "PO 1"}, **{"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "new key" in response.json()["detail"]
    assert CreditEntry.objects.filter(account__customer=credits_on).count() == 1


def test_a_replayed_request_makes_one_request_and_one_debit(
    api_as, tenant_a, credits_on, catalog_admin
):
    from credits.services import credit_grant

    credit_grant(actor=catalog_admin, customer=credits_on, amount=Decimal(1000), reason="start")
    api = api_as(tenant_a["eve"])
    body = {"service": tenant_a["service"].pk, "quantity": 1, "justification": "new laptop"}
    first = api.post(reverse("api:v1:request_list"), body, **{"Idempotency-Key": "req-1"})
    again = api.post(reverse("api:v1:request_list"), body, **{"Idempotency-Key": "req-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert ServiceRequest.objects.filter(requester=tenant_a["eve"]).count() == 1
    assert CreditEntry.objects.filter(account__customer=credits_on, kind="debit").count() == 1


def test_a_refused_call_is_not_remembered(api_as, catalog_admin, credits_on):
    api = api_as(catalog_admin)
    url = reverse("api:v1:credit_grant", args=[credits_on.pk])
    refused = api.post(url, {"amount": "-5", "reason": "x"}, **{"Idempotency-Key": "k-2"})
    assert refused.status_code == 400
    fixed = api.post(url, {"amount": "5", "reason": "x"}, **{"Idempotency-Key": "k-2"})
    assert fixed.status_code == 201


def test_an_unusable_key_is_400(api_as, catalog_admin, credits_on):
    api = api_as(catalog_admin)
    url = reverse("api:v1:credit_grant", args=[credits_on.pk])
    response = api.post(url, {"amount": "5", "reason": "x"}, **{"Idempotency-Key": "k" * 201})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not CreditEntry.objects.exists()


def test_a_token_over_its_rate_gets_429_with_retry_after(settings, customer_admin):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min", "address": "1000/min"},
    }
    api = ApiClient(make_token(customer_admin))
    statuses = [api.get(reverse("api:v1:request_list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get(reverse("api:v1:request_list"))
    assert int(limited["Retry-After"]) > 0
    assert limited["Content-Type"] == "application/problem+json"
    assert "Try again in" in limited.json()["detail"]
    # Another token of the same person has its own count.
    assert (
        ApiClient(make_token(customer_admin)).get(reverse("api:v1:request_list")).status_code == 200
    )


def test_an_address_over_its_rate_gets_429(settings, customer_admin, end_user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "1000/min", "address": "2/min"},
    }
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    tokens = [make_token(customer_admin), make_token(end_user), make_token(end_user)]
    statuses = [
        ApiClient(t)
        .client.get(
            reverse("api:v1:request_list"),
            headers={"Authorization": f"Bearer {t}"},
            REMOTE_ADDR=address,
        )
        .status_code
        for t in tokens
    ]
    assert statuses[:2] == [200, 200] and statuses[2] == 429


def test_a_write_with_a_token_is_audited_naming_the_token(api_as, catalog_admin, credits_on):
    api = api_as(catalog_admin)
    api.post(reverse("api:v1:credit_grant", args=[credits_on.pk]), {"amount": "5", "reason": "x"})
    token = ApiToken.objects.get(owner=catalog_admin)
    event = AuditEvent.objects.get(action="api_token.write")
    assert event.actor == catalog_admin
    assert event.object_id == str(token.pk)
    assert token.prefix in event.message and "credits/grant" in event.message
    assert (
        AuditEvent.objects.filter(action="credit.grant").exists()
        or AuditEvent.objects.filter(action__startswith="credit").exists()
    )


def test_a_read_is_not_audited(api_as, catalog_admin):
    api_as(catalog_admin).get(reverse("api:v1:customer_list"))
    assert not AuditEvent.objects.filter(action="api_token.write").exists()


def test_guessing_tokens_from_one_address_is_limited_too(settings, db):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "1000/min", "address": "2/min"},
    }
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"
    statuses = [
        ApiClient(None)
        .client.get(
            reverse("api:v1:request_list"),
            headers={"Authorization": f"Bearer msp_guess{i}"},
            REMOTE_ADDR=address,
        )
        .status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429]


@pytest.fixture
def redis_cache(settings):
    """The shared cache as deployed (Redis), under a prefix of this test's own."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"{url}/14",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


def test_on_redis_a_token_over_its_rate_gets_429(settings, redis_cache, customer_admin):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min", "address": "1000/min"},
    }
    api = ApiClient(make_token(customer_admin))
    statuses = [api.get(reverse("api:v1:request_list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(api.get(reverse("api:v1:request_list"))["Retry-After"]) <= 60


@pytest.mark.parametrize("cache", ["redis", "locmem"])
def test_calls_at_the_same_moment_are_each_counted(request, cache):
    """Each call is counted once, however many arrive at once (DRF's own throttle reads and
    writes back a list, so two calls at once could be counted as one)."""
    if cache == "redis":
        request.getfixturevalue("redis_cache")
    key = f"count-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: window_count(key, 60), range(40)))
    assert sorted(counts) == list(range(1, 41))
    # Counted in the cache's own namespace (its server, database and key prefix).
    assert caches["default"].get(key) == 40
