"""A page of records from the source: validated, de-duplicated, its company names screened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ..models import Company
from .context import RunContext
from .records import COMPANIES, Reject, Row, UnknownCompany


class Valid(NamedTuple):
    """A record that passed validation: its row, and the AR values it came from."""

    row: Row
    raw: dict[str, Any]


class Rejection(NamedTuple):
    """A record kept as a RejectedRecord: its key (if it had one), why, and its values."""

    key: str
    reason: str
    raw: Any


@dataclass
class Page:
    """One page of the source's records, ready to plan or apply."""

    # The valid records by key; of a key met twice, the latest Last Modified Date.
    valid: dict[str, Valid] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    latest: datetime | None = None
    read: int = 0
    unknown_companies: set[str] = field(default_factory=set)
    values_page: list[Any] = field(default_factory=list)
    # The valid rows already in the writer's wire format (PostgreSQL: COPY CSV), when rendered.
    rendered: Any = None
    # Where the source's listing goes on after this page (sources.Page.cursor).
    cursor: str = ""

    @property
    def rows(self) -> list[Row]:
        return [valid.row for valid in self.valid.values()]


def read_page(ctx: RunContext, values_page: list[Any], *, render: bool = False) -> Page:
    """Validate and de-duplicate one page; the latest Last Modified Date wins a duplicate key.

    No database access for people (see Spec.parse_ahead); settle_page finishes the page.
    """
    page = Page(
        read=len(values_page),
        values_page=values_page,
        cursor=getattr(values_page, "cursor", ""),
    )
    parse = ctx.spec.parse
    valid = page.valid
    for values in values_page:
        if not isinstance(values, dict):
            page.rejected.append(
                Rejection("", "Not a record (expected an object of AR values).", values)
            )
            continue
        try:
            row = parse(values, ctx)
        except Reject as exc:
            if isinstance(exc, UnknownCompany):
                page.unknown_companies.add(exc.name)
            page.rejected.append(Rejection(exc.key, exc.reason, values))
            if exc.key:
                page.keys.append(exc.key)
            if exc.modified is not None and (page.latest is None or exc.modified > page.latest):
                page.latest = exc.modified
            continue
        key, when = row.key, row.last_modified
        page.keys.append(key)
        if page.latest is None or when > page.latest:
            page.latest = when
        prior = valid.get(key)
        if prior is not None and prior.row.last_modified > when:
            continue
        valid[key] = Valid(row, values)
    if render:  # ahead of the write, in the reader thread; a stored plan needs no rendering
        page.rendered = ctx.writer.render(page.rows)
    return page


def settle_page(ctx: RunContext, item: Page | list[Any]) -> Page:
    """Finish a page on the run's thread: the checks that need the mirror."""
    if not isinstance(item, Page):
        item = read_page(ctx, item)
    if ctx.spec is COMPANIES:
        screen_company_names(item)
    elif item.unknown_companies:
        # A company may have reached the mirror since the run started; the page read ahead
        # did not know it, even if an earlier page of this run has loaded it meanwhile.
        ctx.companies.load(item.unknown_companies)
        if any(name in ctx.companies.by_name for name in item.unknown_companies):
            item = read_page(ctx, item.values_page)
    return item


def screen_company_names(page: Page) -> None:
    """Reject a company whose name another company holds: names are unique in the mirror."""
    by_name: dict[str, str] = {}
    for valid in sorted(page.valid.values(), key=lambda valid: valid.row.last_modified):
        key, name = valid.row.key, valid.row.name
        other = by_name.get(name)
        if other is not None:
            loser = page.valid.pop(other)
            page.rejected.append(
                Rejection(
                    other,
                    f"Company name {name!r} is also used by {key}, modified later in the "
                    "same page; company names must be unique.",
                    loser.raw,
                )
            )
        by_name[name] = key
    if not by_name:
        return
    # A holder that is itself rewritten in this batch gives its name up in the same transaction
    # (renames, swaps); an active one outside the batch still owns it.
    holders = Company.objects.filter(name__in=list(by_name), is_active=True)
    for name, holder in holders.values_list("name", "entry_id"):
        key = by_name[name]
        if holder == key or holder in page.valid:
            continue
        kept = page.valid.pop(key)
        page.rejected.append(
            Rejection(
                key,
                f"Company name {name!r} still belongs to active company {holder} in the mirror; "
                "it goes in once that company is renamed or deactivated (a later full "
                "reconcile reads this record again).",
                kept.raw,
            )
        )
