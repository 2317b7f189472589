"""Identity providers started on loopback for the tests: real servers, not mocks."""

import datetime
import json
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

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


def self_signed(common_name: str) -> tuple[bytes, bytes]:
    """A fresh RSA key and self-signed certificate (PEM), as an IdP's signing pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@contextmanager
def saml_idp(*, port: int):
    """pysaml2's IdP (tests/idp/saml_idp.py, signing with Debian's xmlsec1) on 127.0.0.1:port;
    yields its metadata URL."""
    with tempfile.TemporaryDirectory(prefix="saml-idp-") as folder:
        key, cert = self_signed("Test IdP")
        (Path(folder) / "key.pem").write_bytes(key)
        (Path(folder) / "cert.pem").write_bytes(cert)
        process = subprocess.Popen(
            [
                sys.executable,
                str(IDP_DIR / "saml_idp.py"),
                str(port),
                str(Path(folder) / "key.pem"),
                str(Path(folder) / "cert.pem"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = process.stdout.readline()
            if not line.startswith("ready "):
                raise RuntimeError(f"the SAML IdP did not start: {line!r}")
            yield line.split()[1]
        finally:
            process.terminate()
            process.wait(timeout=10)
