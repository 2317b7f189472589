"""Reads of the lowest layer: MSP mode, the installation record and the audit trail."""

from django.db import connection
from django.db.models import QuerySet

from .memo import memoized
from .models import AuditEvent, Installation, MspMode, Notification, ReleaseChange
from .tenancy import visible_to


def capped_count(queryset: QuerySet, cap: int = 99) -> tuple[int, bool]:
    """How many rows queryset holds, counting no further than cap (True when there are more):
    a number on a page that never costs a COUNT(*) over a whole big table."""
    found = len(queryset.order_by().values_list("pk", flat=True)[: cap + 1])
    return min(found, cap), found > cap


def msp_mode_get() -> MspMode:
    """The MSP mode flag, read fresh from the database on every call (nothing is cached)."""
    return MspMode.objects.filter(pk=1).first() or MspMode(pk=1, enabled=False)


def _scalar(sql: str, params: list) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


# The two reads below run on nearly every page, so they are plain SQL: the ORM spends about
# 0.3 ms composing each, three times what the database needs (bench/pages). Table names come
# from the models.


MSP_MODE_MEMO = "msp_mode_enabled"

# Databases (by name) this process has seen MSP mode on for good in: once a customer has been
# added it can't be switched off (M3; PostgreSQL's trigger of customers migration 0004 refuses
# it), so the answer can't change any more and is not asked again.
_ON_FOR_GOOD: set[str] = set()


def msp_mode_enabled() -> bool:
    """Whether MSP mode is on: read fresh from the database once per request (msp_portal.memo)
    until it is on for good, then known."""
    database = connection.settings_dict["NAME"]
    if database in _ON_FOR_GOOD:
        return True
    return memoized(MSP_MODE_MEMO, lambda: _msp_mode_read(database))


def _msp_mode_read(database: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT enabled, first_customer_at IS NOT NULL FROM {MspMode._meta.db_table} "  # noqa: S608
            "WHERE id = 1"
        )
        row = cursor.fetchone()
    enabled, for_good = row if row else (False, False)
    # Only what is committed: a customer added in a transaction that is rolled back after
    # this read leaves MSP mode free to be switched off again.
    if (
        enabled
        and for_good
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    ):
        _ON_FOR_GOOD.add(database)
    return bool(enabled)


def msp_mode_unlearn() -> None:
    """Forget what this process learnt (tests: each starts from an empty database again)."""
    _ON_FOR_GOOD.clear()


def notification_unread_sql(user_id: str) -> str:
    """SQL counting the unread notifications of the user whose id `user_id` (SQL) names: a
    parameter, or a column when the count rides along another query."""
    return (
        f"SELECT COUNT(*) FROM {Notification._meta.db_table} n "  # noqa: S608
        f"WHERE n.user_id = {user_id} AND n.read_at IS NULL"
    )


def notification_unread_count(*, user_id: int) -> int:
    """How many notifications the user has not read (the bell's count; an index answers it)."""
    return _scalar(notification_unread_sql("%s"), [user_id])


def installation_get() -> Installation | None:
    """The installation record, or None before the first migrate finished."""
    return Installation.objects.filter(pk=1).first()


def release_change_list() -> QuerySet[ReleaseChange]:
    """Every change of release since installation, oldest first."""
    return ReleaseChange.objects.order_by("at", "id")


def audit_event_list(*, user) -> QuerySet[AuditEvent]:
    """The audit trail as the user may read it (msp_portal.tenancy), newest first;
    msp_portal.filters.AuditEventFilterSet narrows it."""
    events = AuditEvent.objects.select_related("actor")
    return visible_to(user, events).order_by("-at", "-id")
