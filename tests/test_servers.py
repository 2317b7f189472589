"""tests/servers.py, which `make test` runs the suite through: the local PostgreSQL and Redis
when they answer, else private ones started for the run and stopped after it."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import redis
from django.db import connection

from tests.servers import free_port, redis_binary

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import os, psycopg2, redis
psycopg2.connect(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres").close()
print(os.environ["DATABASE_URL"])
print(os.environ["TEST_REDIS_URL"])
try:
    print(redis.Redis.from_url(os.environ["TEST_REDIS_URL"], socket_connect_timeout=2).ping())
except redis.RedisError:
    print("no redis")
"""


def _run_through_servers(**env: str) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_REDIS_URL", "CI"}
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.servers", "--", sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_where_nothing_answers_private_servers_serve_the_run_and_stop_after_it():
    unused_pg, unused_redis = free_port(), free_port()
    result = _run_through_servers(LOCAL_PG_PORT=str(unused_pg), LOCAL_REDIS_PORT=str(unused_redis))
    assert result.returncode == 0, result.stderr
    database_url, redis_url, ping = result.stdout.split()
    assert "started a private PostgreSQL" in result.stderr
    assert database_url.startswith("postgres://postgres@127.0.0.1:")
    assert not database_url.startswith(f"postgres://postgres@127.0.0.1:{unused_pg}/")
    if redis_binary() is not None:
        assert "started a private Redis" in result.stderr
        assert ping == "True" and not redis_url.endswith(f":{unused_redis}")
    # Both are gone with the run.
    try:
        psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=2)
    except psycopg2.OperationalError:
        pass
    else:
        raise AssertionError("the private PostgreSQL still answers after the run")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pass
    else:
        raise AssertionError("the private Redis still answers after the run")


def test_the_local_server_is_used_when_it_answers():
    """The server this suite runs on stands in for the local one."""
    port = connection.settings_dict["PORT"] or "5432"
    result = _run_through_servers(LOCAL_PG_PORT=str(port))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == f"postgres://postgres@127.0.0.1:{port}/test"
    assert "started a private PostgreSQL" not in result.stderr


def test_a_given_database_url_is_used_as_it_is():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/test"
    result = _run_through_servers(DATABASE_URL=url, LOCAL_PG_PORT=str(free_port()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == url
    assert "started a private PostgreSQL" not in result.stderr
