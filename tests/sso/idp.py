"""Identity providers started on loopback for the tests: real servers, not mocks."""

import json
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path

IDP_DIR = Path(__file__).resolve().parents[1] / "idp"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def npm_ready() -> None:
    """Install the test-only npm packages (tests/idp/package.json) when they are missing."""
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=IDP_DIR, check=True
        )


@contextmanager
def oidc_provider(*, port: int, clients: list[dict]):
    """panva's oidc-provider on 127.0.0.1:port; yields its issuer URL."""
    npm_ready()
    process = subprocess.Popen(
        ["node", str(IDP_DIR / "oidc.mjs"), str(port), json.dumps(clients)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError(f"the OpenID Connect provider did not start: {line!r}")
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)
