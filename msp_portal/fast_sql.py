"""The busiest queries, composed by the ORM once per shape and run as prepared statements.

Every page loads its signed-in user, and the customers list (the portal's busiest page, which
must stay 4× faster than the Django admin's changelist: bench/pages) reads fifty rows with their
counts. Composing those queries through the ORM and reading the rows back through it cost about
1.2 ms of CPU a request each on the 2-core bench host, and PostgreSQL spent 0.3–0.6 ms parsing
and planning each, as much as running them. Their SQL only changes with its *shape* (with or
without a search text, first page or a later one), so:
- `ComposedOnce` (a keyset list: the customers page and the API's customers) and `LoadedOnce`
  (one object by a unique field: each request's user, an API token) have the ORM compose each
  shape once, with marks in place of the request's values, remember where each mark went in
  the parameters, and from then on run that SQL with the request's own values;
- `prepared` runs it as a server-side prepared statement of the database session;
- `_Reader` turns the rows into dicts or model instances as Django's own iterables do.

The querysets stay the one definition: tests/msp_portal/test_fast_sql.py checks, for generated
data, searches and cursors, that `ComposedOnce` pages equal `keyset_page`'s over the same
queryset, and that `LoadedOnce` objects equal the ORM's field by field for every persona. What
the marks may reach is strict, and anything else is refused when a shape is composed:
- the search text only `contains`/`icontains` lookups (their parameter is `%text%`, escaped);
- the ordering and the unique field only text and integer fields (their marks are a
  private-use text and an integer no key reaches).
On a database other than PostgreSQL (the SQLite demo) they simply run the ORM's query.
"""

import itertools
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router
from django.db.models import QuerySet
from django.db.models.fields import CharField, IntegerField, TextField
from django.db.models.query import ModelIterable, get_related_populators

from .pagination import (
    DEFAULT_PAGE_SIZE,
    KeysetPage,
    _after,
    _field,
    _fields,
    _keyset,
    _page,
    keyset_page,
)
from .tenancy import sees_all, visible_to

_TEXT_MARK = "\ue000search\ue000"
_INT_MARK = -(2**62)  # plus the position of the ordering field


def _field_mark(field, i: int):
    if isinstance(field, CharField | TextField):
        return f"\ue001after{i}\ue001"
    if isinstance(field, IntegerField):
        return _INT_MARK + i
    raise ImproperlyConfigured(
        f"ComposedOnce orders by text and integer fields only, not {type(field).__name__}: "
        "use keyset_page for this list."
    )


class Statement:
    """SQL text (with %s parameters) that `prepared` runs as a server-side prepared statement."""

    _numbers = itertools.count(1)

    def __init__(self, sql: str):
        self.sql = sql
        self.name = f"fast_sql_{next(self._numbers)}"
        count = itertools.count(1)
        # Django's %s parameters and %% percent signs, as PostgreSQL's $n and %.
        self.body = re.sub(r"%([s%])", lambda m: f"${next(count)}" if m[1] == "s" else "%", sql)
        self.arity = next(count) - 1


def prepared(connection, statement: Statement, params: list) -> list[tuple]:
    """The rows of statement run with params, prepared once per database session.

    PostgreSQL then skips parsing and planning it (the customers list: 0.6 ms of its 1.1 ms,
    bench/pages). With settings.DB_PREPARED_STATEMENTS off (behind a pooler in transaction
    mode) it is simply run. A session that lost its prepared statements all the same (DISCARD
    ALL) prepares it again, unless inside a transaction, which the error has already spoilt:
    that request fails, and the next one prepares it afresh.
    """
    if not settings.DB_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            return cursor.fetchall()
    arguments = f" ({', '.join(['%s'] * statement.arity)})" if statement.arity else ""
    for attempt in (1, 2):
        with connection.cursor() as cursor:
            known = _prepared_in(connection)
            if statement.name not in known:
                cursor.execute(f"PREPARE {statement.name} AS {statement.body}")
                known.add(statement.name)
            try:
                cursor.execute(f"EXECUTE {statement.name}{arguments}", params)
            except DatabaseError as error:
                if getattr(error.__cause__, "pgcode", None) != _NO_SUCH_STATEMENT:
                    raise
                known.clear()
                if attempt == 2 or connection.in_atomic_block:
                    raise
                continue
            return cursor.fetchall()
    raise AssertionError("unreachable")


_NO_SUCH_STATEMENT = "26000"  # invalid_sql_statement_name


def _prepared_in(connection) -> set[str]:
    """The statements prepared in connection's current database session (a new session, after a
    reconnection, has none)."""
    session = connection.connection
    kept = getattr(connection, "_fast_sql_prepared", None)
    if kept is None or kept[0] is not session:
        kept = (session, set())
        connection._fast_sql_prepared = kept
    return kept[1]


class _Reader:
    """How Django's ValuesIterable and ModelIterable turn a compiled query's rows into dicts or
    model instances (Model.from_db, the select_related populators, the annotations), worked out
    once from the compiler."""

    def __init__(self, compiler, db: str, *, instances: bool):
        query, select, klass_info = compiler.query, compiler.select, compiler.klass_info
        fields = [column[0] for column in select[: compiler.col_count]]
        self.converters = list(compiler.get_converters(fields).items())
        self.db = db
        self.model = klass_info["model"] if instances else None
        if self.model is None:  # a .values() query, its values named as ValuesIterable names them
            self.names = list(
                query.selected
                or [*query.extra_select, *query.values_select, *query.annotation_select]
            )
            return
        self.start = klass_info["select_fields"][0]
        self.end = klass_info["select_fields"][-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, db)
        self.annotations = dict(compiler.annotation_col_map)

    def read(self, rows: list[tuple], connection) -> list:
        read = []
        for row in rows:
            if self.converters:
                row = list(row)
                for position, (functions, expression) in self.converters:
                    for function in functions:
                        row[position] = function(row[position], expression, connection)
            if self.model is None:
                read.append(dict(zip(self.names, row, strict=True)))
                continue
            obj = self.model.from_db(self.db, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            read.append(obj)
        return read


class _Shape:
    def __init__(self, queryset: QuerySet, db: str, marks: list, limit: int | None = None):
        compiler = queryset.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        instances = issubclass(queryset._iterable_class, ModelIterable)
        self.reader = _Reader(compiler, db, instances=instances)
        positions = {(type(mark), mark): i for i, mark in enumerate(marks)}
        # Each parameter: ("value", v), ("after", i: the cursor's i-th value), ("search", None)
        # or ("limit", None).
        self.slots = []
        for param in params:
            if isinstance(param, str) and _TEXT_MARK in param:
                if param != f"%{_TEXT_MARK}%":
                    raise ImproperlyConfigured(
                        "ComposedOnce takes the search text in contains/icontains lookups only."
                    )
                self.slots.append(("search", None))
            elif isinstance(param, str | int) and (type(param), param) in positions:
                self.slots.append(("after", positions[type(param), param]))
            else:
                self.slots.append(("value", param))
        if limit is not None:
            # One statement for every page size: the LIMIT Django writes as text, a parameter.
            if not sql.endswith(f" LIMIT {limit}"):
                raise ImproperlyConfigured("ComposedOnce expected the query to end in its LIMIT.")
            sql = sql[: -len(str(limit))] + "%s"
            self.slots.append(("limit", None))
        self.statement = Statement(sql)

    def params(self, search: str, after: list | None, limit: int, ops) -> list:
        values = []
        for kind, value in self.slots:
            if kind == "value":
                values.append(value)
            elif kind == "after":
                values.append(after[value])
            elif kind == "search":
                values.append(f"%{ops.prep_for_like_query(search)}%")
            else:
                values.append(limit)
        return values


class ComposedOnce:
    """The pages of rows(search) a user may see: rows is a function of the search text returning
    a queryset of every row (`.values()` rows or model instances), in ordering (whose last field
    is unique). Scope is applied here, so no caller can forget it: for a user who sees every
    row (msp_portal.tenancy.sees_all) the SQL is composed once per shape; for anyone else the
    page is keyset_page over visible_to(user, rows(search))."""

    def __init__(
        self,
        rows: Callable[[str], QuerySet],
        *,
        ordering: tuple[str, ...],
        size: int = DEFAULT_PAGE_SIZE,
    ):
        self.rows = rows
        self.ordering = ordering
        self.size = size
        self._shapes: dict[tuple, _Shape] = {}
        self._model = None

    def page(
        self, *, user, search: str = "", cursor: str | None = None, size: int | None = None
    ) -> KeysetPage:
        size = size or self.size
        if self._model is None:
            self._model = self.rows("").model
        db = router.db_for_read(self._model)
        connection = connections[db]
        if connection.vendor != "postgresql" or not sees_all(user, self._model):
            rows = visible_to(user, self.rows(search))
            return keyset_page(rows, ordering=self.ordering, cursor=cursor, size=size)
        after = _after(self._model, db, self.ordering, cursor)
        key = (db, bool(search), after is not None)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = self._compose(db, bool(search), after is not None)
        params = shape.params(search, after, size + 1, connection.ops)
        rows = shape.reader.read(prepared(connection, shape.statement, params), connection)
        return _page(rows, self.ordering, size, after)

    def _compose(self, db: str, searched: bool, later: bool) -> _Shape:
        queryset = self.rows(_TEXT_MARK if searched else "")
        model = queryset.model
        marks = [
            _field_mark(_field(model, path), i) for i, path in enumerate(_fields(self.ordering))
        ]
        queryset = _keyset(queryset, self.ordering, marks if later else None)
        return _Shape(queryset[: self.size + 1], db, marks, limit=self.size + 1)


class LoadedOnce:
    """query().get(by=…) for a queryset of model instances (select_related and annotations
    included), by a unique text or integer field, its SQL composed once and run prepared.

    Every request loads its signed-in user (accounts.backends.PortalBackend) with the company,
    the person, the bell's count and the permissions: composing that query through the ORM cost
    about 0.6 ms of CPU and PostgreSQL about 0.4 ms parsing and planning it, on every page.
    The instances are built as Django's ModelIterable builds them (_Reader);
    tests/msp_portal/test_fast_sql.py holds them equal to the ORM's, field by field, for every
    persona. PostgreSQL only: elsewhere it runs the ORM's query.
    """

    def __init__(self, query: Callable[[], QuerySet], *, by: str = "pk"):
        self.query = query
        self.by = by  # a unique field: the primary key, or a token's digest, say
        self._model = None
        self._shapes: dict[str, _Shape] = {}

    def get(self, value):
        """The object whose `by` field is value, or None."""
        if self._model is None:
            self._model = self.query().model
        db = router.db_for_read(self._model)
        connection = connections[db]
        if connection.vendor != "postgresql":
            return self.query().filter(**{self.by: value}).first()
        shape = self._shapes.get(db)
        if shape is None:
            meta = self._model._meta
            mark = _field_mark(meta.pk if self.by == "pk" else meta.get_field(self.by), 0)
            shape = self._shapes[db] = _Shape(self.query().filter(**{self.by: mark}), db, [mark])
            if [kind for kind, _ in shape.slots].count("after") != 1:
                raise ImproperlyConfigured(
                    "LoadedOnce takes a queryset that holds no marks of its own."
                )
        params = shape.params("", [value], 0, connection.ops)
        rows = shape.reader.read(prepared(connection, shape.statement, params), connection)
        return rows[0] if rows else None
