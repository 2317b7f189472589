"""gunicorn.conf.py, as deployed: connections that are open but have sent nothing (a browser's
spare connections) do not keep a page waiting for a thread.

A tiny WSGI app (below) served by gunicorn with the deployed config, one worker of two threads;
four connections open and silent; then a page is asked for on a fifth. With the config it is
answered at once; with gunicorn's own wait (5 s a connection) the four silent ones hold both
threads, and the page waits 5 s and more: the client gives up after 3 s.
"""

import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PATIENCE = 3.0  # seconds: less than gunicorn's own 5 s wait for a silent connection


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"served"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _gunicorn(*config: str):
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.msp_portal.test_gunicorn_conf:app",
            *config,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    break
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answered_beside_silent_connections(port: int) -> bool:
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    try:
        time.sleep(0.2)  # accepted, each taken by a thread that waits for its request
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_PATIENCE) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            try:
                return s.recv(100).startswith(b"HTTP/1.1 200")
            except TimeoutError:
                return False
    finally:
        for s in silent:
            s.close()


def test_with_the_deployed_config_silent_connections_do_not_hold_the_threads():
    with _gunicorn("--config", str(ROOT / "gunicorn.conf.py")) as port:
        assert _answered_beside_silent_connections(port)


def test_without_it_they_do():
    """Why the config changes gunicorn's wait: if this fails, a newer gunicorn no longer holds a
    thread for a silent connection, and gunicorn.conf.py can drop its override."""
    with _gunicorn("--config", "/dev/null") as port:
        assert not _answered_beside_silent_connections(port)
