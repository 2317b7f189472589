"""Shared set-up of the benchmarks: one PostgreSQL database of their own, migrated once."""

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH_DB = "msp_bench"
ROOT = Path(__file__).resolve().parents[1]


def django_setup(dbname: str = BENCH_DB) -> None:
    """Point Django at a benchmark database on the local PostgreSQL (created if missing) and migrate."""
    import django
    from django.apps import apps

    if apps.ready:
        return
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    url = base.rsplit("/", 1)[0] + f"/{dbname}"
    _create_database(base, dbname)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-bench-only-secret-key-0123456789")
    os.environ.setdefault("HTTPS_ONLY", "false")
    os.environ.setdefault("STATIC_MANIFEST", "false")
    os.environ.setdefault("WHITENOISE_USE_FINDERS", "true")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _create_database(base_url: str, dbname: str) -> None:
    import psycopg2
    from psycopg2 import sql

    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    conn.close()


def timed(fn: Callable[[], object], *, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of fn in seconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def row(
    name: str, value, unit: str, *, target: str = "", reference=None, ratio=None, ok=None
) -> dict:
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "target": target,
        "reference": reference,
        "ratio": ratio,
        "ok": ok,
    }


def celery_bench_setup(dbname: str, broker: str) -> None:
    """Django on the bench's own database, its tasks sent to the bench's own (emptied) Redis
    database: a real worker takes them, so eager tasks would measure nothing."""
    os.environ["CELERY_BROKER_URL"] = broker
    django_setup(dbname)
    import redis
    from django.conf import settings

    assert not settings.CELERY_TASK_ALWAYS_EAGER, "the bench needs the broker, not eager tasks"
    redis.Redis.from_url(broker).flushdb()


@contextmanager
def celery_worker(*, pool: str, concurrency: int, **settings: str) -> Iterator[subprocess.Popen]:
    """`celery -A msp_portal worker` in a child process, quiet, with this process's environment
    plus `settings` (as environment variables), stopped on leaving."""
    env = {**os.environ, **settings}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    from tests.celery_worker import worker_command

    worker = subprocess.Popen(
        worker_command(pool=pool, concurrency=concurrency),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
