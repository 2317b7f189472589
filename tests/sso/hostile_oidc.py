"""A tiny hostile OpenID Connect provider on loopback: discovery, JWKS, an authorization endpoint
that answers at once and a token endpoint that returns whatever ID token the test crafted."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "hostile-1"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class HostileProvider:
    """Serves ID tokens made by self.craft(claims, key) -> str, claims being a valid set."""

    def __init__(self, *, client_id: str) -> None:
        self.client_id = client_id
        self.key = rsa_key()
        self.craft = lambda claims, key: self.sign(claims)
        self.tokens: list[str] = []
        self.email = "acme-eve@acme.test"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.httpd.server_port}"

    def sign(self, claims: dict, *, key: rsa.RSAPrivateKey | None = None, **headers) -> str:
        pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": KID, **headers})

    def claims(self, email: str) -> dict:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": email,
            "email": email,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def send_json(self, data: dict) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    base = provider.issuer
                    self.send_json(
                        {
                            "issuer": base,
                            "authorization_endpoint": f"{base}/authorize",
                            "token_endpoint": f"{base}/token",
                            "jwks_uri": f"{base}/jwks",
                            "userinfo_endpoint": f"{base}/userinfo",
                            "response_types_supported": ["code"],
                            "token_endpoint_auth_methods_supported": ["client_secret_post"],
                        }
                    )
                elif url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    self.send_json({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]})
                elif url.path == "/authorize":
                    query = parse_qs(url.query)
                    target = (
                        query["redirect_uri"][0]
                        + "?"
                        + urlencode({"code": uuid.uuid4().hex, "state": query["state"][0]})
                    )
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if urlsplit(self.path).path != "/token":
                    self.send_error(404)
                    return
                token = provider.craft(provider.claims(provider.email), provider.key)
                provider.tokens.append(token)
                self.send_json(
                    {
                        "access_token": "at",
                        "token_type": "Bearer",
                        "expires_in": 60,
                        "id_token": token,
                    }
                )

        return Handler

    def __enter__(self) -> "HostileProvider":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
