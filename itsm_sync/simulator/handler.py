"""The HTTP side of the AR simulator: the AR REST endpoints and the /__sim control plane."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import asdict
from email.utils import formatdate
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from .qualification import FIELD_DOES_NOT_EXIST
from .tickets import INTERFACES

if TYPE_CHECKING:
    from .server import Simulator

Record = dict[str, Any]

DEFAULT_LIMIT = 100


class ARError(Exception):
    """An error answered as an AR System error array with an HTTP status."""

    def __init__(self, status: int, number: int, text: str, appended: str = "") -> None:
        super().__init__(f"{status} AR {number}: {text} {appended}".strip())
        self.status = status
        self.number = number
        self.text = text
        self.appended = appended

    def body(self) -> list[dict[str, Any]]:
        """Return the JSON error array the AR REST API sends."""
        return [
            {
                "messageType": "ERROR",
                "messageText": self.text,
                "messageAppendedText": self.appended,
                "messageNumber": self.number,
            }
        ]


def unauthorized(appended: str) -> ARError:
    """Build the 401 answer for a missing, unknown or expired token."""
    return ARError(401, 623, "Authentication failed", appended)


def field_missing(name: str) -> ARError:
    """Build the AR 314 answer for a field name the form does not have."""
    return ARError(400, FIELD_DOES_NOT_EXIST, "Field does not exist", name)


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can drop its keep-alive connections on shutdown."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Keep-alive handler threads would otherwise keep serving after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


_ENTRY_PATH = re.compile(r"^/api/arsys/v1/entry/([^/]+)(?:/([^/]+))?/?$")


class SimulatorHandler(BaseHTTPRequestHandler):
    """Answers one HTTP connection on behalf of the bound `simulator`."""

    simulator: Simulator
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle plus delayed ACK would add ~40 ms each.
    disable_nagle_algorithm = True
    server_version = "ARSimulator/1.0"
    timeout = 120

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells the server's clock, which stamps Last Modified Date too.
        return formatdate(
            self.simulator.timestamp() if timestamp is None else timestamp, usegmt=True
        )

    def log_message(self, format: str, *args: Any) -> None:
        if self.simulator.verbose:
            super().log_message(format, *args)

    # -- plumbing --------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            if split.path.startswith("/__sim/"):
                self._control(method, split.path, body)
                return
            self.simulator.record_request("requests")
            delay = self.simulator.faults.delay_ms
            if delay:
                time.sleep(delay / 1000)
            if self.simulator.take_fault("html_errors"):
                self._send_html_error(self.simulator.faults.html_error_status, split.path)
                return
            self._api(method, split.path, query, body)
        except ARError as exc:
            self._send_json(exc.status, exc.body())
        except Exception as exc:
            error = ARError(500, 9999, "Internal simulator error", f"{type(exc).__name__}: {exc}")
            self._send_json(500, error.body())

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, *, truncate: bool = False) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        if truncate:
            body = body[: len(body) // 2]
        self._send(status, body, "application/json;charset=UTF-8")

    def _send_html_error(self, status: int, path: str) -> None:
        """An error page the way Jetty (or a proxy in front of it) writes one."""
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        page = (
            '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
            f"<title>Error {status} {reason}</title>\n</head>\n<body><h2>HTTP ERROR {status}</h2>\n"
            f"<p>Problem accessing {escape(path)}. Reason:\n<pre>    {reason}</pre></p>"
            '<hr><a href="https://eclipse.org/jetty">Powered by Jetty:// 9.4.51</a><hr/>\n'
            "</body>\n</html>\n"
        )
        self._send(status, page.encode(), "text/html;charset=utf-8")

    def _base_url(self) -> str:
        rewritten = self.simulator.faults.links_base
        if rewritten:
            return rewritten
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.simulator.url

    def _json_body(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError as exc:
            raise ARError(400, 8, "Malformed JSON in request body", str(exc)) from exc

    # -- control plane ---------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> None:
        sim = self.simulator
        if path == "/__sim/health" and method == "GET":
            entries = sim.stats()["entries"]
            self._send_json(200, {"status": "ok", "entries": entries})
        elif path == "/__sim/stats" and method == "GET":
            self._send_json(200, sim.stats())
        elif path == "/__sim/faults" and method in ("GET", "POST"):
            settings = self._json_body(body) if method == "POST" else {}
            if not isinstance(settings, dict):
                raise ARError(400, 8, "Expected a JSON object of fault settings")
            try:
                faults = sim.set_faults(**settings)
            except ValueError as exc:
                raise ARError(400, 8, "Invalid fault settings", str(exc)) from exc
            self._send_json(200, asdict(faults))
        elif path == "/__sim/tickets" and method == "GET":
            self._send_json(200, {"tickets": sim.tickets()})
        elif path.startswith("/__sim/tickets/") and method == "POST":
            act = self._json_body(body) or {}
            if not isinstance(act, dict):
                raise ARError(400, 8, 'Expected {"status", "reason", "note", "view_access"}')
            number = unquote(path.removeprefix("/__sim/tickets/"))
            self._send_json(200, sim.ticket_act(number, **_act_arguments(act)))
        elif path == "/__sim/console" and method == "GET":
            self._send(200, console_page(sim.tickets()).encode(), "text/html;charset=utf-8")
        elif path == "/__sim/console" and method == "POST":
            act = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            number = act.pop("number", "")
            sim.ticket_act(number, **_act_arguments(act))
            self._send(303, headers={"Location": "/__sim/console"})
        elif path == "/__sim/reset" and method == "POST":
            options = self._json_body(body) or {}
            sim.reset(data=bool(isinstance(options, dict) and options.get("data")))
            self._send_json(200, sim.stats())
        else:
            raise ARError(404, 8, "Unknown simulator control endpoint", f"{method} {path}")

    # -- AR REST API -----------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        sim = self.simulator
        if path == "/api/jwt/login" and method == "POST":
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            token = sim.open_session(
                form.get("username", query.get("username", "")),
                form.get("password", query.get("password", "")),
            )
            self._send(200, token.encode(), "text/plain;charset=UTF-8")
            return
        if path == "/api/jwt/logout" and method == "POST":
            sim.close_session(self.headers.get("Authorization", ""))
            self._send(204)
            return
        match = _ENTRY_PATH.match(path)
        if match is None:
            raise ARError(404, 8, "Unknown AR REST endpoint", f"{method} {path}")
        sim.authenticate(self.headers.get("Authorization", ""))
        if sim.take_fault("busy"):
            raise ARError(
                500,
                9093,
                "User is currently connected from another machine or incompatible session",
                "Simulated (busy)",
            )
        form = unquote(match.group(1))
        entry = unquote(match.group(2)) if match.group(2) else None
        if entry is None and method == "GET":
            self._list(form, query)
        elif entry is None and method == "POST":
            self._create(form, body, query)
        elif entry is not None and method == "GET":
            sim.record_request("get_requests")
            record = sim.get_entry(form, entry)
            projection = self._projection(form, query.get("fields", ""))
            self._send_json(200, self._entry_json(form, entry, record, projection))
        elif entry is not None and method == "PUT":
            values = self._values(body)
            sim.record_request("updates")
            sim.ticket_update_allowed(form, entry, values)
            sim.update_entry(form, entry, values)
            self._send(204)
        elif entry is not None and method == "DELETE":
            sim.record_request("deletes")
            sim.delete_entry(form, entry)
            self._send(204)
        else:
            raise ARError(405, 8, "Method not allowed", f"{method} {path}")

    def _values(self, body: bytes) -> Record:
        payload = self._json_body(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("values"), dict):
            raise ARError(400, 8, 'Expected a JSON body like {"values": {...}}')
        return payload["values"]

    def _create(self, form: str, body: bytes, query: dict[str, str]) -> None:
        """201 with the entry's Location; with `fields=values(A,B)`, those values as a body."""
        sim = self.simulator
        sim.form_spec(form)
        projection = self._projection(form, query.get("fields", ""))
        values = self._values(body)
        sim.record_request("creates")
        if form in INTERFACES:
            delay = sim.faults.create_delay_ms
            if delay:
                time.sleep(delay / 1000)
            entry = sim.create_ticket(form, values)
            if sim.take_lost_create():
                # The ticket is made; the answer never arrives.
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
        else:
            entry = sim.create_entry(form, values)
        location = f"{self._base_url()}/api/arsys/v1/entry/{_path(form)}/{_path(entry)}"
        if projection is None:
            self._send(201, headers={"Location": location})
            return
        payload = self._entry_json(form, entry, sim.get_entry(form, entry), projection)
        body_out = json.dumps(payload, separators=(",", ":")).encode()
        self._send(201, body_out, "application/json;charset=UTF-8", headers={"Location": location})

    def _projection(self, form: str, spec_text: str) -> list[str] | None:
        text = spec_text.strip()
        if not text:
            return None
        if not (text.startswith("values(") and text.endswith(")")):
            raise ARError(400, 8, "Invalid fields parameter; use fields=values(A,B)", text)
        names = [name.strip() for name in text[len("values(") : -1].split(",") if name.strip()]
        known = self.simulator.form_spec(form).fields
        for name in names:
            if name not in known:
                raise field_missing(name)
        return names

    def _entry_json(
        self,
        form: str,
        entry: str,
        record: Record,
        projection: list[str] | None,
        form_url: str = "",
    ) -> dict[str, Any]:
        """One entry as AR answers it; form_url is the form's URL when the caller has it (a
        listing computes it once, not once per entry: the fault settings are copied to read it)."""
        if projection is not None:
            record = {name: record[name] for name in projection if name in record}
        form_url = form_url or f"{self._base_url()}/api/arsys/v1/entry/{_path(form)}"
        return {"values": record, "_links": {"self": [{"href": f"{form_url}/{_path(entry)}"}]}}

    def _list(self, form: str, query: dict[str, str]) -> None:
        sim = self.simulator
        sim.begin_list()
        spec = sim.form_spec(form)
        projection = self._projection(form, query.get("fields", ""))
        offset = _int_param(query, "offset", 0)
        limit = _int_param(query, "limit", DEFAULT_LIMIT)
        if limit <= 0:
            raise ARError(400, 8, "limit must be a positive integer", str(limit))
        q = query.get("q", "")
        sort = query.get("sort", "")
        page, more = sim.list_entries(form, q=q, sort=sort, offset=offset, limit=limit)
        id_field = spec.id_field
        base = f"{self._base_url()}/api/arsys/v1/entry/{_path(form)}"
        entries = []
        for position, record in enumerate(page):
            entry = record.get(id_field) or f"#{offset + position}"
            entries.append(self._entry_json(form, str(entry), record, projection, base))
        links: dict[str, Any] = {"self": [{"href": base + _query_string(query)}]}
        if more:
            following = {**query, "offset": str(offset + len(page)), "limit": str(limit)}
            links["next"] = [{"href": base + _query_string(following)}]
        truncate = sim.take_fault("truncated_bodies")
        self._send_json(200, {"entries": entries, "_links": links}, truncate=truncate)


def _act_arguments(act: dict[str, Any]) -> dict[str, str]:
    known = ("status", "reason", "note", "view_access")
    unknown = set(act) - set(known)
    if unknown:
        raise ARError(400, 8, "Unknown ticket act", ", ".join(sorted(unknown)))
    return {name: str(act[name]) for name in known if act.get(name)}


def console_page(tickets: list[Record]) -> str:
    """The technician's console: each ticket, its notes, and forms to act on it."""
    from .tickets import INCIDENT_STATUSES, WORK_ORDER_STATUSES

    rows = []
    for ticket in reversed(tickets):
        statuses = WORK_ORDER_STATUSES if ticket["form"] == "WOI:WorkOrder" else INCIDENT_STATUSES
        options = "".join(
            f"<option{' selected' if s == ticket.get('Status') else ''}>{escape(s)}</option>"
            for s in statuses
        )
        notes = "".join(
            f"<li><b>{escape(str(n.get('View Access')))}</b>: {escape(str(n.get('Detailed Description')))}</li>"
            for n in ticket["notes"]
        )
        number = escape(ticket["number"])
        description = ticket.get("Detailed Description") or ticket.get("Detailed_Decription") or ""
        rows.append(
            f'<section data-ticket="{number}"><h2>{number} <small>{escape(str(ticket.get("Status")))}'
            f"</small></h2><p>{escape(str(ticket.get('Summary') or ticket.get('Description') or ''))}"
            f" — company {escape(str(ticket.get('Customer Company') or ticket.get('Company') or ''))}"
            f", reference {escape(str(ticket.get('SRID') or ''))}</p>"
            f"<pre>{escape(str(description))}</pre><ul>{notes}</ul>"
            f'<form method="post" action="/__sim/console"><input type="hidden" name="number" '
            f'value="{number}"><label>Status <select name="status">{options}</select></label> '
            f'<label>Reason <input name="reason"></label> <label>Note <input name="note"></label> '
            f'<label>Note is <select name="view_access"><option>Public</option><option>Internal'
            f'</option></select></label> <button type="submit">Apply</button></form></section>'
        )
    body = "".join(rows) or "<p>No tickets yet.</p>"
    return (
        "<!doctype html><html><head><title>AR simulator: technician console</title>"
        '<link rel="icon" href="data:,"></head>'
        f"<body><h1>Technician console</h1>{body}</body></html>"
    )


def _path(segment: str) -> str:
    return quote(segment, safe=":")


def _int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ARError(400, 8, f"{name} must be an integer", raw) from None
    if value < 0:
        raise ARError(400, 8, f"{name} must not be negative", raw)
    return value


def _query_string(query: dict[str, str]) -> str:
    if not query:
        return ""
    return "?" + urlencode(query, quote_via=quote, safe="(),:")
