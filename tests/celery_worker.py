"""A real Celery worker in a child process, on Redis, sharing the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# `make test` (tests/servers.py) names the Redis to use: the local one, or a private one it started.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
BROKER = f"{REDIS_URL}/14"


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(BROKER).ping()
    except redis.ConnectionError:
        return False


def worker_environment(**extra: str) -> dict[str, str]:
    """The environment of a worker on an empty broker database and this test's database."""
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis at {REDIS_URL}; .ci/run starts it.")
        pytest.skip(
            f"no Redis answers at {REDIS_URL} (make test starts one if redis-server is installed)"
        )
    redis.Redis.from_url(BROKER).flushdb()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": BROKER, **extra}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def worker_command(*, pool: str, concurrency: int) -> list[str]:
    """`celery -A msp_portal worker` without the chatter a lone worker needs none of (heartbeat,
    gossip, mingle), warnings only; the tests and the benches start their workers with it."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "msp_portal",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]


@contextmanager
def running_worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    worker = subprocess.Popen(
        worker_command(pool="solo", concurrency=1),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def send(env: dict[str, str], task: str, **kwargs: object) -> None:
    """Send a task through the broker as `celery call` does from any host."""
    import json

    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "msp_portal", "call", task]
        + (["--kwargs", json.dumps(kwargs)] if kwargs else []),
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
