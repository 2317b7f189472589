"""Writing a batch of rows: PostgreSQL COPY + ON CONFLICT, or a portable bulk upsert."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from .records import Row, Spec


def csv_text(rows: Iterable[Row]) -> str:
    """Rows as the CSV that COPY … WITH (FORMAT csv) reads."""
    buffer = io.StringIO()
    # Quoting everything keeps '' an empty string; an unquoted empty field would be NULL.
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def copy_in(cursor: Any, sql: str, text: str) -> None:
    """Run COPY … FROM STDIN with this text on a Django cursor (psycopg2 or psycopg 3)."""
    raw = cursor.cursor
    if hasattr(raw, "copy_expert"):
        # One read of the whole text: each chunk read would wait for the GIL again.
        raw.copy_expert(sql, io.StringIO(text), size=max(8192, len(text)))
    else:  # psycopg 3
        with raw.copy(sql) as copy:
            copy.write(text)


class Mirrored(NamedTuple):
    """A record as the mirror holds it now."""

    pk: int
    mirrored_at: datetime
    row: Row


def mirrored_rows(spec: Spec, keys: list[str]) -> dict[str, Mirrored]:
    """The mirror's current rows for these keys, by key."""
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
    found = {}
    for pk, mirrored_at, *values in rows:
        row = spec.row_from(values)
        found[row.key] = Mirrored(pk, mirrored_at, row)
    return found


# ---------------------------------------------------------------------------------------------
# Writing: PostgreSQL COPY + ON CONFLICT, or a portable bulk upsert.
# ---------------------------------------------------------------------------------------------


class Move(NamedTuple):
    """An updated person whose company changed."""

    person_id: int
    old_company_id: int
    new_company_id: int


@dataclass
class Written:
    """What a writer did to one batch: rows inserted, rows rewritten, people moved."""

    created: int = 0
    updated: int = 0
    moves: list[Move] = field(default_factory=list)


class PostgresWriter:
    """COPY a batch into a TEMP staging table, then upsert only rows that really differ.

    One statement plans and applies: ON CONFLICT … WHERE … IS DISTINCT FROM leaves unchanged
    rows alone, RETURNING tells creates from updates (xmax is 0 only on a freshly inserted
    tuple), and the outer SELECT, which sees the table as it was before the statement, reads
    an updated person's previous company to announce a move.
    """

    def __init__(self, spec: Spec) -> None:
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
        return csv_text(rows)

    def write(
        self,
        rows: list[Row],
        *,
        now: datetime,
        touched_before: datetime | None,
        rendered: str | None = None,
        overlap: Callable[[], None] | None = None,
    ) -> Written:
        """Write the rows; `overlap` is called as the upsert, the long wait, is about to start."""
        if not rows:
            return Written()
        text = self.render(rows) if rendered is None else rendered
        touched, params = "", [now]
        if touched_before is not None:
            touched = " AND t.mirrored_at <= %s"
            params.append(touched_before)
        with connection.cursor() as cursor:
            cursor.execute(self.create_sql)
            # TRUNCATE, not ON COMMIT DELETE ROWS: pages may share one transaction (savepoints).
            cursor.execute(f"TRUNCATE {self.stage}")
            copy_in(cursor, self.copy_sql, text)
            if overlap is not None:
                overlap()
            cursor.execute(self.upsert_sql.format(touched=touched), params)
            written = cursor.fetchall()
        created = sum(1 for was_created, *_rest in written if was_created)
        moves = []
        if self.tracks_company:
            moves = [
                Move(pk, old, new)
                for _created, pk, old, new in written
                if old is not None and old != new
            ]
        return Written(created=created, updated=len(written) - created, moves=moves)


class PortableWriter:
    """Compare with the mirror, then bulk_create(update_conflicts=True) what is new or changed."""

    def __init__(self, spec: Spec) -> None:
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
        overlap: Callable[[], None] | None = None,
    ) -> Written:
        spec = self.spec
        if overlap is not None:
            overlap()
        existing = mirrored_rows(spec, [row.key for row in rows])
        changed: list[Row] = []
        result = Written()
        tracks_company = "company_id" in spec.columns
        for row in rows:
            found = existing.get(row.key)
            if found is None:
                result.created += 1
            elif found.row == row or (
                touched_before is not None and found.mirrored_at > touched_before
            ):
                continue
            else:
                result.updated += 1
                if tracks_company and found.row.company_id != row.company_id:
                    result.moves.append(Move(found.pk, found.row.company_id, row.company_id))
            changed.append(row)
        if changed:
            spec.model.objects.bulk_create(
                [spec.model(**row._asdict(), mirrored_at=now) for row in changed],
                batch_size=500,
                update_conflicts=True,
                unique_fields=[spec.key],
                update_fields=[*spec.columns[1:], "mirrored_at"],
            )
        return result


def writer_for(spec: Spec) -> PostgresWriter | PortableWriter:
    """The fastest writer the database allows: COPY and ON CONFLICT on PostgreSQL."""
    return PostgresWriter(spec) if connection.vendor == "postgresql" else PortableWriter(spec)
