"""Tokens for the personas, and a client that calls the API with one."""

import json
import secrets
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from api.services import TOKEN_PREFIX, token_digest


def make_token(user, *, read_only: bool = False) -> str:
    """A token of user's, stored as api_token_create stores one (its own tests cover the page
    and the staff's second factor)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        owner=user,
        name="test",
        prefix=secret[:12],
        digest=token_digest(secret),
        read_only=read_only,
        expires_at=timezone.now() + timedelta(days=30),
    )
    return secret


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None):
        # An address of its own: rate limits counted in a shared cache never mix two tests.
        self.client = Client(
            REMOTE_ADDR=f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        )
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, url, params=None, **headers):
        return self.client.get(url, params or {}, headers={**self.headers, **headers})

    def post(self, url, body=None, **headers):
        return self.client.post(
            url,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers={**self.headers, **headers},
        )

    def delete(self, url, **headers):
        return self.client.delete(url, headers={**self.headers, **headers})


UNLIMITED = {"token": "100000/min", "address": "100000/min"}


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    """Tests call far faster than people: the rate-limit tests set their own, low, limits."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": UNLIMITED}


@pytest.fixture
def api_as():
    """api_as(user) → an ApiClient with a new read-write token of user's."""

    def build(user, *, read_only: bool = False) -> ApiClient:
        return ApiClient(make_token(user, read_only=read_only) if user is not None else None)

    return build
