"""The AR System REST API simulator: in-memory COM:Company and CTM:People with fault injection.

Server settings and fault knobs (constructor arguments, `POST /__sim/faults`, or
`Simulator.set_faults`):

- ``token_lifetime=S`` (default 3600, as AR's JWT): a token stops working S seconds (by the
  simulator's clock) after its login; 0: never by time.
- ``max_entries=N`` (default 2000, as AR's "Max Entries Returned by GetList"): a listing page
  holds at most N entries whatever ``limit`` asks (0: no cap); a `next` link follows while
  more remain, so a page shorter than asked is not the end.

- ``fail_list_request=N``: the Nth list request counted from when the knob is set answers 500
  with AR error 552, once; the knob then clears itself.
- ``delay_ms=N``: every API call (not ``/__sim/*``) sleeps N ms before answering.
- ``expire_tokens_after=N``: a token stops working after N authenticated requests; the next
  request with it gets 401 (AR 623, "token has expired").
- ``change_during_paging=N``: the next N listing pages that more pages follow each have their
  first record modified right after they are served (its Last Modified Date stamped now, and a
  field changed: people ``Department``, companies ``Company Abbreviation``), as ITSM users do
  while a sync pages. In a listing by Last Modified Date that record moves to the end, and the
  record behind the page boundary slides into the page already served: a client paging by
  offset skips it. The knob counts down to 0.
- ``single_field_sort=1``: listings sort by the first ``sort`` field only (AR documents no
  second one) and entries that tie on it come in a different order on every request, as a
  database returns rows of equal sort value; a client paging by offset then skips some and
  meets others twice.
- ``older_server=1``: behave like an AR server older than 19.08, which reads date literals in
  a qualification only as epoch seconds: an ISO-8601 one is refused (400, AR 1587).
- ``links_base="http://host:port"``: the ``_links`` hrefs (``self``, ``next``) and the
  ``Location`` of a created entry name that base URL instead of the one the request came to,
  as a proxy in front of AR may rewrite them (or an attacker would like them); "" restores it.
- ``html_errors=N``: the next N API requests (a login too) answer ``html_error_status``
  (default 502) with an HTML error page, as Jetty or a proxy in front of AR does.
- ``truncated_bodies=N``: the next N listing answers are cut off halfway through their JSON
  (a 200 whose body ends early, as a dropped proxy connection leaves it).
- ``busy=N``: the next N API requests after login answer AR error 9093 (HTTP 500), as AR does
  to concurrent requests of one user.
- ``malformed=K``: the K entries that come first in a listing's sort order over the whole form
  are served corrupted wherever a listing in that order serves them (the stored data is
  untouched). The entry at position i of that order gets corruption i % 4:
  people: 0 no ``Person ID`` key, 1 ``Last Modified Date`` = "not-a-date", 2 ``Company`` = a
  Manufacturer company, 3 ``Company`` = "Unknown Company (simulated)"; companies: 0 no
  ``Company Entry ID`` key, 1 bad ``Last Modified Date``, 2 ``Company Type`` = "Bogus Type",
  3 ``Company`` = null.
- ``lose_create_responses=N``: the next N creates through a ticket interface form
  (``WOI:WorkOrderInterface_Create``, ``HPD:IncidentInterface_Create``) make their ticket, then
  the connection is closed without an answer, as a proxy timing out or a dropped link leaves it.
- ``fail_creates=N``: the next N ticket creates answer 500 (AR 552) and make nothing.
- ``create_delay_ms=N``: every ticket create sleeps N ms before it makes the ticket.
- ``lose_create_every=N``: every Nth ticket create (counted from when it is set) loses its
  answer as ``lose_create_responses`` does, for as long as it is set (20: 5 % of them).

Control endpoints: ``GET /__sim/health``, ``GET /__sim/stats``, ``GET|POST /__sim/faults``,
``POST /__sim/reset`` (clears faults and counters; body ``{"data": true}`` also regenerates data),
``GET /__sim/tickets`` (every ticket with its notes), ``POST /__sim/tickets/<number>`` (a
technician's act: ``{"status", "reason", "note", "view_access"}``) and ``GET /__sim/console``
(the same as a page with buttons). See `tickets.py`.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from .data import (
    COMPANY_FORM,
    DEFAULT_ANCHOR,
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    FORMS,
    LAST_MODIFIED,
    PEOPLE_FORM,
    FormSpec,
    date_key,
    entry_id,
    format_ar_datetime,
    generate_dataset,
)
from .handler import (
    DEFAULT_LIMIT,
    ARError,
    SimulatorHandler,
    SimulatorHTTPServer,
    field_missing,
    unauthorized,
)
from .qualification import (
    DateRange,
    QualificationError,
    compile_qualification,
    split_date_range,
)
from .tickets import INTERFACES, NOTE_FORMS, TICKET_FORMS, WORK_STARTED

Record = dict[str, Any]
_CACHE_SIZE = 64
# AR's "Max Entries Returned by GetList" as a server ships.
DEFAULT_MAX_ENTRIES = 2000
# Seconds an AR-JWT token lives.
DEFAULT_TOKEN_LIFETIME = 3600
_UNKNOWN_COMPANY = "Unknown Company (simulated)"
# Orders tied entries under single_field_sort; not seeded: no order of them may be relied on.
_TIES = random.Random()


@dataclass
class Faults:
    """The fault-injection settings in force."""

    fail_list_request: int | None = None
    delay_ms: int = 0
    expire_tokens_after: int | None = None
    malformed: int = 0
    change_during_paging: int = 0
    max_entries: int = DEFAULT_MAX_ENTRIES
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    single_field_sort: int = 0
    older_server: int = 0
    links_base: str = ""
    html_errors: int = 0
    html_error_status: int = 502
    truncated_bodies: int = 0
    busy: int = 0
    lose_create_responses: int = 0
    fail_creates: int = 0
    create_delay_ms: int = 0
    lose_create_every: int = 0


_TEXT_SETTINGS = frozenset({"links_base"})
# The counter a counting fault adds to each time it applies.
_FAULT_STATS = {
    "busy": "busy_answers",
    "lose_create_responses": "lost_create_responses",
    "fail_creates": "failed_creates",
}

_STAT_NAMES = (
    "requests",
    "logins",
    "failed_logins",
    "logouts",
    "unauthorized",
    "list_requests",
    "get_requests",
    "creates",
    "updates",
    "deletes",
    "injected_failures",
    "expired_tokens",
    "malformed_records",
    "changed_during_paging",
    "html_errors",
    "truncated_bodies",
    "busy_answers",
    "tickets_created",
    "lost_create_responses",
    "failed_creates",
)


class _FormStore:
    """The entries of one form plus a cache of filtered, sorted listings."""

    def __init__(self, spec: FormSpec, rows: list[Record]) -> None:
        self.spec = spec
        # False: like a server older than AR 19.08, no ISO-8601 date literal in a qualification.
        self.iso_dates = True
        self.records: dict[str, Record] = {row[spec.id_field]: dict(row) for row in rows}
        self.next_number = len(self.records) + 1
        self.cache: OrderedDict[tuple[str, str], list[Record]] = OrderedDict()

    def new_id(self) -> str:
        while True:
            candidate = entry_id(self.spec.id_prefix, self.next_number)
            self.next_number += 1
            if candidate not in self.records:
                return candidate

    def listing(self, q: str, sort: str) -> list[Record]:
        key = (q, sort)
        rows = self.cache.get(key)
        if rows is not None:
            self.cache.move_to_end(key)
            return rows
        rows = self._compute(q, sort)
        self._remember(key, rows)
        return rows

    def _remember(self, key: tuple[str, str], value: Any) -> None:
        self.cache[key] = value
        if len(self.cache) > _CACHE_SIZE:
            self.cache.popitem(last=False)

    def selection(self, q: str, sort: str) -> tuple[list[Record], int, int]:
        """The entries `q` selects in `sort` order, as rows[low:high] of a listing.

        A qualification that bounds a date field (a range ANDed with anything else) is served
        by bisecting a cached listing sorted on that field, as a database serves it from an
        index: a client paging through a million entries by keyset costs a page each time, and
        one second's entries in key order cost that second's entries.
        """
        order = self.parse_sort(sort)
        if q.strip():
            for name in self.spec.date_fields:
                try:
                    split = split_date_range(q, name, iso_dates=self.iso_dates)
                except QualificationError as exc:
                    raise ARError(400, exc.number, exc.text, exc.appended) from exc
                if split is None:
                    continue
                if order and order[0] == (name, False):
                    return self._date_range(split, split.rest, sort, name)
                rows, low, high = self._date_range(split, "", f"{name}.asc", name)
                selected = rows[low:high]
                if split.rest:
                    keep = self._predicate(split.rest)
                    selected = [row for row in selected if keep(row)]
                return self._sorted(selected, order), 0, len(selected)
        rows = self.listing(q, sort)
        return rows, 0, len(rows)

    def _date_range(
        self, split: DateRange, q: str, sort: str, name: str
    ) -> tuple[list[Record], int, int]:
        rows = self.listing(q, sort)
        keys = self._date_keys(q, sort, name, rows)
        low, high = 0, len(rows)
        if split.low is not None:
            low = (bisect_left if split.low_inclusive else bisect_right)(keys, split.low)
        if split.high is not None:
            high = (bisect_right if split.high_inclusive else bisect_left)(keys, split.high)
        return rows, low, max(low, high)

    def _date_keys(self, q: str, sort: str, name: str, rows: list[Record]) -> list[str]:
        key = ("\x00keys", q + "\x00" + sort)
        keys = self.cache.get(key)
        if keys is None:
            keys = [date_key(row.get(name)) or "" for row in rows]
            self._remember(key, keys)
        return keys

    def first_positions(self, sort: str, count: int) -> dict[str, int]:
        """The ids of the first `count` entries in `sort` order over the whole form."""
        key = ("\x00first", f"{sort}\x00{count}")
        found = self.cache.get(key)
        if found is None:
            rows = self.listing("", sort)[:count]
            found = {row[self.spec.id_field]: n for n, row in enumerate(rows)}
            self._remember(key, found)
        return found

    def _compute(self, q: str, sort: str) -> list[Record]:
        if q.strip():
            predicate = self._predicate(q)
            rows = [row for row in self.records.values() if predicate(row)]
        else:
            rows = list(self.records.values())
        return self._sorted(rows, self.parse_sort(sort))

    def _predicate(self, q: str) -> Callable[[Record], bool]:
        try:
            return compile_qualification(
                q, self.spec.fields, self.spec.date_fields, iso_dates=self.iso_dates
            )
        except QualificationError as exc:
            raise ARError(400, exc.number, exc.text, exc.appended) from exc

    def _sorted(self, rows: list[Record], order: list[tuple[str, bool]]) -> list[Record]:
        for name, descending in reversed(order):
            if name in self.spec.date_fields:
                rows.sort(key=lambda r, n=name: date_key(r.get(n)) or "", reverse=descending)
            else:
                rows.sort(key=lambda r, n=name: _sort_text(r.get(n)), reverse=descending)
        return rows

    def scramble_ties(self, rows: list[Record], sort: str) -> list[Record]:
        """The rows with each run of equal sort values in a new random order."""
        order = self.parse_sort(sort)
        if not order:
            return rows
        name = order[0][0]
        value = date_key if name in self.spec.date_fields else _sort_text
        scrambled: list[Record] = []
        group: list[Record] = []
        for row in rows:
            if group and value(row.get(name)) != value(group[0].get(name)):
                _TIES.shuffle(group)
                scrambled += group
                group = []
            group.append(row)
        _TIES.shuffle(group)
        return scrambled + group

    def parse_sort(self, sort: str) -> list[tuple[str, bool]]:
        order = []
        for part in filter(None, (p.strip() for p in sort.split(","))):
            name, _, direction = part.rpartition(".")
            if not name or direction.lower() not in ("asc", "desc"):
                name, direction = part, "asc"
            if name not in self.spec.fields:
                raise field_missing(name)
            order.append((name, direction.lower() == "desc"))
        return order

    def changed(self) -> None:
        self.cache.clear()


def _sort_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _field_alias(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class Simulator:
    """An AR System REST API simulator serving generated companies and people over HTTP."""

    def __init__(
        self,
        companies: int = 40,
        people: int = 2000,
        seed: int = 1,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        *,
        fail_list_request: int | None = None,
        delay_ms: int = 0,
        expire_tokens_after: int | None = None,
        malformed: int = 0,
        anchor: datetime = DEFAULT_ANCHOR,
        clock: Callable[[], datetime] | None = None,
        verbose: bool = False,
    ) -> None:
        self.companies_count = companies
        self.people_count = people
        self.seed = seed
        self.anchor = anchor
        self.user = user
        self.password = password
        self.verbose = verbose
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        # token -> [authenticated requests made with it, epoch seconds of its login]
        self._tokens: dict[str, list[float]] = {}
        self._stats = dict.fromkeys(_STAT_NAMES, 0)
        self._faults = Faults()
        self._list_since_fault = 0
        self._stores: dict[str, _FormStore] = {}
        self._load_data()
        self.set_faults(
            fail_list_request=fail_list_request,
            delay_ms=delay_ms,
            expire_tokens_after=expire_tokens_after,
            malformed=malformed,
        )
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Start serving in a background thread and return the bound port."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        handler = type("BoundHandler", (SimulatorHandler,), {"simulator": self})
        self._server = SimulatorHTTPServer((host, port), handler)
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"ar-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. http://127.0.0.1:8008."""
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def __enter__(self) -> Simulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control ---------------------------------------------------------------------------

    def set_faults(self, **settings: Any) -> Faults:
        """Change fault knobs by name (None or 0 disables one) and return the settings in force."""
        known = {f.name for f in fields(Faults)}
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}; known: {known}")
        with self._lock:
            for name, value in settings.items():
                if name in _TEXT_SETTINGS:
                    if value is not None and not isinstance(value, str):
                        raise ValueError(f"fault {name} must be text or null")
                    setattr(self._faults, name, (value or "").rstrip("/"))
                    continue
                if value is not None and (not isinstance(value, int) or value < 0):
                    raise ValueError(f"fault {name} must be a non-negative integer or null")
                if name in ("fail_list_request", "expire_tokens_after"):
                    value = value or None
                elif name == "html_error_status":
                    value = value or 502
                else:
                    value = value or 0
                setattr(self._faults, name, value)
                if name == "fail_list_request":
                    self._list_since_fault = 0
                if name == "lose_create_every":
                    self._creates_since_lose = 0
            self._apply_server_mode()
            return Faults(**asdict(self._faults))

    def _apply_server_mode(self) -> None:
        for store in self._stores.values():
            iso_dates = not self._faults.older_server
            if store.iso_dates != iso_dates:
                store.iso_dates = iso_dates
                store.changed()

    @property
    def faults(self) -> Faults:
        """A copy of the fault settings in force."""
        with self._lock:
            return Faults(**asdict(self._faults))

    def stats(self) -> dict[str, Any]:
        """Return request counters, fault settings and entry counts."""
        with self._lock:
            return {
                **self._stats,
                "active_tokens": len(self._tokens),
                "faults": asdict(self._faults),
                "entries": {name: len(store.records) for name, store in self._stores.items()},
            }

    def reset(self, *, data: bool = False) -> None:
        """Clear faults and counters; with data=True also restore the generated dataset."""
        with self._lock:
            self._faults = Faults()
            self._list_since_fault = 0
            self._stats = dict.fromkeys(_STAT_NAMES, 0)
            if data:
                self._load_data()
            self._apply_server_mode()

    def _load_data(self) -> None:
        dataset = generate_dataset(
            self.companies_count, self.people_count, self.seed, anchor=self.anchor
        )
        with self._lock:
            self._stores = {name: _FormStore(FORMS[name], rows) for name, rows in dataset.items()}
            self._stores.update({name: _FormStore(spec, []) for name, spec in TICKET_FORMS.items()})

    # -- in-process data access ------------------------------------------------------------

    def dataset(self) -> dict[str, list[Record]]:
        """Return a copy of every entry, per form, in id order."""
        with self._lock:
            return {
                name: [dict(row) for row in store.records.values()]
                for name, store in self._stores.items()
            }

    def companies(self) -> list[Record]:
        """Return a copy of every COM:Company entry."""
        return self.dataset()[COMPANY_FORM]

    def people(self) -> list[Record]:
        """Return a copy of every CTM:People entry."""
        return self.dataset()[PEOPLE_FORM]

    def get_company(self, company_id: str) -> Record:
        """Return a copy of one company by Company Entry ID."""
        return self.get_entry(COMPANY_FORM, company_id)

    def get_person(self, person_id: str) -> Record:
        """Return a copy of one person by Person ID."""
        return self.get_entry(PEOPLE_FORM, person_id)

    def create_company(self, **values: Any) -> str:
        """Create a company (keys are field names or snake_case aliases) and return its id."""
        return self.create_entry(COMPANY_FORM, self._resolve(COMPANY_FORM, values), validate=False)

    def create_person(self, **values: Any) -> str:
        """Create a person (keys are field names or snake_case aliases) and return its id."""
        return self.create_entry(PEOPLE_FORM, self._resolve(PEOPLE_FORM, values), validate=False)

    def update_company(self, company_id: str, **values: Any) -> Record:
        """Merge values into a company, stamping Last Modified Date unless one is given."""
        resolved = self._resolve(COMPANY_FORM, values)
        return self.update_entry(COMPANY_FORM, company_id, resolved, validate=False)

    def update_person(self, person_id: str, **values: Any) -> Record:
        """Merge values into a person, stamping Last Modified Date unless one is given."""
        resolved = self._resolve(PEOPLE_FORM, values)
        return self.update_entry(PEOPLE_FORM, person_id, resolved, validate=False)

    def delete_company(self, company_id: str) -> None:
        """Delete a company."""
        self.delete_entry(COMPANY_FORM, company_id)

    def delete_person(self, person_id: str) -> None:
        """Delete a person."""
        self.delete_entry(PEOPLE_FORM, person_id)

    def _resolve(self, form: str, values: dict[str, Any]) -> Record:
        spec = FORMS[form]
        aliases = {_field_alias(name): name for name in spec.fields}
        resolved = {}
        for key, value in values.items():
            name = key if key in spec.fields else aliases.get(_field_alias(key))
            if name is None:
                raise KeyError(f"{form} has no field {key!r}")
            resolved[name] = value
        return resolved

    def timestamp(self) -> float:
        """The simulator's clock as epoch seconds (its HTTP Date header)."""
        return self._clock().timestamp()

    def now(self) -> str:
        """Return the current time as an AR date with whole seconds, as AR stores it."""
        return format_ar_datetime(self._clock().replace(microsecond=0))

    # -- store operations (shared by HTTP and in-process callers) ---------------------------

    def form_spec(self, form: str) -> FormSpec:
        """Return the definition of a served form or raise ARError 303."""
        return self._store(form).spec

    def _store(self, form: str) -> _FormStore:
        store = self._stores.get(form)
        if store is None:
            raise ARError(404, 303, "Form does not exist on server", form)
        return store

    def get_entry(self, form: str, entry: str) -> Record:
        """Return a copy of one entry or raise ARError 302."""
        with self._lock:
            record = self._store(form).records.get(entry)
            if record is None:
                raise ARError(404, 302, "Entry does not exist in database", entry)
            return dict(record)

    def create_entry(self, form: str, values: Record, *, validate: bool = True) -> str:
        """Create an entry, generating its id if absent, and return the id."""
        with self._lock:
            store = self._store(form)
            spec = store.spec
            self._check_values(spec, values, validate=validate, creating=True)
            record: Record = dict.fromkeys(spec.fields)
            record.update(values)
            if validate or LAST_MODIFIED not in values:
                record[LAST_MODIFIED] = self.now()
            entry = record.get(spec.id_field) or store.new_id()
            if entry in store.records:
                raise ARError(
                    400,
                    382,
                    "The value(s) for this entry violate a unique index that has been defined "
                    "for this form",
                    f"{spec.id_field} {entry}",
                )
            record[spec.id_field] = entry
            store.records[entry] = record
            store.changed()
            return entry

    def update_entry(
        self, form: str, entry: str, values: Record, *, validate: bool = True
    ) -> Record:
        """Merge values into an entry and return a copy of the result."""
        with self._lock:
            store = self._store(form)
            spec = store.spec
            current = store.records.get(entry)
            if current is None:
                raise ARError(404, 302, "Entry does not exist in database", entry)
            self._check_values(spec, values, validate=validate, creating=False)
            if values.get(spec.id_field, entry) != entry:
                raise ARError(400, 8, f"{spec.id_field} cannot be changed", entry)
            record = {**current, **values}
            if validate or LAST_MODIFIED not in values:
                record[LAST_MODIFIED] = self.now()
            store.records[entry] = record
            store.changed()
            return dict(record)

    def delete_entry(self, form: str, entry: str) -> None:
        """Delete an entry or raise ARError 302."""
        with self._lock:
            store = self._store(form)
            if store.records.pop(entry, None) is None:
                raise ARError(404, 302, "Entry does not exist in database", entry)
            store.changed()

    @staticmethod
    def _check_values(spec: FormSpec, values: Record, *, validate: bool, creating: bool) -> None:
        for name in values:
            if name not in spec.fields:
                raise field_missing(name)
        if not validate:
            return
        for name, value in values.items():
            allowed = spec.choices.get(name)
            if allowed and value is not None and value not in allowed:
                raise ARError(
                    400,
                    306,
                    "Value does not fall within the limits specified for the field",
                    f"{name}: {value!r} (allowed: {', '.join(allowed)})",
                )
        if creating:
            for name in spec.required:
                if values.get(name) in (None, ""):
                    raise ARError(
                        400, 307, "Required field (without a default) not specified", name
                    )

    def list_entries(
        self, form: str, *, q: str = "", sort: str = "", offset: int = 0, limit: int = DEFAULT_LIMIT
    ) -> tuple[list[Record], bool]:
        """Return (copies of one page of entries, whether more follow), applying the faults."""
        with self._lock:
            store = self._store(form)
            if self._faults.single_field_sort:
                sort = sort.split(",", 1)[0]
            rows, low, high = store.selection(q, sort)
            if self._faults.single_field_sort:
                rows, low, high = store.scramble_ties(rows[low:high], sort), 0, high - low
            cap = self._faults.max_entries
            start = low + offset
            end = min(high, start + (min(limit, cap) if cap else limit))
            page = [dict(row) for row in rows[start:end]]
            more = end < high
            bad = self._faults.malformed
            if bad and page:
                first = store.first_positions(sort, bad)
                id_field = store.spec.id_field
                for record in page:
                    position = first.get(record[id_field])
                    if position is not None:
                        self._corrupt(form, record, position % 4)
                        self._stats["malformed_records"] += 1
            if self._faults.change_during_paging and page and more:
                self._faults.change_during_paging -= 1
                self._change_while_listed(form, rows[start][store.spec.id_field])
            return page, more

    def _change_while_listed(self, form: str, entry: str) -> None:
        self._stats["changed_during_paging"] += 1
        number = self._stats["changed_during_paging"]
        if form == PEOPLE_FORM:
            values: Record = {"Department": f"Changed while listed {number}"}
        else:
            values = {"Company Abbreviation": f"CHG{number}"}
        self.update_entry(form, entry, values, validate=False)

    def _corrupt(self, form: str, record: Record, kind: int) -> None:
        if kind == 1:
            record[LAST_MODIFIED] = "not-a-date"
        elif form == PEOPLE_FORM:
            if kind == 0:
                record.pop("Person ID", None)
            elif kind == 2:
                record["Company"] = self._manufacturer_name()
            else:
                record["Company"] = _UNKNOWN_COMPANY
        elif kind == 0:
            record.pop("Company Entry ID", None)
        elif kind == 2:
            record["Company Type"] = "Bogus Type"
        else:
            record["Company"] = None

    def _manufacturer_name(self) -> str:
        for row in self._stores[COMPANY_FORM].records.values():
            if row.get("Company Type") == "Manufacturer":
                return str(row["Company"])
        return "Simulated Manufacturer Inc."

    # -- HTTP-level hooks used by the handler -------------------------------------------------

    def record_request(self, name: str) -> None:
        """Add one to a request counter."""
        with self._lock:
            self._stats[name] += 1

    def open_session(self, username: str, password: str) -> str:
        """Check credentials and return a new token, or raise AR 623."""
        with self._lock:
            if username != self.user or password != self.password:
                self._stats["failed_logins"] += 1
                raise ARError(
                    401,
                    623,
                    "Authentication failed",
                    f"Wrong user name or password for user '{username}'",
                )
            token = secrets.token_urlsafe(32)
            self._tokens[token] = [0, self.timestamp()]
            self._stats["logins"] += 1
            return token

    def close_session(self, authorization: str) -> None:
        """Forget the token in an Authorization header, if known."""
        token = authorization.partition(" ")[2].strip()
        with self._lock:
            self._tokens.pop(token, None)
            self._stats["logouts"] += 1

    def authenticate(self, authorization: str) -> None:
        """Accept a live `AR-JWT <token>` header and count its use, or raise 401."""
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        with self._lock:
            if scheme != "AR-JWT" or not token:
                self._stats["unauthorized"] += 1
                raise unauthorized("Missing 'Authorization: AR-JWT <token>' header; log in first")
            known = self._tokens.get(token)
            if known is None:
                self._stats["unauthorized"] += 1
                raise unauthorized("The AR-JWT token is invalid or has expired; log in again")
            uses, issued = known
            limit = self._faults.expire_tokens_after
            lifetime = self._faults.token_lifetime
            if (limit is not None and uses >= limit) or (
                lifetime and self.timestamp() - issued >= lifetime
            ):
                del self._tokens[token]
                self._stats["unauthorized"] += 1
                self._stats["expired_tokens"] += 1
                raise unauthorized("The AR-JWT token has expired; log in again")
            known[0] = uses + 1

    def take_fault(self, name: str) -> bool:
        """Use up one of the requests a counting fault (html_errors, truncated_bodies, busy)
        still applies to; False when it applies to none any more."""
        with self._lock:
            left = getattr(self._faults, name)
            if not left:
                return False
            setattr(self._faults, name, left - 1)
            self._stats[_FAULT_STATS.get(name, name)] += 1
            return True

    def begin_list(self) -> None:
        """Count a list request and fail it when `fail_list_request` says so."""
        with self._lock:
            self._stats["list_requests"] += 1
            target = self._faults.fail_list_request
            if target is None:
                return
            self._list_since_fault += 1
            if self._list_since_fault == target:
                self._faults.fail_list_request = None
                self._stats["injected_failures"] += 1
                raise ARError(
                    500,
                    552,
                    "The SQL database operation failed.",
                    "Simulated failure (fail_list_request)",
                )

    # -- tickets (tickets.py): work orders, their notes, incidents --------------------------

    def create_ticket(self, form: str, values: Record) -> str:
        """Create through an interface form as AR's workflow does: the interface entry and the
        ticket it makes, in one step; returns the interface entry's id, which holds the ticket's
        number."""
        ticket_form, number_field, answer_field = INTERFACES[form]
        with self._lock:
            interface = self._store(form)
            self._check_values(interface.spec, values, validate=True, creating=True)
            if self._faults.fail_creates:
                self._faults.fail_creates -= 1
                self._stats["failed_creates"] += 1
                raise ARError(
                    500, 552, "The SQL database operation failed.", "Simulated (fail_creates)"
                )
            store = self._store(ticket_form)
            number = f"{'WO' if number_field == 'Work Order ID' else 'INC'}{store.next_number:013d}"
            shared = {
                name: value
                for name, value in values.items()
                if name in store.spec.fields and name not in ("Request ID", "z1D_Action")
            }
            now = self.now()
            status = shared.get("Status") or (
                "Assigned" if number_field == "Work Order ID" else "New"
            )
            self.create_entry(
                ticket_form,
                {**shared, number_field: number, "Status": status, "Submit Date": now},
            )
            entry = self.create_entry(form, {**values, answer_field: number}, validate=False)
            self._stats["tickets_created"] += 1
            return entry

    def take_lost_create(self) -> bool:
        """Whether the answer of the create just made is to be lost (either knob)."""
        if self.take_fault("lose_create_responses"):
            return True
        with self._lock:
            every = self._faults.lose_create_every
            if not every:
                return False
            self._creates_since_lose = getattr(self, "_creates_since_lose", 0) + 1
            if self._creates_since_lose % every:
                return False
            self._stats["lost_create_responses"] += 1
            return True

    def tickets(self) -> list[Record]:
        """Every work order and incident, oldest first, each with its notes (`notes`)."""
        with self._lock:
            notes: dict[str, list[Record]] = {}
            for note_form, number_field in NOTE_FORMS.values():
                for note in self._store(note_form).records.values():
                    notes.setdefault(str(note[number_field]), []).append(dict(note))
            found = []
            for ticket_form, number_field, _answer in INTERFACES.values():
                for record in self._store(ticket_form).records.values():
                    number = str(record[number_field])
                    found.append(
                        {
                            **record,
                            "form": ticket_form,
                            "number": number,
                            "notes": notes.get(number, []),
                        }
                    )
            return found

    def ticket_act(
        self,
        number: str,
        *,
        status: str = "",
        reason: str = "",
        note: str = "",
        view_access: str = "Public",
    ) -> Record:
        """A technician's act on a ticket by number: move its status (with a reason), add a note."""
        with self._lock:
            form, entry = self._find_ticket(number)
            if status:
                reason_field = (
                    "Status Reason"
                    if "Status Reason" in self._store(form).spec.fields
                    else "Status_Reason"
                )
                self.update_entry(form, entry, {"Status": status, reason_field: reason or None})
            if note:
                note_form, number_field = NOTE_FORMS[form]
                self.create_entry(
                    note_form,
                    {
                        number_field: number,
                        "Detailed Description": note,
                        "Work Log Type": "General Information",
                        "View Access": view_access,
                        "Submitter": "technician",
                        "Submit Date": self.now(),
                    },
                )
            return self.get_entry(form, entry)

    def _find_ticket(self, number: str) -> tuple[str, str]:
        for ticket_form, number_field, _answer in INTERFACES.values():
            store = self._store(ticket_form)
            for entry, record in store.records.items():
                if record.get(number_field) == number:
                    return ticket_form, entry
        raise ARError(404, 302, "Entry does not exist in database", number)

    def ticket_update_allowed(self, form: str, entry: str, values: Record) -> None:
        """Refuse what Remedy's workflow refuses: cancelling a ticket whose work has started."""
        if values.get("Status") != "Cancelled" or form not in (t[0] for t in INTERFACES.values()):
            return
        with self._lock:
            current = self.get_entry(form, entry)
        if current.get("Status") in WORK_STARTED:
            raise ARError(
                400,
                45386,
                "The work order cannot be cancelled",
                f"It is {current['Status']}: ask the assignee to stop the work first.",
            )
