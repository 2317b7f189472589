"""Where ITSM companies and people come from: the AR System REST API or a JSON export file.

Both sources yield pages (lists of AR `values` dicts, oldest `Last Modified Date` first) through
`iter_company_pages(since=None)` and `iter_people_pages(since=None)`; with `since`, only records
modified at or after `since - overlap` are returned. Each page carries a `cursor`: passed back as
`after`, the listing goes on after that page (a full run's later step, on any worker).

The AR listing pages by a keyset on `Last Modified Date`, never by offset: AR's offset paging
skips a record whenever one before it is modified during the listing (it moves to the end, and
the record behind the page boundary slides into a page already read). Each request asks for the
records modified at or after the latest second the previous page reached, so a record modified
meanwhile is met again later in the same listing and an unmodified one can't slip between two
pages. Only single-field sorts are sent (AR documents no second sort field): when one second
holds more records than a page, that second alone is paged by its key.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

COMPANY_FORM = "COM:Company"
PEOPLE_FORM = "CTM:People"
LAST_MODIFIED = "Last Modified Date"
COMPANY_KEY = "Company Entry ID"
PERSON_KEY = "Person ID"
COMPANY_FIELDS: tuple[str, ...] = (
    "Company Entry ID",
    "Company",
    "Company Type",
    "Status",
    "Company Abbreviation",
    "Parent Company",
    LAST_MODIFIED,
)
PEOPLE_FIELDS: tuple[str, ...] = (
    "Person ID",
    "Remedy Login ID",
    "First Name",
    "Last Name",
    "Internet E-mail",
    "Company",
    "Organization",
    "Department",
    "Region",
    "Site Group",
    "Site",
    "Client Type",
    "Support Staff",
    "VIP",
    "Profile Status",
    LAST_MODIFIED,
)
# The selection values of CTM:People's "Client Type" (the simulator draws people's from them, the
# people directory filters by them).
CLIENT_TYPES: tuple[str, ...] = (
    "Office-Based Employee",
    "Field-Based Employee",
    "Home-Based Employee",
    "Contractor",
    "Customer",
    "Prospect",
    "Vendor",
)
# The selection values of the fulfilment forms (WOI:WorkOrder, HPD:Help Desk and their create
# interfaces): the simulator serves them, fulfilment's settings offer them.
WORK_ORDER_STATUSES = (
    "Assigned",
    "Pending",
    "Waiting Approval",
    "Planning",
    "In Progress",
    "Completed",
    "Rejected",
    "Cancelled",
    "Closed",
)
INCIDENT_STATUSES = ("New", "Assigned", "In Progress", "Pending", "Resolved", "Closed", "Cancelled")
PRIORITIES = ("Critical", "High", "Medium", "Low")
IMPACTS = (
    "1-Extensive/Widespread",
    "2-Significant/Large",
    "3-Moderate/Limited",
    "4-Minor/Localized",
)
URGENCIES = ("1-Critical", "2-High", "3-Medium", "4-Low")
SERVICE_TYPES = (
    "User Service Restoration",
    "User Service Request",
    "Infrastructure Restoration",
    "Infrastructure Event",
)
REPORTED_SOURCES = ("Direct Input", "Email", "Phone", "Self Service", "Web", "Other")


FORM_KEYS = {
    COMPANY_FORM: COMPANY_KEY,
    PEOPLE_FORM: PERSON_KEY,
    # The fulfilment forms read back with the same keyset listing (fulfilment/).
    "WOI:WorkOrder": "Request ID",
    "WOI:WorkInfo": "Work Info ID",
    "HPD:Help Desk": "Entry ID",
    "HPD:WorkLog": "Work Log ID",
}
DATE_LITERALS = ("epoch", "iso")
# Keys asked for in one listing request when records are looked up by key.
KEY_LOOKUP_BATCH = 100

Values = dict[str, Any]


class Page(list[Values]):
    """One page of a listing: its records' values, and `cursor`, where the listing goes on.

    The cursor is the source's own opaque text; passing it back as `after` resumes the listing
    after this page. Empty when the source can't resume mid-listing.
    """

    def __init__(self, rows: Iterable[Values] = (), cursor: str = "") -> None:
        super().__init__(rows)
        self.cursor = cursor


class SourceError(Exception):
    """An ITSM source failure, with a message that says what to check next."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        ar_number: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.ar_number = ar_number
        self.retryable = retryable


def format_ar_datetime(value: datetime) -> str:
    """Format a datetime (naive means UTC) as AR does, e.g. 2024-03-01T10:20:30.000+0000."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


def ar_string(value: str) -> str:
    """A string literal of AR qualification syntax: in double quotes, a quote doubled."""
    return '"' + value.replace('"', '""') + '"'


def parse_ar_datetime(text: str) -> datetime:
    """Parse an AR date such as 2024-03-01T10:20:30.000+0000 into an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _env_number(environ: Mapping[str, str], name: str, kind: Callable[[str], Any]) -> Any:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise SourceError(f"{name} must be a number, got {raw!r}.") from None
    if value < 0:
        raise SourceError(f"{name} must not be negative, got {raw!r}.")
    return value


@dataclass(frozen=True)
class SourceConfig:
    """How to reach the ITSM source and how hard to try."""

    url: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    page_size: int = 1000
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    overlap: timedelta = timedelta(minutes=5)
    file: str = ""
    # How a qualification writes a date: "epoch" seconds, which every AR version reads, or
    # "iso" (2024-03-01T10:20:30.000+0000), which AR reads only from 19.08 on.
    date_literals: str = "epoch"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SourceConfig:
        """Read ITSM_URL, ITSM_USER, ITSM_PASSWORD, ITSM_PAGE_SIZE, ITSM_TIMEOUT, ITSM_RETRIES,
        ITSM_BACKOFF, ITSM_OVERLAP_SECONDS, ITSM_DATE_LITERALS and ITSM_FILE, keeping defaults
        for unset ones."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "url": env.get("ITSM_URL", "").strip().rstrip("/"),
            "user": env.get("ITSM_USER", ""),
            "password": env.get("ITSM_PASSWORD", ""),
            "file": env.get("ITSM_FILE", "").strip(),
            "date_literals": env.get("ITSM_DATE_LITERALS", "").strip().lower() or None,
            "page_size": _env_number(env, "ITSM_PAGE_SIZE", int),
            "timeout": _env_number(env, "ITSM_TIMEOUT", float),
            "retries": _env_number(env, "ITSM_RETRIES", int),
            "backoff": _env_number(env, "ITSM_BACKOFF", float),
        }
        overlap = _env_number(env, "ITSM_OVERLAP_SECONDS", float)
        if overlap is not None:
            values["overlap"] = timedelta(seconds=overlap)
        if values["page_size"] == 0:
            raise SourceError("ITSM_PAGE_SIZE must be at least 1.")
        if values["date_literals"] not in (None, *DATE_LITERALS):
            raise SourceError(
                f"ITSM_DATE_LITERALS must be epoch (every AR version) or iso (AR 19.08 and "
                f"later), got {env['ITSM_DATE_LITERALS']!r}."
            )
        return cls(**{k: v for k, v in values.items() if v is not None})


class Source(Protocol):
    """What the sync needs from a source of companies and people."""

    pages_fetched: int

    # `after` is the cursor of a page already read: a full run's later step goes on there.
    def iter_company_pages(
        self, since: datetime | None = None, after: str = ""
    ) -> Iterator[Page]: ...

    def iter_people_pages(
        self, since: datetime | None = None, after: str = ""
    ) -> Iterator[Page]: ...

    # A full reconcile asks again for the records it did not meet in the listing before it
    # deactivates them (a listing that changes while it is paged can skip a record).
    def iter_company_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]: ...

    def iter_people_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]: ...

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...


def open_source(config: SourceConfig | None = None) -> ARRestSource | FileSource:
    """Return a FileSource when ITSM_FILE is set, else an ARRestSource for ITSM_URL."""
    config = config or SourceConfig.from_env()
    if config.file:
        return FileSource(config.file, page_size=config.page_size, overlap=config.overlap)
    if config.url:
        return ARRestSource(config)
    raise SourceError(
        "No ITSM source is configured: set ITSM_URL (with ITSM_USER and ITSM_PASSWORD) "
        "or ITSM_FILE to a JSON export."
    )


_EXCERPT = 160
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
# AR: "User is currently connected from another machine or incompatible session" — concurrent
# requests of one user; the same request a moment later succeeds.
AR_BUSY = 9093


def source_status() -> tuple[str, str]:
    """(what the sync reads from, what is wrong with its configuration) from the environment."""
    try:
        config = SourceConfig.from_env()
        if not (config.file or config.url):
            open_source(config)  # refuses, saying what to set
    except SourceError as error:
        return "", str(error)
    if config.file:
        return f"JSON export {config.file}", ""
    return f"AR System REST API at {config.url} as {config.user or '(no user)'}", ""


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("Content-Type", "").lower()
    if "html" in kind or "json" in kind:
        return "html" in kind
    return response.content[:64].lstrip().lower().startswith((b"<!doctype", b"<html"))


def _short(text: str) -> str:
    text = " ".join(unescape(text).split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rstrip() + "…"


def _ar_message(response: httpx.Response) -> tuple[int | None, str]:
    """Return (AR message number, short readable text) of an answer: its AR error array, or
    the title (else the words) of an HTML page, or the start of whatever else it says."""
    if _is_html(response):
        title = _TITLE.search(response.text)
        words = _short(_TAGS.sub(" ", title.group(1) if title else response.text))
        return None, f"an HTML page: {words or response.reason_phrase}"
    try:
        payload = response.json()
    except ValueError:
        return None, _short(response.text) or response.reason_phrase
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        first = payload[0]
        text = str(first.get("messageText") or "").strip()
        appended = str(first.get("messageAppendedText") or "").strip()
        number = first.get("messageNumber")
        return (number if isinstance(number, int) else None), _short(
            f"{text} ({appended})" if appended else text
        )
    return None, _short(str(payload))


def _describe(response: httpx.Response) -> str:
    """HTTP status and a short excerpt of an answer, for messages people read."""
    number, text = _ar_message(response)
    return f"HTTP {response.status_code} ({f'AR {number}: ' if number else ''}{text})"


def _passing_failure(response: httpx.Response) -> str | None:
    """Why this answer may pass by itself, so the request is worth sending again; else None.

    A 5xx (502/503/504 from a proxy or Jetty, 500 from AR), AR error 9093 (the user's other
    request is busy), or an HTML page where JSON or a token should be (a proxy's or Jetty's
    error page). A 4xx HTML page (a proxy refusing, a wrong URL) is not: no retry helps.
    """
    status = response.status_code
    if status >= 500:
        return _describe(response)
    if status == 200 and _is_html(response):
        return _describe(response)
    if status >= 400 and "json" in response.headers.get("Content-Type", "").lower():
        number, _text = _ar_message(response)
        if number == AR_BUSY:
            return _describe(response)
    return None


def _epoch_second(value: datetime) -> int:
    """The whole epoch second of a datetime (naive means UTC), rounded down."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return math.floor(value.timestamp())


def _second_of(values: Values) -> int | None:
    raw = values.get(LAST_MODIFIED)
    if not isinstance(raw, str):
        return None
    try:
        return _epoch_second(parse_ar_datetime(raw))
    except ValueError:
        return None


class _Met:
    """The records a listing yielded that were modified within one second.

    The next request asks for that second again (it may hold more), and meets them again: a
    record met again unchanged is not yielded twice. Within a listing the whole record is
    compared (one modified twice within the second comes again); a listing resumed from a
    cursor knows only their keys and dates.
    """

    def __init__(self, second: int | None, dates: Mapping[str, Any] | None = None) -> None:
        self.second = second
        self.records: dict[str, Values] = {}
        self.dates = dict(dates or {})

    def __bool__(self) -> bool:
        return bool(self.records or self.dates)

    def has(self, record: Values, key_field: str) -> bool:
        key = record.get(key_field)
        if not isinstance(key, str):
            return False
        prior = self.records.get(key)
        if prior is not None:
            return prior == record
        return key in self.dates and self.dates[key] == record.get(LAST_MODIFIED)

    def at(self, second: int | None) -> _Met:
        return self if second == self.second else _Met(second)

    def add(self, values: list[Values], key_field: str) -> None:
        """Remember the page's records of this second (pages are oldest first)."""
        for record in reversed(values):
            at = _second_of(record)
            if at is None:
                continue
            if at != self.second:
                break
            key = record.get(key_field)
            if isinstance(key, str):
                self.records[key] = record

    def keys_and_dates(self) -> dict[str, Any]:
        return {**self.dates, **{k: v.get(LAST_MODIFIED) for k, v in self.records.items()}}


class _CrowdedSecond:
    """The passes over one second that holds more records than a page, in key order.

    A record ITSM stamps with that very second while a pass reads it may land behind the pass's
    key, unseen. So while the second may still be stamped (the server's clock, its `Date`
    header, had not left it when the pass began) the pass is made again, and yields only what
    changed; a pass begun once the second is over is the last. Without a `Date` header a pass
    is made again while the one before still found something new.
    """

    MAX_PASSES = 5

    def __init__(self) -> None:
        self.second: int | None = None
        self.passes = 0
        self.open = False
        self.dated = False
        self.found = False

    def begin(self, second: int | None, server_second: int | None) -> None:
        if second != self.second:
            self.second, self.passes = second, 0
        self.passes += 1
        self.dated = server_second is not None
        self.open = server_second is None or second is None or server_second <= second
        self.found = False

    def read(self, values: list[Values], fresh: list[Values], met: _Met, key_field: str) -> None:
        self.found = self.found or bool(fresh)
        if self.open:  # what a pass made again compares with (only a second now being stamped)
            met.add(values, key_field)

    def again(self) -> bool:
        if self.passes >= self.MAX_PASSES or not self.open:
            return False
        return self.dated or self.found


def _server_second(response: httpx.Response) -> int | None:
    raw = response.headers.get("Date")
    if not raw:
        return None
    try:
        return _epoch_second(parsedate_to_datetime(raw))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _Cursor:
    """Where an AR listing goes on: the records modified from `second` (epoch) on.

    With `key` set, the listing is inside that one second, which holds more records than a
    page, in key order: "" from its first key, else after that key.
    """

    second: int | None
    key: str | None = None
    # Keys (with their Last Modified Date) of the records of `second` already read.
    met: Mapping[str, Any] = field(default_factory=dict)

    @property
    def place(self) -> tuple[int | None, str | None]:
        return self.second, self.key

    def with_met(self, met: _Met) -> _Cursor:
        known = met.keys_and_dates() if met.second == self.second else {}
        return _Cursor(self.second, self.key, known)

    def encode(self) -> str:
        raw = {"from": self.second, "key": self.key, "met": dict(self.met)}
        return json.dumps(raw, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        try:
            raw = json.loads(text)
            second, key, met = raw["from"], raw["key"], raw.get("met") or {}
            if (
                not (second is None or isinstance(second, int))
                or not (key is None or isinstance(key, str))
                or not isinstance(met, dict)
            ):
                raise ValueError(text)
        except (ValueError, KeyError, TypeError):
            raise SourceError(f"Cannot go on with an ITSM listing from {text!r}.") from None
        return cls(second, key, met)

    def describe(self) -> str:
        if self.second is None:
            return "the start"
        when = f"{datetime.fromtimestamp(self.second, UTC):%Y-%m-%d %H:%M:%S} UTC"
        return when + (f", key after {self.key!r}" if self.key else "")

    def following(self, values: list[Values], key_field: str, form: str) -> _Cursor:
        """Where the listing goes on after this page (whether more follow or not)."""
        if self.key is not None:
            keys = [v.get(key_field) for v in values if v.get(key_field) is not None]
            if not keys:
                return self
            return _Cursor(self.second, str(keys[-1]))
        first = next((at for v in values if (at := _second_of(v)) is not None), None)
        last = next((at for v in reversed(values) if (at := _second_of(v)) is not None), None)
        if last is None:
            if not values:
                return self
            raise SourceError(
                f"ITSM listing of {form} answered a page without one readable "
                f"{LAST_MODIFIED}; it cannot go on from there."
            )
        if first == last:
            return _Cursor(last, "")
        return _Cursor(last)


class ARRestSource:
    """Reads COM:Company and CTM:People through the AR System REST API with JWT sessions."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not config.url:
            raise SourceError("ITSM_URL is not set; point it at the AR System server.")
        self.config = config
        self.pages_fetched = 0
        self._sleep = sleep
        self._token: str | None = None
        self._entered = False
        self._client = httpx.Client(
            base_url=config.url.rstrip("/"), timeout=config.timeout, transport=transport
        )

    def __enter__(self) -> ARRestSource:
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        self.close()

    def close(self) -> None:
        """Log out and release the HTTP connections."""
        self.logout()
        self._client.close()

    def login(self) -> None:
        """Open a session (AR-JWT token) with the configured user and password."""
        user = self.config.user
        response, _ = self._send(
            "POST",
            "/api/jwt/login",
            data={"username": user, "password": self.config.password},
            authenticated=False,
        )
        if response.status_code == 200 and response.text.strip():
            self._token = response.text.strip()
            return
        number, _text = _ar_message(response)
        answer = _describe(response)
        if response.status_code == 401 or number == 623:
            raise SourceError(
                f"ITSM login failed for user '{user}': {answer}. "
                "Check ITSM_USER and ITSM_PASSWORD.",
                status=response.status_code,
                ar_number=number,
            )
        if response.status_code == 403:
            raise SourceError(
                f"ITSM refused the login of user '{user}': {answer}. This is not a wrong "
                "password: the server, or a proxy or single sign-on in front of it, forbids this "
                "login. Check that the user may use the AR REST API and that this host may reach "
                "ITSM_URL.",
                status=403,
                ar_number=number,
            )
        raise SourceError(
            f"ITSM login for user '{user}' answered {answer}. "
            "Check ITSM_URL points at the AR System REST API.",
            status=response.status_code,
            ar_number=number,
        )

    def logout(self) -> None:
        """Close the session if there is one; failures are ignored, the token expires anyway."""
        token, self._token = self._token, None
        if token is None or self._client.is_closed:
            return
        try:
            self._client.post("/api/jwt/logout", headers={"Authorization": f"AR-JWT {token}"})
        except httpx.HTTPError as exc:
            logger.info("ITSM logout failed (ignored): %s", exc)

    def iter_pages(
        self,
        form: str,
        fields: Iterable[str],
        since: datetime | None = None,
        after: str = "",
        *,
        where: str = "",
    ) -> Iterator[Page]:
        """Yield the records of `form` (modified at or after since - overlap), oldest first.

        Each request is one page and starts where the records read so far end (see the module
        docstring); `after` is a page's cursor to go on from. A record the listing meets again
        unchanged within the second it had reached is not yielded twice. `where`, a
        qualification, narrows the listing (the work orders the portal made, say).
        """
        fields = tuple(fields)
        if after:
            cursor = _Cursor.decode(after)
        elif since is not None:
            cursor = _Cursor(_epoch_second(since - self.config.overlap))
        else:
            cursor = _Cursor(None)
        key_field = FORM_KEYS[form]
        met = _Met(cursor.second, cursor.met)
        crowded = _CrowdedSecond()
        try:
            while True:
                if cursor.key is None:
                    q = None if cursor.second is None else self._modified_from(cursor.second)
                    sort = f"{LAST_MODIFIED}.asc"
                else:
                    assert cursor.second is not None
                    q = (
                        f"{self._modified_from(cursor.second)} AND "
                        f"{self._modified_before(cursor.second + 1)}"
                    )
                    if cursor.key:
                        q += f" AND '{key_field}' > {ar_string(cursor.key)}"
                    sort = f"{key_field}.asc"
                if where:
                    q = f"({where})" if not q else f"({where}) AND {q}"
                values, more, server_second = self._list_page(form, fields, q=q, sort=sort)
                fresh = [v for v in values if not met.has(v, key_field)] if met else values
                following = cursor.following(values, key_field, form)
                ended = not more and cursor.key is None
                if cursor.key is not None:
                    if cursor.key == "":
                        crowded.begin(cursor.second, server_second)
                    crowded.read(values, fresh, met, key_field)
                if not more and cursor.key is not None:
                    # The crowded second is read whole: on to the next one, unless ITSM may
                    # still have stamped it while it was read.
                    if crowded.again():
                        following = _Cursor(cursor.second, "")
                    else:
                        following = _Cursor((cursor.second or 0) + 1)
                elif more and following.place == cursor.place:
                    raise SourceError(
                        f"ITSM listing of {form} does not move on from {cursor.describe()}; "
                        "the server ignores the qualification or the sort order. Stopping."
                    )
                if cursor.key is None or following.key is None:
                    met = met.at(following.second)
                    if cursor.key is None:  # this page's last second is asked for again
                        met.add(values, key_field)
                if fresh:
                    yield Page(fresh, following.with_met(met).encode())
                if ended:
                    return
                cursor = following
        finally:
            if not self._entered:
                self.logout()

    def _modified_from(self, second: int) -> str:
        return f"'{LAST_MODIFIED}' >= {self._date_literal(second)}"

    def _modified_before(self, second: int) -> str:
        return f"'{LAST_MODIFIED}' < {self._date_literal(second)}"

    def _date_literal(self, second: int) -> str:
        # Epoch seconds work on every AR version; ISO-8601 literals only from 19.08.
        if self.config.date_literals == "iso":
            return ar_string(format_ar_datetime(datetime.fromtimestamp(second, UTC)))
        return str(second)

    def _list_page(
        self, form: str, fields: tuple[str, ...], *, q: str | None, sort: str
    ) -> tuple[list[Values], bool, int | None]:
        """One listing request from the configured server: the records' values, whether more
        follow, and the server's clock (its `Date` header, in epoch seconds) when it answered.

        More follow while the answer has a `next` link (AR leaves it out of the last page),
        whatever the page's length: a server returns at most its "Max Entries Returned by
        GetList" whatever `limit` says. The link itself is never followed (each request is
        built here, against ITSM_URL), so a link to another host, an SSO proxy's or anyone's,
        is never called.
        """
        params: dict[str, Any] = {
            "fields": f"values({','.join(fields)})",
            "sort": sort,
            "limit": self.config.page_size,
        }
        if q:
            params["q"] = q
        response, payload = self._send(
            "GET", f"/api/arsys/v1/entry/{quote(form, safe=':')}", params=params, as_json=True
        )
        payload = self._payload(response, payload, form)
        self.pages_fetched += 1
        entries = payload.get("entries") or []
        values = [entry.get("values") or {} for entry in entries if isinstance(entry, dict)]
        following = (payload.get("_links") or {}).get("next") or []
        more = bool(values) and bool(following)
        return values, more, _server_second(response)

    def iter_company_pages(self, since: datetime | None = None, after: str = "") -> Iterator[Page]:
        """Yield pages of COM:Company values, oldest modification first."""
        return self.iter_pages(COMPANY_FORM, COMPANY_FIELDS, since, after)

    def iter_people_pages(self, since: datetime | None = None, after: str = "") -> Iterator[Page]:
        """Yield pages of CTM:People values, oldest modification first."""
        return self.iter_pages(PEOPLE_FORM, PEOPLE_FIELDS, since, after)

    def iter_company_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]:
        """Yield pages of the COM:Company records the source has among these entry IDs."""
        return self._iter_by_key(COMPANY_FORM, COMPANY_FIELDS, keys)

    def iter_people_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]:
        """Yield pages of the CTM:People records the source has among these Person IDs."""
        return self._iter_by_key(PEOPLE_FORM, PEOPLE_FIELDS, keys)

    def _iter_by_key(self, form: str, fields: Iterable[str], keys: Iterable[str]) -> Iterator[Page]:
        # A qualification of KEY_LOOKUP_BATCH equalities keeps each URL a few kilobytes long;
        # a batch larger than a page goes on after the last key it was given.
        key_field = FORM_KEYS[form]
        fields = tuple(fields)
        wanted = sorted(set(keys))
        try:
            for start in range(0, len(wanted), KEY_LOOKUP_BATCH):
                batch = wanted[start : start + KEY_LOOKUP_BATCH]
                any_of = " OR ".join(f"'{key_field}' = {ar_string(key)}" for key in batch)
                last = ""
                while True:
                    q = f"({any_of})" + (f" AND '{key_field}' > {ar_string(last)}" if last else "")
                    values, more, _at = self._list_page(form, fields, q=q, sort=f"{key_field}.asc")
                    if values:
                        yield Page(values)
                    keyed = [v.get(key_field) for v in values if v.get(key_field)]
                    if not more or not keyed or str(keyed[-1]) == last:
                        break
                    last = str(keyed[-1])
        finally:
            if not self._entered:
                self.logout()

    def _payload(self, response: httpx.Response, payload: Any, form: str) -> dict[str, Any]:
        if response.status_code == 401:
            number, _text = _ar_message(response)
            raise SourceError(
                f"ITSM rejected a fresh session for user '{self.config.user}': "
                f"{_describe(response)}. Check the user's REST API permissions.",
                status=401,
                ar_number=number,
            )
        if 300 <= response.status_code < 400:
            raise SourceError(
                f"ITSM listing of {form} was redirected (HTTP {response.status_code}) to "
                f"{response.headers.get('Location', '?')}: a sign-on proxy in front of ITSM_URL? "
                "Point ITSM_URL at the AR REST API itself.",
                status=response.status_code,
            )
        if response.status_code != 200:
            number, _text = _ar_message(response)
            raise SourceError(
                f"ITSM listing of {form} failed with {_describe(response)}.",
                status=response.status_code,
                ar_number=number,
            )
        if not isinstance(payload, dict):
            raise SourceError(
                f"ITSM listing of {form} answered an unexpected document "
                f"({_short(response.text)}); check ITSM_URL points at the AR REST API."
            )
        return payload

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        authenticated: bool = True,
        as_json: bool = False,
        body: Any = None,
        retry: bool = True,
    ) -> tuple[httpx.Response, Any]:
        """Send one request: log in again once on 401, send it again after a passing failure.

        Passing failures (see _passing_failure, plus a body cut short or not JSON where JSON is
        due) are retried ITSM_RETRIES times with exponential backoff; then the SourceError is
        `retryable`, which a Celery task retries as its own transient error. Returns the
        response and, with `as_json`, the JSON of a 200 or 201 answer. `body` is sent as JSON.
        Without `retry` (a create: a lost answer may have made the entry) no failure is sent
        again, not even a 401's.
        """
        relogged = False
        attempt = 0
        while True:
            headers = {}
            if authenticated:
                if self._token is None:
                    self.login()
                headers["Authorization"] = f"AR-JWT {self._token}"
            response: httpx.Response | None = None
            payload: Any = None
            try:
                response = self._client.request(
                    method, url, params=params, data=data, json=body, headers=headers
                )
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 401 and authenticated and not relogged:
                    logger.info("ITSM session expired; logging in again")
                    relogged = True
                    self._token = None
                    continue
                reason = _passing_failure(response)
                if reason is None and as_json and response.status_code in (200, 201):
                    try:
                        payload = response.json()
                    except ValueError:
                        reason = (
                            "HTTP 200 with a body that is not whole JSON "
                            f"({len(response.content)} bytes, ending …{_short(response.text[-60:])})"
                        )
                if reason is None:
                    return response, payload
            if attempt >= self.config.retries or not retry:
                if response is None:
                    raise SourceError(
                        f"Cannot reach ITSM at {self.config.url} ({reason}) after {attempt + 1} "
                        "attempts. Check ITSM_URL and that the server is up.",
                        retryable=True,
                    )
                raise SourceError(
                    f"ITSM {method} {response.url.path} failed with {reason} after "
                    f"{attempt + 1} attempt(s). The server at {self.config.url}, or a proxy in "
                    "front of it, may be down or overloaded; it is tried again later.",
                    status=response.status_code,
                    ar_number=_ar_message(response)[0],
                    retryable=True,
                )
            self._wait(attempt, reason)
            attempt += 1

    # -- single entries: what fulfilment creates, reads and updates ---------------------------

    def _entry_url(self, form: str, entry: str = "") -> str:
        url = f"/api/arsys/v1/entry/{quote(form, safe=':')}"
        return f"{url}/{quote(entry, safe='')}" if entry else url

    def _refused(self, response: httpx.Response, what: str) -> SourceError:
        number, _text = _ar_message(response)
        return SourceError(
            f"ITSM refused to {what}: {_describe(response)}.",
            status=response.status_code,
            ar_number=number,
            retryable=response.status_code >= 500,
        )

    def create_entry(self, form: str, values: Values, *, answer: Iterable[str] = ()) -> Values:
        """Create one entry and return the `answer` fields of it (AR's `fields=values(…)`).

        Sent once: a create whose answer is lost may have made the entry, so every failure is
        raised (`retryable` when it may pass) and the caller looks the entry up before trying
        again.
        """
        answer = tuple(answer)
        params = {"fields": f"values({','.join(answer)})"} if answer else None
        response, payload = self._send(
            "POST",
            self._entry_url(form),
            params=params,
            body={"values": values},
            as_json=bool(answer),
            retry=False,
        )
        if response.status_code != 201:
            raise self._refused(response, f"create an entry in {form}")
        if not answer:
            return {}
        if not isinstance(payload, dict) or not isinstance(payload.get("values"), dict):
            raise SourceError(
                f"ITSM created an entry in {form} but answered no values "
                f"({_short(response.text)}).",
                retryable=True,
            )
        return payload["values"]

    def update_entry(self, form: str, entry: str, values: Values) -> None:
        """Merge values into one entry (PUT; sending it again changes nothing more)."""
        response, _ = self._send("PUT", self._entry_url(form, entry), body={"values": values})
        if response.status_code != 204:
            raise self._refused(response, f"update {form} entry {entry}")

    def get_entry(self, form: str, entry: str, fields: Iterable[str]) -> Values:
        """One entry's values."""
        params = {"fields": f"values({','.join(fields)})"}
        response, payload = self._send(
            "GET", self._entry_url(form, entry), params=params, as_json=True
        )
        if response.status_code != 200 or not isinstance(payload, dict):
            raise self._refused(response, f"read {form} entry {entry}")
        return payload.get("values") or {}

    def find_entries(
        self, form: str, q: str, fields: Iterable[str], *, limit: int = 10
    ) -> list[Values]:
        """The first `limit` entries `q` selects (a lookup, not a listing to page through)."""
        params = {"q": q, "fields": f"values({','.join(fields)})", "limit": limit}
        response, payload = self._send("GET", self._entry_url(form), params=params, as_json=True)
        if response.status_code != 200 or not isinstance(payload, dict):
            raise self._refused(response, f"search {form}")
        return [e.get("values") or {} for e in payload.get("entries") or [] if isinstance(e, dict)]

    def _wait(self, attempt: int, reason: str) -> None:
        delay = self.config.backoff * 2**attempt
        logger.warning(
            "ITSM request failed (%s); retry %d of %d in %.2fs",
            reason,
            attempt + 1,
            self.config.retries,
            delay,
        )
        self._sleep(delay)


class FileSource:
    """Reads companies and people from a JSON export {"COM:Company": [...], "CTM:People": [...]}."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        page_size: int = 1000,
        overlap: timedelta = timedelta(minutes=5),
    ) -> None:
        self.path = Path(path)
        self.page_size = max(1, page_size)
        self.overlap = overlap
        self.pages_fetched = 0
        self._data: dict[str, list[Values]] | None = None

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        """Nothing to release; present for symmetry with ARRestSource."""

    def _load(self) -> dict[str, list[Values]]:
        if self._data is None:
            try:
                with self.path.open(encoding="utf-8") as handle:
                    raw = json.load(handle)
            except FileNotFoundError:
                raise SourceError(
                    f"ITSM export file '{self.path}' does not exist. Check ITSM_FILE."
                ) from None
            except (OSError, ValueError) as exc:
                raise SourceError(
                    f"ITSM export file '{self.path}' cannot be read as JSON ({exc})."
                ) from None
            if not isinstance(raw, dict):
                raise SourceError(
                    f"ITSM export file '{self.path}' must hold an object with "
                    f'"{COMPANY_FORM}" and "{PEOPLE_FORM}" lists.'
                )
            self._data = {
                form: [_unwrap(row) for row in raw.get(form) or []]
                for form in (COMPANY_FORM, PEOPLE_FORM)
            }
        return self._data

    def iter_pages(
        self, form: str, since: datetime | None = None, after: str = ""
    ) -> Iterator[Page]:
        """Yield records of `form` modified at or after since - overlap, oldest first.

        `after` is a page's cursor: the (Last Modified Date, key) of its last record, where the
        listing goes on (the file may have been exported again meanwhile).
        """
        rows = self._load().get(form, [])
        key_field = FORM_KEYS.get(form, "")
        threshold = None
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            threshold = since - self.overlap
        floor = datetime.min.replace(tzinfo=UTC)
        dated: list[tuple[datetime, str, Values]] = []
        for row in rows:
            modified = _parse_or_none(row.get(LAST_MODIFIED))
            # Undated rows are always passed on so the sync can reject them with a reason.
            if threshold is None or modified is None or modified >= threshold:
                dated.append((modified or floor, str(row.get(key_field) or ""), row))
        dated.sort(key=lambda item: (item[0], item[1]))
        first = 0
        if after:
            mark = _file_mark(after)
            first = next(
                (n for n, item in enumerate(dated) if (item[0], item[1]) > mark), len(dated)
            )
        for start in range(first, len(dated), self.page_size):
            chunk = dated[start : start + self.page_size]
            self.pages_fetched += 1
            last_at, last_key, _row = chunk[-1]
            cursor = json.dumps({"at": last_at.isoformat(), "key": last_key})
            yield Page((row for _, _, row in chunk), cursor)

    def iter_company_pages(self, since: datetime | None = None, after: str = "") -> Iterator[Page]:
        """Yield pages of COM:Company values, oldest modification first."""
        return self.iter_pages(COMPANY_FORM, since, after)

    def iter_people_pages(self, since: datetime | None = None, after: str = "") -> Iterator[Page]:
        """Yield pages of CTM:People values, oldest modification first."""
        return self.iter_pages(PEOPLE_FORM, since, after)

    def iter_company_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]:
        """Yield pages of the COM:Company records the export has among these entry IDs."""
        return self._iter_by_key(COMPANY_FORM, keys)

    def iter_people_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]:
        """Yield pages of the CTM:People records the export has among these Person IDs."""
        return self._iter_by_key(PEOPLE_FORM, keys)

    def _iter_by_key(self, form: str, keys: Iterable[str]) -> Iterator[Page]:
        wanted, key_field = set(keys), FORM_KEYS[form]
        rows = [row for row in self._load().get(form, []) if str(row.get(key_field)) in wanted]
        for start in range(0, len(rows), self.page_size):
            self.pages_fetched += 1
            yield rows[start : start + self.page_size]


def _file_mark(after: str) -> tuple[datetime, str]:
    try:
        raw = json.loads(after)
        return datetime.fromisoformat(raw["at"]), str(raw["key"])
    except (ValueError, KeyError, TypeError):
        raise SourceError(f"Cannot go on with an export listing from {after!r}.") from None


def _unwrap(row: Any) -> Values:
    if isinstance(row, dict) and isinstance(row.get("values"), dict):
        return dict(row["values"])
    return dict(row) if isinstance(row, dict) else {}


def _parse_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_ar_datetime(value)
    except ValueError:
        return None


def write_export(
    path: str | os.PathLike[str], companies: Iterable[Values], people: Iterable[Values]
) -> Path:
    """Write a JSON export FileSource can read, atomically, and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump({COMPANY_FORM: list(companies), PEOPLE_FORM: list(people)}, handle)
    os.replace(temporary, target)
    return target
