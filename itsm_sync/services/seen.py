"""Keys a full reconcile saw, and the deactivations they imply."""

from __future__ import annotations

from django.db import connection

from ..models import PlanAction, PlannedChange, SeenKey, SyncRun
from .records import Spec
from .writers import copy_in, csv_text

# ---------------------------------------------------------------------------------------------
# Keys seen by a full reconcile, and the deactivations they imply.
# ---------------------------------------------------------------------------------------------


class SeenKeys:
    """The keys one full run has met, as SeenKey rows committed with each page.

    They live in the database, not in the process: memory stays flat at any mirror size, and
    a run that continues in another task (on another worker) still has them. PostgreSQL adds
    them by COPY; elsewhere (the SQLite demo) by bulk_create.
    """

    def __init__(self, spec: Spec, run: SyncRun, *, copy: bool | None = None) -> None:
        self.spec = spec
        self.run = run
        self.copy = connection.vendor == "postgresql" if copy is None else copy
        self.table = SeenKey._meta.db_table

    def add(self, keys: list[str]) -> None:
        if not keys:
            return
        if self.copy:
            sql = f"COPY {self.table} (run_id, key) FROM STDIN WITH (FORMAT csv)"
            with connection.cursor() as cursor:
                copy_in(cursor, sql, csv_text((self.run.pk, key) for key in keys))
        else:
            SeenKey.objects.bulk_create(
                [SeenKey(run=self.run, key=key) for key in keys], batch_size=500
            )

    def _fresh_statistics(self, cursor: object) -> None:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {self.table}")  # type: ignore[attr-defined]

    def _unseen(self) -> str:
        spec = self.spec
        if connection.vendor == "postgresql":
            # A hash anti-join; NOT IN would probe a subplan per row once the keys outgrow
            # work_mem.
            return (
                f"FROM {spec.table} t WHERE t.is_active AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {self.table} s WHERE s.run_id = %s AND s.key = t.{spec.key})"
            )
        # SQLite builds one temporary index for NOT IN, but scans per row for NOT EXISTS.
        return (
            f"FROM {spec.table} t WHERE t.is_active AND t.{spec.key} NOT IN "  # noqa: S608
            f"(SELECT s.key FROM {self.table} s WHERE s.run_id = %s)"
        )

    def unseen_keys(self, limit: int) -> list[str]:
        """Up to `limit` keys of active mirror records that no page has shown."""
        with connection.cursor() as cursor:
            self._fresh_statistics(cursor)
            cursor.execute(
                f"SELECT t.{self.spec.key} {self._unseen()} ORDER BY t.id LIMIT %s",
                [self.run.pk, limit],
            )
            return [key for (key,) in cursor.fetchall()]

    def plan_deactivations(self, run: SyncRun) -> int:
        changes = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        with connection.cursor() as cursor:
            self._fresh_statistics(cursor)
            cursor.execute(
                f"INSERT INTO {PlannedChange._meta.db_table} "
                '(run_id, key, action, object_id, changes, "values") '
                f"SELECT %s, t.{self.spec.key}, %s, t.id, {changes}, NULL {self._unseen()} "
                "ORDER BY t.id",
                [run.pk, PlanAction.DEACTIVATE, '{"is_active": [true, false]}', run.pk],
            )
            return cursor.rowcount


def forget_seen(runs: list[int]) -> None:
    """Drop the seen keys of runs that ended."""
    if runs:
        SeenKey.objects.filter(run_id__in=runs).delete()


def seen_keys(spec: Spec, run: SyncRun) -> SeenKeys:
    """The keys this full run has seen so far (none when it starts)."""
    return SeenKeys(spec, run)
