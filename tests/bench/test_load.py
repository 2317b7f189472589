"""bench/load on a tiny world: gunicorn as deployed, users signed in as a browser signs in, one
short wrk run per page. It proves the bench counts what it says it counts (every page answers its
success to a signed-in user; a trip back to the sign-in page is an error); it times nothing."""

import os

import pytest
from django.db import connection

from bench import load
from entitlements.models import ServiceRequest

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"


def test_wrk_counts_signed_in_successes_and_each_trip_back_to_sign_in_as_an_error():
    plan = load.world_build(
        people=8, services=12, assigned=10, customers=2, end_users=2, catalog_admins=1
    )
    redis = os.environ.get("TEST_REDIS_URL", load.REDIS).rstrip("/")
    with load.serving(_database_url(), redis=redis, workers=1) as base:
        sessions = load.sessions_for(base, plan)
        for page in load.pages(plan):
            stats = load.wrk(base, page, sessions[page.who], seconds=1)
            assert stats["requests"] > 0, page
            assert stats["errors"] == 0, (page, stats)
            if page.method == "POST":
                # Each submission was a new request (a fresh key), not a replay of the first.
                assert ServiceRequest.objects.count() >= stats["requests"]
            load.drain(base)
        # The questionnaire's submissions answered every question (the conditional one too).
        asked = ServiceRequest.objects.filter(service__name=load.QUESTIONS_SERVICE).last()
        assert asked.answers.count() == load.QUESTIONS
        signed_out = [{"username": "gone", "cookie": "sessionid=ended", "token": "x" * 32}]
        stats = load.wrk(base, load.pages(plan)[1], signed_out, seconds=1)
    assert stats["requests"] > 0
    assert stats["errors"] == stats["requests"]
