"""A real Celery worker, on the Redis broker, runs the periodic compliance job against the database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from accounts.models import User
from customers.services import msp_enable
from tests.accounts.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/14"


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(BROKER).ping()
    except redis.ConnectionError:
        return False


@pytest.fixture
def worker_env():
    if connection.vendor != "postgresql":
        pytest.skip("the worker test shares the test database, which needs PostgreSQL")
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Redis on 127.0.0.1:6379; .ci/run starts it.")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    redis.Redis.from_url(BROKER).flushdb()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": BROKER}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_compliance_job_sent_through_redis(worker_env):
    msp_enable(actor=None)
    UserFactory(username="slipped-in", is_external=True)

    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "msp_portal",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "msp_portal",
                "call",
                "customers.msp_compliance",
            ],
            cwd=ROOT,
            env=worker_env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and User.objects.get(username="slipped-in").is_active:
            time.sleep(0.25)
        assert not User.objects.get(username="slipped-in").is_active
    finally:
        worker.terminate()
        worker.wait(timeout=30)
