"""A real SAML 2.0 IdP (pysaml2's saml2.server.Server) for the test suite, on loopback.

Usage: python saml_idp.py <port> <key.pem> <cert.pem>; prints "ready <metadata URL>" once
listening. Its sign-in page accepts any login: the login typed becomes the NameID and the
mail attribute (urn:oid:0.9.2342.19200300.100.1.3, as Shibboleth and Entra ID send it), which makes it the hostile IdP too. It learns a service provider from the
AuthnRequest's issuer, which for the portal (allauth) is the URL of the SP's metadata.
GET /log answers the single logouts it received, as JSON, for the tests to read.
"""

import base64
import html
import json
import sys
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

PORT, KEY, CERT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
BASE = f"http://127.0.0.1:{PORT}"
SAML_NS = "{urn:oasis:names:tc:SAML:2.0:assertion}"
SHA256_SIGNATURE = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256_DIGEST = "http://www.w3.org/2001/04/xmlenc#sha256"
LOGOUTS: list[dict] = []
SP_METADATA: dict[str, str] = {}


def config() -> IdPConfig:
    conf = IdPConfig()
    conf.load(
        {
            "entityid": f"{BASE}/metadata",
            "key_file": KEY,
            "cert_file": CERT,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            # SHA-1 signatures are refused by the portal (python3-saml), as they should be.
            "signing_algorithm": SHA256_SIGNATURE,
            "digest_algorithm": SHA256_DIGEST,
            "service": {
                "idp": {
                    "name": "Test IdP",
                    "endpoints": {
                        "single_sign_on_service": [(f"{BASE}/sso", BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(f"{BASE}/slo", BINDING_HTTP_REDIRECT)],
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "sign_response": False,
                    "sign_assertion": True,
                    "want_authn_requests_signed": False,
                }
            },
            "metadata": {"inline": list(SP_METADATA.values())},
        }
    )
    return conf


def server() -> Server:
    return Server(config=config())


def redirect_message(query: dict, name: str) -> str:
    return zlib.decompress(base64.b64decode(query[name][0]), -15).decode()


def learn_sp(xml: str) -> None:
    """Fetch the metadata of the SP that issued xml (its issuer is the metadata URL)."""
    issuer = ElementTree.fromstring(xml).findtext(f"{SAML_NS}Issuer") or ""
    if issuer not in SP_METADATA and urlsplit(issuer).hostname in {"127.0.0.1", "localhost"}:
        with urllib.request.urlopen(issuer, timeout=10) as answer:
            SP_METADATA[issuer] = answer.read().decode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def answer(self, status: int, body: str, content_type: str = "text/html", headers=()) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/metadata":
            self.answer(200, create_metadata_string(None, config=config()).decode(), "text/xml")
        elif url.path == "/sso":
            learn_sp(redirect_message(query, "SAMLRequest"))
            request = server().parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
            fields = "".join(
                f'<input type="hidden" name="{name}" value="{html.escape(query[name][0])}">'
                for name in ("SAMLRequest", "RelayState")
                if name in query
            )
            self.answer(
                200,
                "<!doctype html><title>Test IdP</title><h1>Test IdP sign-in</h1>"
                f"<p>For {html.escape(request.message.issuer.text)}</p>"
                f'<form method="post" action="/sso">{fields}'
                '<label>Login <input name="login" autofocus></label> '
                '<label>Password <input name="password" type="password"></label> '
                "<button>Sign in</button></form>",
            )
        elif url.path == "/slo":
            learn_sp(redirect_message(query, "SAMLRequest"))
            idp = server()
            request = idp.parse_logout_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
            LOGOUTS.append(
                {
                    "name_id": request.message.name_id.text,
                    "session_index": [i.text for i in request.message.session_index],
                }
            )
            response = idp.create_logout_response(request.message, [BINDING_HTTP_REDIRECT])
            sp = request.message.issuer.text
            destination = idp.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")
            http = idp.apply_binding(
                BINDING_HTTP_REDIRECT,
                str(response),
                destination[0]["location"],
                query.get("RelayState", [""])[0],
                response=True,
            )
            self.answer(302, "", headers=http["headers"])
        elif url.path == "/favicon.ico":
            self.answer(204, "", "image/x-icon")
        elif url.path == "/log":
            self.answer(200, json.dumps({"logouts": LOGOUTS}), "application/json")
        else:
            self.answer(404, "not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        login = form.get("login", [""])[0].strip()
        # A hostile answer, on request of the tests: another issuer or another audience.
        craft = form.get("craft", [""])[0]
        idp = server()
        request = idp.parse_authn_request(form["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
        sp = request.issuer.text
        acs = request.assertion_consumer_service_url
        response = idp.create_authn_response(
            identity={"mail": [login]},
            in_response_to=request.id,
            destination=acs,
            sp_entity_id=f"{BASE}/another-sp" if craft == "audience" else sp,
            issuer=f"{BASE}/another-idp" if craft == "issuer" else None,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=login),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=True,
            sign_response=False,
            sign_alg=SHA256_SIGNATURE,
            digest_alg=SHA256_DIGEST,
        )
        encoded = base64.b64encode(str(response).encode()).decode()
        relay = html.escape(form.get("RelayState", [""])[0])
        self.answer(
            200,
            "<!doctype html><title>Test IdP</title><body onload=document.forms[0].submit()>"
            f'<form method="post" action="{html.escape(acs)}">'
            f'<input type="hidden" name="SAMLResponse" value="{encoded}">'
            f'<input type="hidden" name="RelayState" value="{relay}">'
            "<noscript><button>Continue</button></noscript></form>",
        )


if __name__ == "__main__":
    httpd = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(f"ready {BASE}/metadata", flush=True)
    httpd.serve_forever()
