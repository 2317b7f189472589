"""What the fault drills break and mend: PostgreSQL, a Redis of their own, Celery workers.

The drills restart the PostgreSQL cluster the test database lives on, so they never run beside
other tests: `pytest -m drill -p no:xdist`, after the main run (`-m "not drill"`). The shared
Redis on 6379 is never touched; every drill that needs a broker starts its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection, connections

ROOT = Path(__file__).resolve().parents[2]
# Fast shutdown: every session is cut off at once, as in a failover or a crash-restart.
# No persistence: a restarted broker comes back empty, the harder case for lost work.
REDIS_SERVER = ("redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
WORKER_OPTIONS = (
    "--concurrency=1",
    "--without-heartbeat",
    "--without-gossip",
    "--without-mingle",
    "--loglevel=INFO",
)
PG_CTLCLUSTER = ("pg_ctlcluster", "--skip-systemctl-redirect", "--mode", "fast")


def unavailable(reason: str) -> None:
    """Nothing may be skipped in CI; locally a drill skips what this machine can't do."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run every fault drill: {reason}")
    pytest.skip(reason)


def wait_for(
    check: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    details: Callable[[], str] = str,
    every: float = 0.1,
) -> Any:
    """Poll `check` until it returns something truthy; after `timeout` s fail with `what` and
    `details()` (a worker's log, read at that moment)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}\n{details()}")
        time.sleep(every)


def checksum(rows: dict[str, tuple]) -> str:
    """One digest of a whole mirror (or source) snapshot, independent of row order."""
    digest = hashlib.sha256()
    for key in sorted(rows):
        digest.update(repr((key, rows[key])).encode())
    return digest.hexdigest()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def _alone():
    """A drill beside other tests of a parallel run would cut their connections too."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        unavailable("fault drills restart services and must run alone: pytest -m drill -p no:xdist")


# --- PostgreSQL -------------------------------------------------------------------------------


class Cluster:
    """The local PostgreSQL cluster serving the test database, restarted as root would."""

    def __init__(self, version: str, name: str, port: int) -> None:
        self.version, self.name, self.port = version, name, port

    def _ctl(self, action: str) -> None:
        subprocess.run(
            [*PG_CTLCLUSTER, self.version, self.name, action],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def is_ready(self) -> bool:
        ready = subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], timeout=10
        )
        return ready.returncode == 0

    def restart(self) -> float:
        """Restart (fast shutdown: every session is cut off) and wait until it answers again."""
        started = time.monotonic()
        self._ctl("restart")
        wait_for(self.is_ready, timeout=30, what="PostgreSQL to accept connections again")
        return time.monotonic() - started

    def ensure_up(self) -> None:
        if not self.is_ready():
            self._ctl("start")
            wait_for(self.is_ready, timeout=30, what="PostgreSQL to start")


class PrivateCluster(Cluster):
    """The throw-away cluster `make test` started when no local one answered (tests/servers.py),
    restarted with its own pg_ctl as its owner."""

    def __init__(self, port: int) -> None:
        super().__init__("private", os.environ["TEST_PG_DATA"], port)
        self.bin = Path(os.environ["TEST_PG_BIN"])
        self.user = os.environ.get("TEST_PG_USER") or None

    def _ctl(self, action: str) -> None:
        from tests.servers import run_as

        # Without -o, pg_ctl restarts with the options the cluster was started with; the log
        # goes on in its file (on pg_ctl's output, the server would hold this call open).
        log = str(Path(self.name).parent / "postgres.log")
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", self.name, "-l", log, "-m", "fast", "-w"]
        run_as(self.user, [*pg_ctl, action], timeout=60)

    def is_ready(self) -> bool:
        from tests.servers import postgres_answers

        return postgres_answers(self.port)


def _local_cluster() -> Cluster:
    if connection.vendor != "postgresql":
        unavailable("the drills restart PostgreSQL, and the test database is not on PostgreSQL")
    host = connection.settings_dict.get("HOST") or "localhost"
    if host not in {"127.0.0.1", "localhost", "::1"}:
        unavailable(f"the test database is on {host}, not on a cluster of this machine")
    if os.environ.get("TEST_PG_DATA"):
        return PrivateCluster(int(connection.settings_dict.get("PORT") or 5432))
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        unavailable(
            "pg_ctlcluster is missing (postgresql-common), so PostgreSQL can't be restarted"
        )
    if os.geteuid() != 0:
        unavailable("restarting PostgreSQL with pg_ctlcluster needs root")
    port = int(connection.settings_dict.get("PORT") or 5432)
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], check=True, capture_output=True, text=True
    ).stdout
    for line in listing.splitlines():
        version, name, cluster_port, *_rest = line.split()
        if int(cluster_port) == port:
            return Cluster(version, name, port)
    unavailable(f"no local PostgreSQL cluster listens on port {port}")
    raise AssertionError  # unreachable: unavailable() always raises


@pytest.fixture
def postgres(transactional_db) -> Iterator[Cluster]:
    """The cluster to restart; whatever happens, it is up and reconnected when the test ends.

    It depends on the database fixture so that it is torn down first: the database flush after
    the test needs the cluster back.
    """
    cluster = _local_cluster()
    try:
        yield cluster
    finally:
        cluster.ensure_up()
        connections.close_all()


# --- Redis ------------------------------------------------------------------------------------


class OwnRedis:
    """A throw-away Redis on a free port, without persistence, that the drill may stop."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_connect_timeout=2, socket_timeout=5)

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - kept open by the server
        self.process = subprocess.Popen(
            [*REDIS_SERVER, "--port", str(self.port), "--dir", str(self.workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(self.ping, timeout=15, what=f"Redis on port {self.port} to answer")

    def stop(self) -> None:
        if self.process is None:
            return
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
        )
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- Celery workers ---------------------------------------------------------------------------


class Worker:
    """A real `celery worker` process on the drill's broker and the pytest test database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "msp_portal", "worker", *WORKER_OPTIONS],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: a kill takes the pool's children down with it.
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole worker, as a crashed host or an OOM kill would: no clean-up at all."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


@pytest.fixture
def workers(transactional_db, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start workers with `workers(broker_url, **env)`; every one is stopped at the end.

    The workers connect to the pytest test database, so the drill needs committed data
    (`django_db(transaction=True)`); this fixture is torn down before that database is flushed.
    """
    if connection.vendor != "postgresql":
        unavailable("the workers share the pytest test database, which needs PostgreSQL")
    started: list[Worker] = []
    db = connection.settings_dict
    login = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    database_url = (
        f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )

    def start(broker_url: str, **extra: str) -> Worker:
        env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env.update(extra)
        worker = Worker(env, tmp_path / f"worker-{len(started) + 1}.log")
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
