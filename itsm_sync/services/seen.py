"""Keys a full reconcile saw, and the deactivations they imply."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection

from ..models import PlanAction, PlannedChange, SyncRun
from .records import _Spec
from .writers import copy_in, csv_text

logger = logging.getLogger(__name__)

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
        sql = f"COPY {self.table} (key) FROM STDIN WITH (FORMAT csv)"
        with connection.cursor() as cursor:
            copy_in(cursor, sql, csv_text((key,) for key in keys))

    def unseen_keys(self, limit: int) -> list[str]:
        """Up to `limit` keys of active mirror records that no page has shown."""
        spec = self.spec
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {self.table}")
            cursor.execute(
                f"SELECT t.{spec.key} FROM {spec.table} t WHERE t.is_active AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {self.table} s WHERE s.key = t.{spec.key}) ORDER BY t.id LIMIT %s",
                [limit],
            )
            return [key for (key,) in cursor.fetchall()]

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

    def unseen_keys(self, limit: int) -> list[str]:
        """Up to `limit` keys of active mirror records that no page has shown."""
        unseen = []
        active = self.spec.model.objects.filter(is_active=True).order_by("id")
        for key in active.values_list(self.spec.key, flat=True).iterator(chunk_size=2000):
            if key not in self.keys:
                unseen.append(key)
                if len(unseen) >= limit:
                    break
        return unseen

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
