"""Keyset pagination: every page costs the same, however deep, and no COUNT(*) is run."""

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import BooleanField, Model, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

DEFAULT_PAGE_SIZE = 50
# Far longer than any cursor this module writes; anything longer is not one of ours.
CURSOR_MAX = 2000


@dataclass
class KeysetPage:
    """One page of rows, with the opaque cursor of the next page (None on the last)."""

    rows: list
    next_cursor: str | None
    is_first: bool


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def _decode(cursor: str) -> list[Any] | None:
    if len(cursor) > CURSOR_MAX:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, RecursionError):
        return None
    return values if isinstance(values, list) else None


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    cursor: str | None = None,
    size: int = DEFAULT_PAGE_SIZE,
) -> KeysetPage:
    """Return the page after cursor for a queryset ordered by ordering, whose last key is unique.

    The queryset may yield model instances or .values() dicts that hold every ordering path.
    A cursor this module did not write (forged, truncated, decoding to nonsense) answers the
    first page.
    """
    after = _after(queryset.model, queryset.db, ordering, cursor)
    rows = list(_keyset(queryset, ordering, after)[: size + 1])
    return _page(rows, ordering, size, after)


def _fields(ordering: tuple[str, ...]) -> list[str]:
    return [name.lstrip("-") for name in ordering]


def _after(model, db: str, ordering: tuple[str, ...], cursor: str | None) -> list | None:
    """The cursor's values typed for the ordering's fields, None for none or a forged one."""
    after = _decode(cursor) if cursor else None
    if after is None:
        return None
    return _typed(model, _fields(ordering), after, ops=connections[db].ops)


def _keyset(queryset: QuerySet, ordering: tuple[str, ...], after: list | None) -> QuerySet:
    """queryset in ordering, from the row after the values after (all rows for None)."""
    fields = _fields(ordering)
    queryset = queryset.order_by(*ordering)
    if after is not None:
        condition = Q()
        for i, name in enumerate(ordering):
            op = "lt" if name.startswith("-") else "gt"
            step = Q(**{f"{fields[j]}": after[j] for j in range(i)}) & Q(
                **{f"{fields[i]}__{op}": after[i]}
            )
            condition |= step
        queryset = queryset.filter(condition)
    return queryset


def _page(rows: list, ordering: tuple[str, ...], size: int, after: list | None) -> KeysetPage:
    """A page of rows fetched one past size: that extra row says there is a next page."""
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode([_attr(last, f) for f in _fields(ordering)])
    return KeysetPage(rows=rows, next_cursor=next_cursor, is_first=after is None)


def _field(model, path: str):
    field = None
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if field.is_relation:
            model = field.related_model
    return field.target_field if field.is_relation else field


class _Forged(Exception):
    """A cursor value that no row of the field could have written."""


def _typed(model, fields: list[str], values: list[Any], *, ops) -> list[Any] | None:
    """The cursor's values converted to their fields' types, or None for a tampered cursor.

    Each value must be one the database can compare with its column: not null, no NUL byte,
    a finite number within the column's range (ops: the connection's operations), a moment
    that exists in UTC.
    """
    if len(values) != len(fields):
        return None
    try:
        return [_value(_field(model, f), v, ops) for f, v in zip(fields, values, strict=True)]
    except (_Forged, ValidationError, FieldDoesNotExist, TypeError, ValueError, AttributeError):
        return None
    except ArithmeticError:  # OverflowError, decimal.InvalidOperation
        return None


def _value(field, raw: Any, ops) -> Any:
    # JSON gives str, int, float, bool, None, list or dict: only scalars can be keys, and
    # booleans only of a boolean field.
    if not isinstance(raw, str | int | float) or (
        isinstance(raw, bool) and not isinstance(field, BooleanField)
    ):
        raise _Forged
    value = field.to_python(raw)
    if value is None:
        raise _Forged
    if isinstance(value, str) and "\x00" in value:
        raise _Forged
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise _Forged
    if isinstance(value, int) and not isinstance(value, bool):
        low, high = ops.integer_field_ranges.get(field.get_internal_type(), (None, None))
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Forged
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        value.astimezone(UTC)  # OverflowError for a moment before year 1 or after 9999 in UTC
    return value


def _attr(obj: Any, path: str) -> Any:
    if isinstance(obj, dict):  # a .values() row: its keys are the lookup paths
        obj = obj[path]
        return obj.isoformat() if hasattr(obj, "isoformat") else obj
    for part in path.split("__"):
        obj = getattr(obj, part)
    if isinstance(obj, Model):
        obj = obj.pk
    return obj.isoformat() if hasattr(obj, "isoformat") else obj


def row_url(name: str) -> Callable[[int], str]:
    """reverse(name, args=[pk]) for every row of a list page at the cost of one reverse."""
    marker = "2147483647"
    head, tail = reverse(name, args=[int(marker)]).split(marker)
    return lambda pk: f"{head}{int(pk)}{tail}"
