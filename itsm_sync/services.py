"""ITSM sync use cases: mirror companies and people page by page, safely (S1–S3).

The pipeline, for each page the source yields (oldest `Last Modified Date` first):

1. validate every record, rejecting with a reason (kept as a RejectedRecord) while the rest of
   the page goes on;
2. de-duplicate keys, the latest `Last Modified Date` winning;
3. plan each record as create, update (with a per-field diff) or unchanged, against the mirror;
4. apply the creates and updates in one transaction per page with a bulk upsert that never
   rewrites an unchanged row (PostgreSQL: COPY into a TEMP staging table, then
   `INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE (…) IS DISTINCT FROM (…)`; elsewhere
   `bulk_create(update_conflicts=True)` of the rows the plan found changed);
5. advance the watermark only after that commit, so a failed page leaves both the mirror and
   the watermark as they were before it.

Runs that may still need approval cannot apply as they go. A dry run, and a full reconcile
whose deactivations could exceed the S3 limit (more than max(500, 5 %) of active records,
possible only once the mirror holds more than 500 active records), first store their whole plan
as PlannedChange rows; a dry run stops there, a full run then checks the guard and either stops
as `needs_approval` having changed nothing, or applies the stored plan chunk by chunk — so the
plan a dry run shows is exactly what the real run applies. `sync_run_approve` applies a kept
plan later.

Never two runs of one kind at once: a PostgreSQL session advisory lock per kind (it survives
the per-page commits and dies with a killed worker's connection), or a claimed SyncLock row
elsewhere; the refused run raises SyncAlreadyRunning. Companies and people may sync side by
side, but people need their companies mirrored first (the Celery chain runs them in order).

A rejected record does not hold the watermark back (one bad record would otherwise stall every
incremental run); it is kept with its reason and read again by the nightly full reconcile,
which also never deactivates a record the source still lists, valid or not.

Memory stays flat: at any time the process holds the page being written, the next one being
read (a helper thread fetches it meanwhile), the companies met so far (for the people's company
lookup) and, for a full reconcile, the keys seen so far — in a TEMP table on PostgreSQL, in a
Python set elsewhere (the SQLite demo; a million short strings is ~100 MB).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from django import db as django_db
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed

from .models import (
    Company,
    CompanyType,
    Person,
    PlanAction,
    PlannedChange,
    RecordStatus,
    RejectedRecord,
    SyncKind,
    SyncLock,
    SyncMode,
    SyncRun,
    SyncStatus,
    Watermark,
)
from .signals import person_company_changed, sync_run_finished
from .sources import SourceError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# S3: a full reconcile may deactivate at most max(GUARD_MIN, GUARD_FRACTION × active) unapproved.
GUARD_MIN = 500
GUARD_FRACTION = 0.05
SYSTEM = "system"
RUN_PERMISSION = "itsm_sync.run_sync"

Row = tuple[Any, ...]
Progress = Callable[[SyncRun], None]


class SyncAlreadyRunning(DomainError):
    """Another run of the same kind holds the lock; this one did not start."""


class SyncApprovalRefused(DomainError):
    """The run can't be approved (not waiting for approval, superseded, or a dry run)."""


def deactivation_limit(active: int) -> int:
    """The most deactivations a full reconcile may apply without approval (S3)."""
    return max(GUARD_MIN, math.ceil(active * GUARD_FRACTION))


# ---------------------------------------------------------------------------------------------
# Validation: AR values -> a row tuple in the spec's column order, or a rejection with a reason.
# ---------------------------------------------------------------------------------------------


class _Reject(Exception):
    """Control flow of validation: this record goes to RejectedRecord with `reason`."""

    def __init__(self, reason: str, key: str = "", modified: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key
        self.modified = modified


class _UnknownCompany(_Reject):
    """A person's company is not in the index: maybe not in the mirror, maybe just created."""

    def __init__(self, reason: str, key: str, modified: datetime, name: str) -> None:
        super().__init__(reason, key, modified)
        self.name = name


def _max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length or 0


def _key(values: dict[str, Any], field_name: str, limit: int) -> str:
    raw = values.get(field_name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise _Reject(f"No {field_name}.")
    key = raw if isinstance(raw, str) else str(raw)
    if len(key) > limit:
        raise _Reject(f"{field_name} is longer than {limit} characters.")
    return key


def _modified(values: dict[str, Any], key: str) -> datetime:
    raw = values.get("Last Modified Date")
    if not isinstance(raw, str) or not raw.strip():
        raise _Reject("No Last Modified Date.", key)
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _Reject(f"Malformed Last Modified Date {raw!r}.", key) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _text(values: dict[str, Any], field_name: str, limit: int, key: str, when: datetime) -> str:
    raw = values.get(field_name)
    if raw is None:
        return ""
    text = raw if isinstance(raw, str) else str(raw)
    if "\x00" in text:
        # PostgreSQL can't store NUL in text; it is never meaningful in these fields.
        text = text.replace("\x00", "")
    if len(text) > limit:
        raise _Reject(f"{field_name} is longer than {limit} characters.", key, when)
    return text


_YES = frozenset({"yes", "true", "1", "y", "t"})
_NO = frozenset({"no", "false", "0", "n", "f", ""})


def _flag(values: dict[str, Any], field_name: str, key: str, when: datetime) -> bool:
    raw = values.get(field_name)
    if raw == "No" or raw is None:
        return False
    if raw == "Yes":
        return True
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _Reject(f"{field_name} must be Yes or No, not {raw!r}.", key, when)


def _choice(
    values: dict[str, Any], field_name: str, allowed: frozenset[str], key: str, when: datetime
) -> str:
    raw = values.get(field_name)
    if raw is None or raw == "":
        raise _Reject(f"No {field_name}.", key, when)
    if raw not in allowed:
        raise _Reject(f"Unknown {field_name} {raw!r}.", key, when)
    return raw


_COMPANY_TYPES = frozenset(CompanyType.values)
_STATUSES = frozenset(RecordStatus.values)


class _CompanyIndex:
    """Company name -> (id, type) for the people sync.

    Loaded whole when a people run starts (one query), so pages can be validated in the
    read-ahead thread without the database; a name it lacks is looked up again on the run's
    own thread before any record is rejected for it (a company the mirror got meanwhile).
    """

    def __init__(self) -> None:
        self.by_name: dict[str, tuple[int, str]] = {}
        self._names_by_id: dict[int, str] | None = None

    def load_all(self) -> None:
        self._add(Company.objects.values_list("name", "id", "company_type"))

    def load(self, names: Iterable[Any]) -> bool:
        """Look these names up; True when one of them was found."""
        missing = {n for n in names if isinstance(n, str) and n and n not in self.by_name}
        if not missing:
            return False
        return self._add(
            Company.objects.filter(name__in=missing).values_list("name", "id", "company_type")
        )

    def _add(self, found: Iterable[tuple[str, int, str]]) -> bool:
        added = False
        for name, pk, company_type in found:
            self.by_name[name] = (pk, company_type)
            if self._names_by_id is not None:
                self._names_by_id[pk] = name
            added = True
        return added

    def name_of(self, pk: int) -> str:
        if self._names_by_id is None:
            self._names_by_id = {v[0]: k for k, v in self.by_name.items()}
        name = self._names_by_id.get(pk)
        if name is None:
            name = Company.objects.filter(pk=pk).values_list("name", flat=True).first() or str(pk)
            self._names_by_id[pk] = name
        return name


# ---------------------------------------------------------------------------------------------
# What differs between companies and people.
# ---------------------------------------------------------------------------------------------

COMPANY_COLUMNS = (
    "entry_id",
    "name",
    "company_type",
    "status",
    "abbreviation",
    "parent_company",
    "last_modified",
    "is_active",
)
PERSON_COLUMNS = (
    "person_id",
    "remedy_login_id",
    "first_name",
    "last_name",
    "email",
    "company_id",
    "organization",
    "department",
    "region",
    "site_group",
    "site",
    "client_type",
    "support_staff",
    "vip",
    "profile_status",
    "last_modified",
    "is_active",
)
_PERSON_TEXT = tuple(
    (ar_name, _max_length(Person, column))
    for ar_name, column in (
        ("Remedy Login ID", "remedy_login_id"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Internet E-mail", "email"),
    )
)
_PERSON_PLACE = tuple(
    (ar_name, _max_length(Person, column))
    for ar_name, column in (
        ("Organization", "organization"),
        ("Department", "department"),
        ("Region", "region"),
        ("Site Group", "site_group"),
        ("Site", "site"),
        ("Client Type", "client_type"),
    )
)
_PERSON_KEY_MAX = _max_length(Person, "person_id")
_COMPANY_KEY_MAX = _max_length(Company, "entry_id")
_COMPANY_NAME_MAX = _max_length(Company, "name")
_ABBREVIATION_MAX = _max_length(Company, "abbreviation")
_PARENT_MAX = _max_length(Company, "parent_company")


def _parse_company(values: dict[str, Any], ctx: _Context) -> Row:
    key = _key(values, "Company Entry ID", _COMPANY_KEY_MAX)
    when = _modified(values, key)
    name = values.get("Company")
    if not isinstance(name, str) or not name.strip():
        raise _Reject("No Company name.", key, when)
    if len(name) > _COMPANY_NAME_MAX:
        raise _Reject(f"Company is longer than {_COMPANY_NAME_MAX} characters.", key, when)
    return (
        key,
        name,
        _choice(values, "Company Type", _COMPANY_TYPES, key, when),
        _choice(values, "Status", _STATUSES, key, when),
        _text(values, "Company Abbreviation", _ABBREVIATION_MAX, key, when),
        _text(values, "Parent Company", _PARENT_MAX, key, when),
        when,
        True,
    )


def _texts(
    values: dict[str, Any], fields: tuple[tuple[str, int], ...], key: str, when: datetime
) -> list[str]:
    """Text fields in order; the common case (a short clean str) costs one check per field."""
    texts = []
    for field_name, limit in fields:
        raw = values.get(field_name)
        if raw.__class__ is str and len(raw) <= limit and "\x00" not in raw:
            texts.append(raw)
        else:
            texts.append(_text(values, field_name, limit, key, when))
    return texts


def _parse_person(values: dict[str, Any], ctx: _Context) -> Row:
    key = _key(values, "Person ID", _PERSON_KEY_MAX)
    when = _modified(values, key)
    name = values.get("Company")
    if not isinstance(name, str) or not name:
        raise _Reject("No Company.", key, when)
    company = ctx.companies.by_name.get(name)
    if company is None:
        raise _UnknownCompany(
            f"Unknown company {name!r}: it is not in the mirror (sync companies first).",
            key,
            when,
            name,
        )
    if company[1] == CompanyType.MANUFACTURER:
        raise _Reject(f"Company {name!r} is a Manufacturer; people can't belong to one.", key, when)
    return (
        key,
        *_texts(values, _PERSON_TEXT, key, when),
        company[0],
        *_texts(values, _PERSON_PLACE, key, when),
        _flag(values, "Support Staff", key, when),
        _flag(values, "VIP", key, when),
        _choice(values, "Profile Status", _STATUSES, key, when),
        when,
        True,
    )


@dataclass(frozen=True)
class _Spec:
    kind: str
    model: type[models.Model]
    columns: tuple[str, ...]
    source_key: str
    noun: str
    plural: str
    parse: Callable[[dict[str, Any], _Context], Row]
    pages: Callable[[Any, datetime | None], Iterator[list[dict[str, Any]]]]
    # Validation needs no database (people): it runs in the read-ahead thread, overlapping the
    # previous page's write. Companies screen names against the mirror, on the run's thread.
    parse_ahead: bool = False

    @property
    def key(self) -> str:
        return self.columns[0]

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def modified_index(self) -> int:
        return self.columns.index("last_modified")


COMPANIES = _Spec(
    kind=SyncKind.COMPANIES,
    model=Company,
    columns=COMPANY_COLUMNS,
    source_key="Company Entry ID",
    noun="company",
    plural="companies",
    parse=_parse_company,
    pages=lambda source, since: source.iter_company_pages(since=since),
)
PEOPLE = _Spec(
    kind=SyncKind.PEOPLE,
    model=Person,
    columns=PERSON_COLUMNS,
    source_key="Person ID",
    noun="person",
    plural="people",
    parse=_parse_person,
    pages=lambda source, since: source.iter_people_pages(since=since),
    parse_ahead=True,
)
SPECS = {COMPANIES.kind: COMPANIES, PEOPLE.kind: PEOPLE}


# ---------------------------------------------------------------------------------------------
# Run state.
# ---------------------------------------------------------------------------------------------


@dataclass
class _Page:
    valid: dict[str, tuple[Row, dict[str, Any]]] = field(default_factory=dict)
    rejected: list[tuple[str, str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    latest: datetime | None = None
    read: int = 0
    unknown_companies: set[str] = field(default_factory=set)
    values_page: list[Any] = field(default_factory=list)
    # The valid rows already in the writer's wire format (PostgreSQL: COPY CSV), when rendered.
    rendered: Any = None

    @property
    def rows(self) -> list[Row]:
        return [row for row, _raw in self.valid.values()]


@dataclass
class _Context:
    spec: _Spec
    run: SyncRun
    writer: _PostgresWriter | _PortableWriter
    companies: _CompanyIndex
    heartbeat: Callable[[], None]
    progress: Progress | None
    applied_chunks: int = 0
    # Approving an old plan: rows a later sync touched after this instant keep their state.
    touched_before: datetime | None = None
    clock_start: float = field(default_factory=time.monotonic)


_COUNTERS = [
    "pages",
    "seen",
    "created",
    "updated",
    "unchanged",
    "deactivated",
    "rejected",
    "planned_creates",
    "planned_updates",
    "planned_deactivations",
    "source_watermark",
]


def _save_counters(run: SyncRun) -> None:
    run.save(update_fields=_COUNTERS)


# ---------------------------------------------------------------------------------------------
# Reading and planning a page.
# ---------------------------------------------------------------------------------------------


def _read_page(ctx: _Context, values_page: list[Any]) -> _Page:
    """Validate and de-duplicate one page; the latest Last Modified Date wins a duplicate key.

    No database access for people (see _Spec.parse_ahead); _settle_page finishes the page.
    """
    spec = ctx.spec
    page = _Page(read=len(values_page), values_page=values_page)
    parse, at = spec.parse, spec.modified_index
    valid = page.valid
    for values in values_page:
        if not isinstance(values, dict):
            page.rejected.append(("", "Not a record (expected an object of AR values).", values))
            continue
        try:
            row = parse(values, ctx)
        except _Reject as exc:
            if isinstance(exc, _UnknownCompany):
                page.unknown_companies.add(exc.name)
            page.rejected.append((exc.key, exc.reason, values))
            if exc.key:
                page.keys.append(exc.key)
            if exc.modified is not None and (page.latest is None or exc.modified > page.latest):
                page.latest = exc.modified
            continue
        key, when = row[0], row[at]
        page.keys.append(key)
        if page.latest is None or when > page.latest:
            page.latest = when
        prior = valid.get(key)
        if prior is not None and prior[0][at] > when:
            continue
        valid[key] = (row, values)
    if spec.parse_ahead:
        page.rendered = ctx.writer.render(page.rows)
    return page


def _settle_page(ctx: _Context, item: _Page | list[Any]) -> _Page:
    """Finish a page on the run's thread: the checks that need the mirror."""
    if not isinstance(item, _Page):
        item = _read_page(ctx, item)
    if ctx.spec is COMPANIES:
        _screen_company_names(item)
    elif item.unknown_companies and ctx.companies.load(item.unknown_companies):
        item = _read_page(ctx, item.values_page)  # a company arrived since the run started
    return item


def _screen_company_names(page: _Page) -> None:
    """Reject a company whose name another company holds: names are unique in the mirror."""
    by_name: dict[str, str] = {}
    for key, (row, _raw) in sorted(page.valid.items(), key=lambda item: item[1][0][6]):
        other = by_name.get(row[1])
        if other is not None:
            _loser, loser_raw = page.valid.pop(other)
            page.rejected.append(
                (
                    other,
                    f"Company name {row[1]!r} is also used by {key}, modified later in the "
                    "same page; company names must be unique.",
                    loser_raw,
                )
            )
        by_name[row[1]] = key
    if not by_name:
        return
    # A holder that is itself rewritten in this batch gives its name up in the same transaction
    # (renames, swaps); an active one outside the batch still owns it.
    holders = Company.objects.filter(name__in=list(by_name), is_active=True)
    for name, holder in holders.values_list("name", "entry_id"):
        key = by_name[name]
        if holder == key or holder in page.valid:
            continue
        _row, raw = page.valid.pop(key)
        page.rejected.append(
            (
                key,
                f"Company name {name!r} still belongs to active company {holder} in the mirror; "
                "it goes in once that company is renamed or deactivated (a later full "
                "reconcile reads this record again).",
                raw,
            )
        )


def _existing(spec: _Spec, keys: list[str]) -> dict[str, tuple[int, datetime, Row]]:
    """The mirror's current rows for these keys: {key: (pk, mirrored_at, row)}."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        # One array parameter: planning a thousand-literal IN list costs more than the lookup.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, mirrored_at, {', '.join(spec.columns)} FROM {spec.table} "  # noqa: S608
                f"WHERE {spec.key} = ANY(%s)",
                [keys],
            )
            rows = cursor.fetchall()
    else:
        rows = spec.model.objects.filter(**{f"{spec.key}__in": keys}).values_list(
            "id", "mirrored_at", *spec.columns
        )
    return {row[2]: (row[0], row[1], row[2:]) for row in rows}


def _classify(
    ctx: _Context, rows: dict[str, Row]
) -> tuple[list[Row], list[tuple[Row, Row, int]], int]:
    """Plan each row against the mirror: create, update (changed or reactivated) or unchanged."""
    existing = _existing(ctx.spec, list(rows))
    creates: list[Row] = []
    updates: list[tuple[Row, Row, int]] = []
    unchanged = 0
    touched_before = ctx.touched_before
    for key, row in rows.items():
        found = existing.get(key)
        if found is None:
            creates.append(row)
        elif found[2] == row or (touched_before is not None and found[1] > touched_before):
            unchanged += 1
        else:
            updates.append((row, found[2], found[0]))
    return creates, updates, unchanged


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _display_column(column: str) -> str:
    return "company" if column == "company_id" else column


def _diff(ctx: _Context, old: Row | None, new: Row) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for index, column in enumerate(ctx.spec.columns):
        before = None if old is None else old[index]
        after = new[index]
        if old is not None and before == after:
            continue
        if column == "company_id":
            before = None if before is None else ctx.companies.name_of(before)
            after = ctx.companies.name_of(after)
        changes[_display_column(column)] = [_json_value(before), _json_value(after)]
    return changes


def _row_values(spec: _Spec, row: Row) -> dict[str, Any]:
    return {column: _json_value(value) for column, value in zip(spec.columns, row, strict=True)}


def _row_from_values(spec: _Spec, values: dict[str, Any]) -> Row:
    row = [values[column] for column in spec.columns]
    at = spec.modified_index
    row[at] = datetime.fromisoformat(row[at])
    return tuple(row)


# ---------------------------------------------------------------------------------------------
# Writing: PostgreSQL COPY + ON CONFLICT, or a portable bulk upsert.
# ---------------------------------------------------------------------------------------------


@dataclass
class _Written:
    """What a writer did to one batch: rows inserted, rows rewritten, people moved."""

    created: int = 0
    updated: int = 0
    # (person pk, old company pk, new company pk) for each updated person whose company changed.
    moves: list[tuple[int, int, int]] = field(default_factory=list)


class _PostgresWriter:
    """COPY a batch into a TEMP staging table, then upsert only rows that really differ.

    One statement plans and applies: ON CONFLICT … WHERE … IS DISTINCT FROM leaves unchanged
    rows alone, RETURNING tells creates from updates (xmax is 0 only on a freshly inserted
    tuple), and the outer SELECT, which sees the table as it was before the statement, reads
    an updated person's previous company to announce a move.
    """

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        cols = ", ".join(spec.columns)
        rest = spec.columns[1:]
        self.stage = f"itsm_stage_{spec.kind}"
        # Identifiers below come from model metadata, never from input.
        self.create_sql = (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} AS "  # noqa: S608
            f"SELECT {cols} FROM {spec.table} WITH NO DATA"
        )
        self.copy_sql = f"COPY {self.stage} ({cols}) FROM STDIN WITH (FORMAT csv)"
        distinct = (
            f"({', '.join(f't.{c}' for c in rest)}) IS DISTINCT FROM "
            f"({', '.join(f'EXCLUDED.{c}' for c in rest)})"
        )
        self.tracks_company = "company_id" in spec.columns
        returning = "t.id, (t.xmax = 0), t.company_id" if self.tracks_company else "(t.xmax = 0)"
        if self.tracks_company:
            # A subquery per rewritten row (a primary-key probe), never a join the planner
            # might answer by scanning the whole table for a page of creates.
            outer = (
                "SELECT w.created, w.id, CASE WHEN w.created THEN NULL ELSE "  # noqa: S608
                f"(SELECT p.company_id FROM {spec.table} p WHERE p.id = w.id) END, "
                "w.company_id FROM written w"
            )
        else:
            outer = "SELECT w.created FROM written w"
        columns = "id, created, company_id" if self.tracks_company else "created"
        self.upsert_sql = (
            f"WITH written ({columns}) AS ("  # noqa: S608
            f"INSERT INTO {spec.table} AS t ({cols}, mirrored_at) "
            f"SELECT {cols}, %s FROM {self.stage} "
            f"ON CONFLICT ({spec.key}) DO UPDATE SET "
            f"{', '.join(f'{c} = EXCLUDED.{c}' for c in rest)}, "
            "mirrored_at = EXCLUDED.mirrored_at "
            f"WHERE {distinct}{{touched}} "
            f"RETURNING {returning}) {outer}"
        )

    @staticmethod
    def render(rows: list[Row]) -> str:
        """The rows as COPY CSV; the read-ahead thread renders a page while one is written."""
        buffer = io.StringIO()
        # Quoting everything keeps '' an empty string; an unquoted empty field would be NULL.
        csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        return buffer.getvalue()

    def write(
        self,
        rows: list[Row],
        *,
        now: datetime,
        touched_before: datetime | None,
        rendered: str | None = None,
    ) -> _Written:
        if not rows:
            return _Written()
        buffer = io.StringIO(self.render(rows) if rendered is None else rendered)
        touched, params = "", [now]
        if touched_before is not None:
            touched = " AND t.mirrored_at <= %s"
            params.append(touched_before)
        with connection.cursor() as cursor:
            cursor.execute(self.create_sql)
            # TRUNCATE, not ON COMMIT DELETE ROWS: pages may share one transaction (savepoints).
            cursor.execute(f"TRUNCATE {self.stage}")
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):
                # One read of the whole page: each chunk read would wait for the GIL again.
                raw.copy_expert(self.copy_sql, buffer, size=max(8192, len(buffer.getvalue())))
            else:  # psycopg 3
                with raw.copy(self.copy_sql) as copy:
                    copy.write(buffer.getvalue())
            cursor.execute(self.upsert_sql.format(touched=touched), params)
            written = cursor.fetchall()
        created = sum(1 for row in written if row[0])
        moves = []
        if self.tracks_company:
            moves = [
                (pk, old, new) for _c, pk, old, new in written if old is not None and old != new
            ]
        return _Written(created=created, updated=len(written) - created, moves=moves)


class _PortableWriter:
    """Compare with the mirror, then bulk_create(update_conflicts=True) what is new or changed."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec

    @staticmethod
    def render(rows: list[Row]) -> None:
        return None

    def write(
        self,
        rows: list[Row],
        *,
        now: datetime,
        touched_before: datetime | None,
        rendered: None = None,
    ) -> _Written:
        spec = self.spec
        existing = _existing(spec, [row[0] for row in rows])
        changed: list[Row] = []
        result = _Written()
        at = spec.columns.index("company_id") if "company_id" in spec.columns else None
        for row in rows:
            found = existing.get(row[0])
            if found is None:
                result.created += 1
            elif found[2] == row or (touched_before is not None and found[1] > touched_before):
                continue
            else:
                result.updated += 1
                if at is not None and found[2][at] != row[at]:
                    result.moves.append((found[0], found[2][at], row[at]))
            changed.append(row)
        if changed:
            spec.model.objects.bulk_create(
                [
                    spec.model(**dict(zip(spec.columns, row, strict=True)), mirrored_at=now)
                    for row in changed
                ],
                batch_size=500,
                update_conflicts=True,
                unique_fields=[spec.key],
                update_fields=[*spec.columns[1:], "mirrored_at"],
            )
        return result


def _writer(spec: _Spec) -> _PostgresWriter | _PortableWriter:
    return _PostgresWriter(spec) if connection.vendor == "postgresql" else _PortableWriter(spec)


def _apply(ctx: _Context, rows: list[Row], *, rendered: Any = None) -> int:
    """Write the rows that differ from the mirror, in the caller's transaction; announce moves.

    Returns how many rows it wrote (created + updated); the rest were unchanged.
    """
    spec, run = ctx.spec, ctx.run
    if not rows:
        return 0
    now = timezone.now()
    if spec is COMPANIES:
        _release_company_names(rows, now)
    written = ctx.writer.write(rows, now=now, touched_before=ctx.touched_before, rendered=rendered)
    run.created += written.created
    run.updated += written.updated
    for pk, old_company_id, new_company_id in written.moves:
        person_move_company(
            person_id=pk, old_company_id=old_company_id, new_company_id=new_company_id
        )
    return written.created + written.updated


def _release_company_names(rows: list[Row], now: datetime) -> None:
    """Free the names these rows take from the companies holding them now.

    Names are unique in the mirror but move between companies in ITSM (renames, swaps, a company
    deleted and created again). A holder rewritten in this batch gets its new name from the
    upsert right after; a deactivated holder keeps "Name [entry id]".
    """
    names = {row[1]: row[0] for row in rows}
    holders = Company.objects.filter(name__in=list(names)).values_list("id", "name", "entry_id")
    for pk, name, entry_id in holders:
        if names[name] != entry_id:
            freed = f"{name} [{entry_id}]"[:_COMPANY_NAME_MAX]
            Company.objects.filter(pk=pk).update(name=freed, mirrored_at=now)


# ---------------------------------------------------------------------------------------------
# Keys seen by a full reconcile, and the deactivations they imply.
# ---------------------------------------------------------------------------------------------


class _SeenInTempTable:
    """Seen keys in a TEMP table (PostgreSQL), so memory stays flat at any mirror size."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.table = f"itsm_seen_{spec.kind}"

    def start(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self.table} (key varchar(254))")
            cursor.execute(f"TRUNCATE {self.table}")

    def add(self, keys: list[str]) -> None:
        if not keys:
            return
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
            (key,) for key in keys
        )
        buffer.seek(0)
        sql = f"COPY {self.table} (key) FROM STDIN WITH (FORMAT csv)"
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):
                raw.copy_expert(sql, buffer)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(buffer.getvalue())

    def plan_deactivations(self, run: SyncRun) -> int:
        spec = self.spec
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {self.table}")
            cursor.execute(
                f"INSERT INTO {PlannedChange._meta.db_table} "  # noqa: S608
                '(run_id, key, action, object_id, changes, "values") '
                f"SELECT %s, t.{spec.key}, %s, t.id, %s::jsonb, NULL FROM {spec.table} t "
                f"WHERE t.is_active AND NOT EXISTS "
                f"(SELECT 1 FROM {self.table} s WHERE s.key = t.{spec.key}) ORDER BY t.id",
                [run.pk, PlanAction.DEACTIVATE, '{"is_active": [true, false]}'],
            )
            return cursor.rowcount

    def close(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        except DatabaseError:
            logger.info("Could not drop %s; it goes with the connection", self.table)


class _SeenInMemory:
    """Seen keys in a Python set: the portable path for the SQLite demo."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.keys: set[str] = set()

    def start(self) -> None:
        self.keys.clear()

    def add(self, keys: list[str]) -> None:
        self.keys.update(keys)

    def plan_deactivations(self, run: SyncRun) -> int:
        spec, total, batch = self.spec, 0, []
        active = spec.model.objects.filter(is_active=True).order_by("id")
        for pk, key in active.values_list("id", spec.key).iterator(chunk_size=2000):
            if key in self.keys:
                continue
            batch.append(
                PlannedChange(
                    run=run,
                    key=key,
                    action=PlanAction.DEACTIVATE,
                    object_id=pk,
                    changes={"is_active": [True, False]},
                )
            )
            if len(batch) >= 1000:
                PlannedChange.objects.bulk_create(batch)
                total += len(batch)
                batch = []
        PlannedChange.objects.bulk_create(batch)
        return total + len(batch)

    def close(self) -> None:
        self.keys.clear()


def _seen_keys(spec: _Spec) -> _SeenInTempTable | _SeenInMemory:
    if connection.vendor == "postgresql":
        return _SeenInTempTable(spec)
    return _SeenInMemory(spec)


# ---------------------------------------------------------------------------------------------
# Reading ahead: the next page travels over HTTP while this one is written.
# ---------------------------------------------------------------------------------------------

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


@contextmanager
def _read_ahead(
    pages: Iterator[list[Any]], prepare: Callable[[list[Any]], Any] | None = None
) -> Iterator[Iterator[Any]]:
    """Iterate pages in a helper thread, one page ahead, so fetching overlaps writing.

    `prepare` (validation that needs no database) runs on each page in that thread too.

    Memory stays bounded: at most the page being written, one waiting and one being read.
    The source's errors are raised here, in the caller's thread, where the run records them.
    """
    slot: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for page in pages:
                if not offer(page if prepare is None else prepare(page)):
                    break
            else:
                offer(_END)
        except BaseException as exc:  # handed over to the caller's thread, raised there
            offer(_Raised(exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def pages_read() -> Iterator[list[Any]]:
        while True:
            item = slot.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item

    reader = threading.Thread(target=pump, name="itsm-sync-read-ahead", daemon=True)
    reader.start()
    try:
        yield pages_read()
    finally:
        stop.set()
        # A request in flight finishes (or times out) on its own; don't wait forever for it.
        reader.join(timeout=60)


# ---------------------------------------------------------------------------------------------
# The lock: never two runs of one kind at once.
# ---------------------------------------------------------------------------------------------

_LOCK_NAMESPACE = 0x17_5C  # "ITSM sync" in pg_locks; the second key tells the kinds apart
_LOCK_KEYS = {SyncKind.COMPANIES: 1, SyncKind.PEOPLE: 2}


def _already_running(kind: str) -> SyncAlreadyRunning:
    noun = SPECS[kind].plural
    running = SyncRun.objects.filter(kind=kind, status=SyncStatus.RUNNING).first()
    if running is None:
        detail = ""
    else:
        started = timezone.localtime(running.started_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        who = running.started_by_label or SYSTEM
        detail = f" (run #{running.pk}, {running.mode_label}, started {started} by {who})"
    return SyncAlreadyRunning(
        f"A {noun} sync is already running{detail}. This one was not started; "
        "try again once that run has finished."
    )


@contextmanager
def _advisory_lock(kind: str) -> Iterator[Callable[[], None]]:
    """A session advisory lock: it survives the per-page commits and dies with the connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, _LOCK_KEYS[kind]])
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise _already_running(kind)
    try:
        yield lambda: None
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, _LOCK_KEYS[kind]]
                )
        except DatabaseError:
            logger.warning("Releasing the %s sync lock failed; it goes with the connection", kind)


@contextmanager
def _row_lock(kind: str) -> Iterator[Callable[[], None]]:
    """A claim on the kind's SyncLock row by a conditional UPDATE that must touch one row."""
    SyncLock.objects.get_or_create(kind=kind)
    token = uuid.uuid4().hex
    now = timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "ITSM_SYNC_LOCK_STALE_SECONDS", 900))
    claimed = (
        SyncLock.objects.filter(kind=kind)
        .filter(Q(holder="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
        .update(holder=token, heartbeat_at=now)
    )
    if claimed != 1:
        raise _already_running(kind)

    def heartbeat() -> None:
        SyncLock.objects.filter(kind=kind, holder=token).update(heartbeat_at=timezone.now())

    try:
        yield heartbeat
    finally:
        SyncLock.objects.filter(kind=kind, holder=token).update(holder="", heartbeat_at=None)


def _kind_lock(kind: str) -> Any:
    return _advisory_lock(kind) if connection.vendor == "postgresql" else _row_lock(kind)


def _fail_interrupted(kind: str) -> None:
    """Holding the lock proves no other run of this kind is alive: close any left 'running'."""
    SyncRun.objects.filter(kind=kind, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        error="Interrupted: the process running this sync stopped before it finished "
        "(worker restart or time limit). Pages it committed stay applied; the next run "
        "continues from the watermark.",
    )


# ---------------------------------------------------------------------------------------------
# The run.
# ---------------------------------------------------------------------------------------------


@contextmanager
def _relaxed_durability() -> Iterator[None]:
    """Commit pages without waiting for their WAL flush (PostgreSQL); the run's end is durable.

    A crash may lose the last pages committed before it, never a page without the ones before
    it (WAL is replayed in order), and a page's watermark is committed after the page, so it is
    lost with it: the next run reads those pages again. The fsync per page this saves is a
    large share of the write path. Nothing else in the session is affected once it ends.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except django_db.Error:
            logger.warning("Could not reset synchronous_commit; closing the connection")
            connection.close()


def _check_actor(actor: AbstractBaseUser | None) -> None:
    if actor is not None and not actor.has_perm(RUN_PERMISSION):
        raise NotAllowed("Only system and catalog administrators can run or approve ITSM syncs.")


def _actor_label(actor: AbstractBaseUser | None, actor_label: str) -> str:
    if actor_label:
        return actor_label[:150]
    return actor.get_username() if actor is not None else SYSTEM


def _source_label(source: Any) -> str:
    config = getattr(source, "config", None)
    if config is not None and getattr(config, "url", ""):
        return f"AR System REST API {config.url} as {config.user or '(no user)'}"[:300]
    path = getattr(source, "path", None)
    if path is not None:
        return f"JSON export {path}"[:300]
    return type(source).__name__


def _watermark_get(kind: str) -> datetime | None:
    return Watermark.objects.filter(kind=kind).values_list("value", flat=True).first()


def _watermark_advance(kind: str, value: datetime | None, run: SyncRun) -> None:
    """Move the watermark forward (never back) to a Last Modified Date already committed.

    Never past our own clock: one record stamped in the future by a skewed ITSM clock would
    otherwise hide every change made until then from the incremental syncs.
    """
    if value is None:
        return
    value = min(value, timezone.now())
    moved = (
        Watermark.objects.filter(kind=kind)
        .filter(Q(value__isnull=True) | Q(value__lt=value))
        .update(value=value, run=run, updated_at=timezone.now())
    )
    if not moved:
        Watermark.objects.get_or_create(kind=kind, defaults={"value": value, "run": run})


def _store_rejected(run: SyncRun, rejected: list[tuple[str, str, Any]]) -> None:
    if not rejected:
        return
    RejectedRecord.objects.bulk_create(
        RejectedRecord(run=run, key=str(key)[:254], reason=reason[:500], raw=_jsonable(raw))
        for key, reason, raw in rejected
    )
    run.rejected += len(rejected)


def _jsonable(raw: Any) -> Any:
    if isinstance(raw, dict | list | str | int | float | bool) or raw is None:
        return raw
    return repr(raw)


def _store_plan(
    ctx: _Context, creates: list[Row], updates: list[tuple[Row, Row, int]], *, keep_values: bool
) -> None:
    spec, run = ctx.spec, ctx.run
    plan = [
        PlannedChange(
            run=run,
            key=row[0],
            action=PlanAction.CREATE,
            changes=_diff(ctx, None, row),
            values=_row_values(spec, row) if keep_values else None,
        )
        for row in creates
    ]
    plan += [
        PlannedChange(
            run=run,
            key=new[0],
            action=PlanAction.UPDATE,
            object_id=pk,
            changes=_diff(ctx, old, new),
            values=_row_values(spec, new) if keep_values else None,
        )
        for new, old, pk in updates
    ]
    PlannedChange.objects.bulk_create(plan, batch_size=1000)
    run.planned_creates += len(creates)
    run.planned_updates += len(updates)


def _process_page(
    ctx: _Context, item: _Page | list[Any], *, staged: bool, seen: Any, keep_values: bool
) -> None:
    """Read, plan and either apply (one transaction, then the watermark) or store one page."""
    run = ctx.run
    page = _settle_page(ctx, item)
    with transaction.atomic():
        if staged:
            rows = {key: row for key, (row, _raw) in page.valid.items()}
            creates, updates, unchanged = _classify(ctx, rows)
            _store_plan(ctx, creates, updates, keep_values=keep_values)
        else:
            rows = page.rows
            unchanged = len(rows) - _apply(ctx, rows, rendered=page.rendered)
        _store_rejected(run, page.rejected)
        if seen is not None:
            seen.add(page.keys)
        run.pages += 1
        run.seen += page.read
        run.unchanged += unchanged
        if page.latest is not None and (
            run.source_watermark is None or page.latest > run.source_watermark
        ):
            run.source_watermark = page.latest
        _save_counters(run)
    if not staged:
        ctx.applied_chunks += 1
        # After the commit: a crash between the two re-reads this page, which is harmless.
        _watermark_advance(ctx.spec.kind, page.latest, run)
    ctx.heartbeat()
    if ctx.progress is not None:
        ctx.progress(run)


def _apply_stored_plan(ctx: _Context, *, chunk: int) -> None:
    """Apply a stored plan: creates and updates chunk by chunk, then deactivations."""
    spec, run = ctx.spec, ctx.run
    planned = PlannedChange.objects.filter(run=run).order_by("id")
    last = 0
    while True:
        batch = list(
            planned.filter(action__in=[PlanAction.CREATE, PlanAction.UPDATE], id__gt=last)
            .exclude(values__isnull=True)
            .values_list("id", "values")[:chunk]
        )
        if not batch:
            break
        last = batch[-1][0]
        rows = {}
        for _id, values in batch:
            row = _row_from_values(spec, values)
            rows[row[0]] = row
        if spec is COMPANIES:
            # The mirror may have moved on since planning: screen names again.
            page = _Page(valid={k: (r, _row_values(spec, r)) for k, r in rows.items()})
            _screen_company_names(page)
            rows = {k: r for k, (r, _v) in page.valid.items()}
        with transaction.atomic():
            _apply(ctx, list(rows.values()))
            if spec is COMPANIES:
                _store_rejected(run, page.rejected)
            _save_counters(run)
        ctx.applied_chunks += 1
        ctx.heartbeat()
        if ctx.progress is not None:
            ctx.progress(run)
    _apply_deactivations(ctx, chunk=chunk)


def _apply_deactivations(ctx: _Context, *, chunk: int) -> None:
    spec, run = ctx.spec, ctx.run
    planned = PlannedChange.objects.filter(run=run, action=PlanAction.DEACTIVATE).order_by("id")
    last = 0
    while True:
        batch = list(planned.filter(id__gt=last).values_list("id", "object_id")[:chunk])
        if not batch:
            break
        last = batch[-1][0]
        targets = spec.model.objects.filter(pk__in=[pk for _id, pk in batch], is_active=True)
        if ctx.touched_before is not None:
            targets = targets.filter(mirrored_at__lte=ctx.touched_before)
        with transaction.atomic():
            run.deactivated += targets.update(is_active=False, mirrored_at=timezone.now())
            _save_counters(run)
        ctx.applied_chunks += 1
        ctx.heartbeat()


def _finish(
    ctx: _Context,
    status: str,
    *,
    actor: AbstractBaseUser | None,
    message: str = "",
    error: str = "",
    transient: bool = False,
    extra_seconds: float = 0.0,
) -> SyncRun:
    run = ctx.run
    seconds = time.monotonic() - ctx.clock_start + extra_seconds
    run.status = status
    run.finished_at = timezone.now()
    run.duration = timedelta(seconds=seconds)
    run.rows_per_s = round(run.seen / seconds, 1) if seconds > 0 else None
    run.message = message
    run.error = error
    run.error_transient = transient
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Pages may commit asynchronously (_relaxed_durability); how a run ended may not.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = on")
        run.save()
        if not run.dry_run:
            audit_record(
                actor=actor,
                actor_label=run.approved_by_label or run.started_by_label,
                action="itsm_sync.approve" if run.approved_at else "itsm_sync.run",
                obj=run,
                after=run.summary(),
                message=error or message,
            )
        transaction.on_commit(partial(_send_robustly, sync_run_finished, sender=SyncRun, run=run))
    log = logger.warning if status in (SyncStatus.FAILED, SyncStatus.PARTIAL) else logger.info
    log(
        "ITSM sync run #%s (%s %s) %s: %s",
        run.pk,
        run.kind,
        run.mode_label,
        run.status,
        error
        or message
        or ", ".join(f"{name} {getattr(run, name)}" for name in SyncRun.COUNTER_FIELDS),
    )
    _prune_history()
    return run


def _prune_history() -> None:
    days = getattr(settings, "ITSM_SYNC_HISTORY_DAYS", 90)
    if not days:
        return
    cutoff = timezone.now() - timedelta(days=days)
    SyncRun.objects.filter(finished_at__lt=cutoff).exclude(status=SyncStatus.RUNNING).delete()


def _guard_message(run: SyncRun, spec: _Spec, *, dry: bool) -> str:
    share = run.planned_deactivations / run.active_before if run.active_before else 1.0
    if run.seen == 0:
        found = (
            f"The source listed no {spec.plural} at all, which would deactivate all "
            f"{run.planned_deactivations} active ones."
        )
    else:
        found = (
            f"The source no longer lists {run.planned_deactivations} of the "
            f"{run.active_before} active {spec.plural} ({share:.0%}), more than the limit of "
            f"{run.deactivation_limit} (max({GUARD_MIN}, {GUARD_FRACTION:.0%}))."
        )
    if dry:
        return f"{found} A real full run would stop before changing anything and wait for approval."
    return (
        f"{found} Stopped before changing anything. If the source is right, review the plan "
        f"and approve it on the ITSM sync page or with `manage.py sync_itsm --approve {run.pk}`; "
        "if not, fix the source (ITSM_URL, its user's permissions or the export) and run again."
    )


def _execute(
    ctx: _Context, source: Any, *, full: bool, dry_run: bool, actor: AbstractBaseUser | None
) -> SyncRun:
    spec, run = ctx.spec, ctx.run
    chunk = max(1, getattr(getattr(source, "config", None), "page_size", 0) or 1000)
    active = spec.model.objects.filter(is_active=True).count() if full else 0
    if full:
        run.active_before = active
        run.deactivation_limit = deactivation_limit(active)
        run.save(update_fields=["active_before", "deactivation_limit"])
    # With at most GUARD_MIN active records the guard can't trip, so a full run may apply as it
    # reads (a fresh install's first sync); otherwise it plans everything first.
    staged = dry_run or (full and active > GUARD_MIN)
    seen = _seen_keys(spec) if full else None
    if seen is not None:
        seen.start()
    try:
        prepare = None
        if spec.parse_ahead:
            ctx.companies.load_all()
            prepare = partial(_read_page, ctx)
        with _read_ahead(spec.pages(source, run.since), prepare) as pages:
            for item in pages:
                _process_page(ctx, item, staged=staged, seen=seen, keep_values=not dry_run)
        if seen is not None:
            run.planned_deactivations = seen.plan_deactivations(run)
            _save_counters(run)
    finally:
        if seen is not None:
            seen.close()
    # An empty answer is more often a broken filter or export than an emptied ITSM: it never
    # deactivates anything unapproved, whatever the mirror's size.
    tripped = full and (
        run.planned_deactivations > (run.deactivation_limit or 0)
        or (run.seen == 0 and run.planned_deactivations > 0)
    )
    if dry_run:
        message = _guard_message(run, spec, dry=True) if tripped else ""
        return _finish(ctx, SyncStatus.SUCCEEDED, actor=actor, message=message)
    if tripped:
        return _finish(
            ctx,
            SyncStatus.NEEDS_APPROVAL,
            actor=actor,
            message=_guard_message(run, spec, dry=False),
        )
    if staged:
        _apply_stored_plan(ctx, chunk=chunk)
        _watermark_advance(spec.kind, run.source_watermark, run)
    elif full:
        _apply_deactivations(ctx, chunk=chunk)
    return _finish(ctx, SyncStatus.SUCCEEDED, actor=actor)


def _fail(
    ctx: _Context, exc: BaseException, *, actor: AbstractBaseUser | None, transient: bool
) -> SyncRun:
    status = SyncStatus.PARTIAL if ctx.applied_chunks else SyncStatus.FAILED
    if isinstance(exc, SourceError | DomainError):
        error = str(exc)
    elif isinstance(exc, SoftTimeLimitExceeded):
        error = (
            "Stopped at the task's soft time limit "
            f"(CELERY_TASK_SOFT_TIME_LIMIT={settings.CELERY_TASK_SOFT_TIME_LIMIT} s)."
        )
    else:
        error = f"{type(exc).__name__}: {exc}"
    if ctx.applied_chunks:
        error += (
            f" The {ctx.applied_chunks} page(s) committed before it stay applied; the watermark "
            "covers only committed pages, so the next run picks up from there."
        )
    else:
        error += " Nothing was changed."
    return _finish(ctx, status, actor=actor, error=error.strip(), transient=transient)


def _sync(
    spec: _Spec,
    *,
    actor: AbstractBaseUser | None,
    source: Any,
    full: bool,
    dry_run: bool,
    actor_label: str,
    progress: Progress | None,
) -> SyncRun:
    _check_actor(actor)
    with _kind_lock(spec.kind) as heartbeat:
        _fail_interrupted(spec.kind)
        run = SyncRun.objects.create(
            kind=spec.kind,
            mode=SyncMode.FULL if full else SyncMode.INCREMENTAL,
            dry_run=dry_run,
            started_by=actor,
            started_by_label=_actor_label(actor, actor_label),
            source_label=_source_label(source),
            since=None if full else _watermark_get(spec.kind),
        )
        ctx = _Context(
            spec=spec,
            run=run,
            writer=_writer(spec),
            companies=_CompanyIndex(),
            heartbeat=heartbeat,
            progress=progress,
        )
        try:
            with _relaxed_durability():
                return _execute(ctx, source, full=full, dry_run=dry_run, actor=actor)
        except SourceError as exc:
            return _fail(ctx, exc, actor=actor, transient=exc.retryable)
        except BaseException as exc:
            # Record why (a bug, the database, the soft time limit) before letting it go on; a
            # connection the database dropped (a restart) is replaced to record it.
            if not connection.is_usable():
                connection.close()
            try:
                _fail(ctx, exc, actor=actor, transient=False)
            except Exception:
                logger.exception("Could not record the failure of ITSM sync run #%s", run.pk)
            raise


def sync_companies(
    *,
    actor: AbstractBaseUser | None = None,
    source: Any,
    full: bool = False,
    dry_run: bool = False,
    actor_label: str = "",
    progress: Progress | None = None,
) -> SyncRun:
    """Mirror ITSM companies (COM:Company) from source: incremental, full reconcile or dry run.

    Raises SyncAlreadyRunning when a companies run holds the lock; every other outcome is the
    returned run's status (a source failure is recorded on the run, with `error_transient` set
    when a retry may help).
    """
    return _sync(
        COMPANIES,
        actor=actor,
        source=source,
        full=full,
        dry_run=dry_run,
        actor_label=actor_label,
        progress=progress,
    )


def sync_people(
    *,
    actor: AbstractBaseUser | None = None,
    source: Any,
    full: bool = False,
    dry_run: bool = False,
    actor_label: str = "",
    progress: Progress | None = None,
) -> SyncRun:
    """Mirror ITSM people (CTM:People) from source; companies must be mirrored first.

    Same contract as sync_companies; a person whose company changed is moved through
    person_move_company.
    """
    return _sync(
        PEOPLE,
        actor=actor,
        source=source,
        full=full,
        dry_run=dry_run,
        actor_label=actor_label,
        progress=progress,
    )


def sync_run_approve(
    *,
    actor: AbstractBaseUser | None,
    run: SyncRun,
    actor_label: str = "",
    progress: Progress | None = None,
) -> SyncRun:
    """Apply the kept plan of a full reconcile that stopped for approval (S3); audited.

    Rows a later sync has changed since the plan was made keep their newer state. A plan
    superseded by a later full run can't be approved (approve that one instead).
    """
    _check_actor(actor)
    spec = SPECS[run.kind]
    with _kind_lock(run.kind) as heartbeat:
        run = SyncRun.objects.get(pk=run.pk)
        retrying = run.approved_at is not None and run.status in (
            SyncStatus.PARTIAL,
            SyncStatus.FAILED,
        )
        if run.dry_run:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is a dry run; it only shows a plan. Start a real full run to "
                "apply it."
            )
        if run.status != SyncStatus.NEEDS_APPROVAL and not retrying:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is {run.get_status_display().lower()}; only a run that needs "
                "approval can be approved."
            )
        later = (
            SyncRun.objects.filter(
                kind=run.kind, mode=SyncMode.FULL, dry_run=False, started_at__gt=run.started_at
            )
            .exclude(status=SyncStatus.FAILED)
            .order_by("started_at")
            .first()
        )
        if later is not None:
            raise SyncApprovalRefused(
                f"Run #{run.pk} is superseded by full run #{later.pk} "
                f"({later.get_status_display().lower()}), which read the source later; "
                "approve or re-run that one instead."
            )
        _fail_interrupted(run.kind)
        planned_at = run.finished_at or timezone.now()
        earlier_seconds = run.duration.total_seconds() if run.duration else 0.0
        run.status = SyncStatus.RUNNING
        run.approved_by = actor
        run.approved_by_label = _actor_label(actor, actor_label)
        run.approved_at = timezone.now()
        run.error = ""
        run.save()
        ctx = _Context(
            spec=spec,
            run=run,
            writer=_writer(spec),
            companies=_CompanyIndex(),
            heartbeat=heartbeat,
            progress=progress,
            touched_before=planned_at,
        )
        try:
            with _relaxed_durability():
                _apply_stored_plan(ctx, chunk=1000)
                _watermark_advance(spec.kind, run.source_watermark, run)
        except BaseException as exc:
            try:
                _fail(ctx, exc, actor=actor, transient=False)
            except Exception:
                logger.exception("Could not record the failed approval of run #%s", run.pk)
            raise
        return _finish(
            ctx,
            SyncStatus.SUCCEEDED,
            actor=actor,
            message=f"Plan approved by {run.approved_by_label} and applied.",
            extra_seconds=earlier_seconds,
        )


def person_move_company(
    *,
    person_id: int,
    old_company_id: int,
    new_company_id: int,
    actor: AbstractBaseUser | None = None,
) -> bool:
    """Move an ITSM person to another company — the one place a move happens — and announce it.

    The sync calls it for every person whose Company changed (the row is then already written,
    so nothing is rewritten here); after commit it sends `signals.person_company_changed`, where
    later features connect (accounts moves the user, customers ends an administrator role of
    the old company, entitlements follow). Returns whether this call itself moved the row.
    """
    with transaction.atomic():
        moved = (
            Person.objects.filter(pk=person_id)
            .exclude(company_id=new_company_id)
            .update(company_id=new_company_id, mirrored_at=timezone.now())
        )
        if moved:
            audit_record(
                actor=actor,
                action="itsm_sync.person_move_company",
                obj=Person.objects.get(pk=person_id),
                before={"company_id": old_company_id},
                after={"company_id": new_company_id},
            )
        transaction.on_commit(
            partial(
                _send_robustly,
                person_company_changed,
                sender=Person,
                person_id=person_id,
                old_company_id=old_company_id,
                new_company_id=new_company_id,
            )
        )
    return bool(moved)


def _send_robustly(signal: Any, **kwargs: Any) -> None:
    """Send after commit; a failing receiver is logged and must not fail the committed sync."""
    for receiver, response in signal.send_robust(**kwargs):
        if isinstance(response, Exception):
            logger.error(
                "ITSM sync signal receiver %r failed: %r", receiver, response, exc_info=response
            )
