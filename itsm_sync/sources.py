"""Where ITSM companies and people come from: the AR System REST API or a JSON export file.

Both sources yield pages (lists of AR `values` dicts, oldest `Last Modified Date` first) through
`iter_company_pages(since=None)` and `iter_people_pages(since=None)`; with `since`, only records
modified at or after `since - overlap` are returned.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
FORM_KEYS = {COMPANY_FORM: COMPANY_KEY, PEOPLE_FORM: PERSON_KEY}
# Keys asked for in one listing request when records are looked up by key.
KEY_LOOKUP_BATCH = 100

Values = dict[str, Any]
Page = list[Values]


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SourceConfig:
        """Read ITSM_URL, ITSM_USER, ITSM_PASSWORD, ITSM_PAGE_SIZE, ITSM_TIMEOUT, ITSM_RETRIES,
        ITSM_BACKOFF, ITSM_OVERLAP_SECONDS and ITSM_FILE, keeping defaults for unset ones."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "url": env.get("ITSM_URL", "").strip().rstrip("/"),
            "user": env.get("ITSM_USER", ""),
            "password": env.get("ITSM_PASSWORD", ""),
            "file": env.get("ITSM_FILE", "").strip(),
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
        return cls(**{k: v for k, v in values.items() if v is not None})


class Source(Protocol):
    """What the sync needs from a source of companies and people."""

    pages_fetched: int

    # `start` skips that many records of the listing: a full run's later step goes on there.
    def iter_company_pages(
        self, since: datetime | None = None, start: int = 0
    ) -> Iterator[Page]: ...

    def iter_people_pages(
        self, since: datetime | None = None, start: int = 0
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


def _ar_message(response: httpx.Response) -> tuple[int | None, str]:
    """Return (AR message number, readable text) from an AR error array, if there is one."""
    try:
        payload = response.json()
    except ValueError:
        return None, response.text.strip()[:200] or response.reason_phrase
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        first = payload[0]
        text = str(first.get("messageText") or "").strip()
        appended = str(first.get("messageAppendedText") or "").strip()
        number = first.get("messageNumber")
        return (number if isinstance(number, int) else None), (
            f"{text} ({appended})" if appended else text
        )
    return None, str(payload)[:200]


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
        response = self._send(
            "POST",
            "/api/jwt/login",
            data={"username": user, "password": self.config.password},
            authenticated=False,
        )
        if response.status_code == 200 and response.text.strip():
            self._token = response.text.strip()
            return
        number, text = _ar_message(response)
        if response.status_code in (401, 403) or number == 623:
            raise SourceError(
                f"ITSM login failed for user '{user}' (AR {number or 623}: {text}). "
                "Check ITSM_USER and ITSM_PASSWORD.",
                status=response.status_code,
                ar_number=number,
            )
        raise SourceError(
            f"ITSM login for user '{user}' answered HTTP {response.status_code}: {text}. "
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
        sort: str | None = None,
        q: str | None = None,
        start: int = 0,
    ) -> Iterator[Page]:
        """Yield the `values` of each non-empty page (one HTTP response), following next links.

        `start` skips that many records of the listing (the offset of the first request).
        """
        if sort is None:
            key = FORM_KEYS.get(form)
            sort = f"{LAST_MODIFIED}.asc" + (f",{key}.asc" if key else "")
        first: dict[str, Any] = {
            "fields": f"values({','.join(fields)})",
            "sort": sort,
            "offset": start,
            "limit": self.config.page_size,
        }
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            threshold = format_ar_datetime(since - self.config.overlap)
            q = f"'{LAST_MODIFIED}' >= \"{threshold}\"" + (f" AND ({q})" if q else "")
        if q:
            first["q"] = q
        params: Mapping[str, Any] | None = first
        url: str | None = f"/api/arsys/v1/entry/{quote(form, safe=':')}"
        seen: set[str] = set()
        try:
            while url is not None:
                response = self._send("GET", url, params=params)
                payload = self._payload(response, form)
                self.pages_fetched += 1
                entries = payload.get("entries") or []
                page = [entry.get("values") or {} for entry in entries]
                if page:
                    yield page
                following = (payload.get("_links") or {}).get("next") or []
                url = following[0].get("href") if following else None
                if url is not None:
                    if url in seen:
                        raise SourceError(f"ITSM paging loops on {url}; stopping.")
                    seen.add(url)
                params = None
        finally:
            if not self._entered:
                self.logout()

    def iter_company_pages(self, since: datetime | None = None, start: int = 0) -> Iterator[Page]:
        """Yield pages of COM:Company values, oldest modification first."""
        return self.iter_pages(COMPANY_FORM, COMPANY_FIELDS, since, start=start)

    def iter_people_pages(self, since: datetime | None = None, start: int = 0) -> Iterator[Page]:
        """Yield pages of CTM:People values, oldest modification first."""
        return self.iter_pages(PEOPLE_FORM, PEOPLE_FIELDS, since, start=start)

    def iter_company_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]:
        """Yield pages of the COM:Company records the source has among these entry IDs."""
        return self._iter_by_key(COMPANY_FORM, COMPANY_FIELDS, keys)

    def iter_people_pages_by_key(self, keys: Iterable[str]) -> Iterator[Page]:
        """Yield pages of the CTM:People records the source has among these Person IDs."""
        return self._iter_by_key(PEOPLE_FORM, PEOPLE_FIELDS, keys)

    def _iter_by_key(self, form: str, fields: Iterable[str], keys: Iterable[str]) -> Iterator[Page]:
        # A qualification of KEY_LOOKUP_BATCH equalities keeps each URL a few kilobytes long.
        key_field = FORM_KEYS[form]
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), KEY_LOOKUP_BATCH):
            batch = wanted[start : start + KEY_LOOKUP_BATCH]
            q = " OR ".join(f"'{key_field}' = {ar_string(key)}" for key in batch)
            yield from self.iter_pages(form, fields, sort=f"{key_field}.asc", q=q)

    def _payload(self, response: httpx.Response, form: str) -> dict[str, Any]:
        if response.status_code == 401:
            number, text = _ar_message(response)
            raise SourceError(
                f"ITSM rejected a fresh session for user '{self.config.user}' "
                f"(AR {number}: {text}). Check the user's REST API permissions.",
                status=401,
                ar_number=number,
            )
        if response.status_code != 200:
            number, text = _ar_message(response)
            raise SourceError(
                f"ITSM listing of {form} failed with HTTP {response.status_code} "
                f"(AR {number}: {text}).",
                status=response.status_code,
                ar_number=number,
            )
        try:
            payload = response.json()
        except ValueError:
            raise SourceError(
                f"ITSM listing of {form} did not answer JSON; check ITSM_URL.",
                status=response.status_code,
            ) from None
        if not isinstance(payload, dict):
            raise SourceError(f"ITSM listing of {form} answered an unexpected document.")
        return payload

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """Send one request, logging in again once on 401 and retrying transient failures."""
        relogged = False
        attempt = 0
        while True:
            headers = {}
            if authenticated:
                if self._token is None:
                    self.login()
                headers["Authorization"] = f"AR-JWT {self._token}"
            try:
                response = self._client.request(
                    method, url, params=params, data=data, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt >= self.config.retries:
                    raise SourceError(
                        f"Cannot reach ITSM at {self.config.url} ({type(exc).__name__}: {exc}) "
                        f"after {attempt + 1} attempts. Check ITSM_URL and that the server is up.",
                        retryable=True,
                    ) from exc
                self._wait(attempt, f"{type(exc).__name__}: {exc}")
                attempt += 1
                continue
            if response.status_code == 401 and authenticated and not relogged:
                logger.info("ITSM session expired; logging in again")
                relogged = True
                self._token = None
                continue
            if response.status_code >= 500:
                number, text = _ar_message(response)
                reason = f"HTTP {response.status_code} (AR {number}: {text})"
                if attempt >= self.config.retries:
                    raise SourceError(
                        f"ITSM {method} {response.url.path} failed with {reason} after "
                        f"{attempt + 1} attempts; the server may be down or overloaded.",
                        status=response.status_code,
                        ar_number=number,
                        retryable=True,
                    )
                self._wait(attempt, reason)
                attempt += 1
                continue
            return response

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
        self, form: str, since: datetime | None = None, start: int = 0
    ) -> Iterator[Page]:
        """Yield records of `form` modified at or after since - overlap, oldest first.

        `start` skips that many records of that listing.
        """
        rows = self._load().get(form, [])
        key_field = FORM_KEYS.get(form, "")
        threshold = None
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            threshold = since - self.overlap
        dated: list[tuple[datetime | None, str, Values]] = []
        for row in rows:
            modified = _parse_or_none(row.get(LAST_MODIFIED))
            # Undated rows are always passed on so the sync can reject them with a reason.
            if threshold is None or modified is None or modified >= threshold:
                dated.append((modified, str(row.get(key_field) or ""), row))
        floor = datetime.min.replace(tzinfo=UTC)
        dated.sort(key=lambda item: (item[0] or floor, item[1]))
        for first in range(start, len(dated), self.page_size):
            self.pages_fetched += 1
            yield [row for _, _, row in dated[first : first + self.page_size]]

    def iter_company_pages(self, since: datetime | None = None, start: int = 0) -> Iterator[Page]:
        """Yield pages of COM:Company values, oldest modification first."""
        return self.iter_pages(COMPANY_FORM, since, start)

    def iter_people_pages(self, since: datetime | None = None, start: int = 0) -> Iterator[Page]:
        """Yield pages of CTM:People values, oldest modification first."""
        return self.iter_pages(PEOPLE_FORM, since, start)

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
