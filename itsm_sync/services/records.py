"""Rows with named fields, validation of AR values into them, and companies versus people."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import models

from ..models import Company, CompanyType, Person, RecordStatus, SyncKind

if TYPE_CHECKING:
    from .context import RunContext


# ---------------------------------------------------------------------------------------------
# Rows: a record's values in the mirror's column order (what the writers COPY and compare).
# ---------------------------------------------------------------------------------------------


class CompanyRow(NamedTuple):
    """A company as the mirror stores it, in COMPANY_COLUMNS order."""

    entry_id: str
    name: str
    company_type: str
    status: str
    abbreviation: str
    parent_company: str
    last_modified: datetime
    is_active: bool

    @property
    def key(self) -> str:
        """The source's key of the record (Company Entry ID)."""
        return self.entry_id


class PersonRow(NamedTuple):
    """A person as the mirror stores it, in PERSON_COLUMNS order."""

    person_id: str
    remedy_login_id: str
    first_name: str
    last_name: str
    email: str
    company_id: int
    organization: str
    department: str
    region: str
    site_group: str
    site: str
    client_type: str
    support_staff: bool
    vip: bool
    profile_status: str
    last_modified: datetime
    is_active: bool

    @property
    def key(self) -> str:
        """The source's key of the record (Person ID)."""
        return self.person_id


Row = CompanyRow | PersonRow


# ---------------------------------------------------------------------------------------------
# Validation: AR values -> a row, or a rejection with a reason.
# ---------------------------------------------------------------------------------------------


class Reject(Exception):
    """Control flow of validation: this record goes to RejectedRecord with `reason`."""

    def __init__(self, reason: str, key: str = "", modified: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key
        self.modified = modified


class UnknownCompany(Reject):
    """A person's company is not in the index: maybe not in the mirror, maybe just created."""

    def __init__(self, reason: str, key: str, modified: datetime, name: str) -> None:
        super().__init__(reason, key, modified)
        self.name = name


def _max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length or 0


def _key(values: dict[str, Any], field_name: str, limit: int) -> str:
    raw = values.get(field_name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise Reject(f"No {field_name}.")
    key = raw if isinstance(raw, str) else str(raw)
    if len(key) > limit:
        raise Reject(f"{field_name} is longer than {limit} characters.")
    return key


def _modified(values: dict[str, Any], key: str) -> datetime:
    raw = values.get("Last Modified Date")
    if not isinstance(raw, str) or not raw.strip():
        raise Reject("No Last Modified Date.", key)
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Reject(f"Malformed Last Modified Date {raw!r}.", key) from None
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
        raise Reject(f"{field_name} is longer than {limit} characters.", key, when)
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
    raise Reject(f"{field_name} must be Yes or No, not {raw!r}.", key, when)


def _choice(
    values: dict[str, Any], field_name: str, allowed: frozenset[str], key: str, when: datetime
) -> str:
    raw = values.get(field_name)
    if raw is None or raw == "":
        raise Reject(f"No {field_name}.", key, when)
    if raw not in allowed:
        raise Reject(f"Unknown {field_name} {raw!r}.", key, when)
    return raw


_COMPANY_TYPES = frozenset(CompanyType.values)
_STATUSES = frozenset(RecordStatus.values)


class CompanyRef(NamedTuple):
    """A mirrored company as a person's row refers to it."""

    pk: int
    company_type: str


class CompanyIndex:
    """Company name -> CompanyRef (id, type) for the people sync.

    Loaded whole when a people run starts (one query), so pages can be validated in the
    read-ahead thread without the database; a name it lacks is looked up again on the run's
    own thread before any record is rejected for it (a company the mirror got meanwhile).
    """

    def __init__(self) -> None:
        self.by_name: dict[str, CompanyRef] = {}
        self._names_by_id: dict[int, str] | None = None

    def load_all(self) -> None:
        self._add(Company.objects.values_list("name", "id", "company_type"))

    def load(self, names: Iterable[Any]) -> bool:
        """Look up the names not in the index yet; True when one of them was found now."""
        missing = {n for n in names if isinstance(n, str) and n and n not in self.by_name}
        if not missing:
            return False
        return self._add(
            Company.objects.filter(name__in=missing).values_list("name", "id", "company_type")
        )

    def _add(self, found: Iterable[tuple[str, int, str]]) -> bool:
        added = False
        for name, pk, company_type in found:
            self.by_name[name] = CompanyRef(pk, company_type)
            if self._names_by_id is not None:
                self._names_by_id[pk] = name
            added = True
        return added

    def name_of(self, pk: int) -> str:
        if self._names_by_id is None:
            self._names_by_id = {ref.pk: name for name, ref in self.by_name.items()}
        name = self._names_by_id.get(pk)
        if name is None:
            name = Company.objects.filter(pk=pk).values_list("name", flat=True).first() or str(pk)
            self._names_by_id[pk] = name
        return name


# ---------------------------------------------------------------------------------------------
# What differs between companies and people.
# ---------------------------------------------------------------------------------------------

COMPANY_COLUMNS = CompanyRow._fields
PERSON_COLUMNS = PersonRow._fields
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
COMPANY_NAME_MAX = _max_length(Company, "name")
_ABBREVIATION_MAX = _max_length(Company, "abbreviation")
_PARENT_MAX = _max_length(Company, "parent_company")


def _parse_company(values: dict[str, Any], ctx: RunContext) -> CompanyRow:
    key = _key(values, "Company Entry ID", _COMPANY_KEY_MAX)
    when = _modified(values, key)
    name = values.get("Company")
    if not isinstance(name, str) or not name.strip():
        raise Reject("No Company name.", key, when)
    if len(name) > COMPANY_NAME_MAX:
        raise Reject(f"Company is longer than {COMPANY_NAME_MAX} characters.", key, when)
    return CompanyRow(
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


def _parse_person(values: dict[str, Any], ctx: RunContext) -> PersonRow:
    key = _key(values, "Person ID", _PERSON_KEY_MAX)
    when = _modified(values, key)
    name = values.get("Company")
    if not isinstance(name, str) or not name:
        raise Reject("No Company.", key, when)
    company = ctx.companies.by_name.get(name)
    if company is None:
        raise UnknownCompany(
            f"Unknown company {name!r}: it is not in the mirror (sync companies first).",
            key,
            when,
            name,
        )
    if company.company_type == CompanyType.MANUFACTURER:
        raise Reject(f"Company {name!r} is a Manufacturer; people can't belong to one.", key, when)
    return PersonRow(
        key,
        *_texts(values, _PERSON_TEXT, key, when),
        company.pk,
        *_texts(values, _PERSON_PLACE, key, when),
        _flag(values, "Support Staff", key, when),
        _flag(values, "VIP", key, when),
        _choice(values, "Profile Status", _STATUSES, key, when),
        when,
        True,
    )


def _listing(
    pages: Callable[..., Iterator[list[dict[str, Any]]]], since: datetime | None, after: str
) -> Iterator[list[dict[str, Any]]]:
    # Only a later step asks to go on after a cursor: a source that can't begin mid-listing
    # still serves every run that goes in one step.
    return pages(since=since, after=after) if after else pages(since=since)


@dataclass(frozen=True)
class Spec:
    """What differs between syncing companies and syncing people."""

    kind: str
    model: type[models.Model]
    # The rows' type: its fields are the mirror's columns.
    row: type[CompanyRow] | type[PersonRow]
    source_key: str
    noun: str
    plural: str
    parse: Callable[[dict[str, Any], RunContext], Row]
    # The source's listing in pages, after a page's cursor (a full run's later step).
    pages: Callable[[Any, datetime | None, str], Iterator[list[dict[str, Any]]]]
    # The source's records among these keys (those it still has), in pages.
    pages_by_key: Callable[[Any, list[str]], Iterator[list[dict[str, Any]]]]
    # Validation needs no database (people): it runs in the read-ahead thread, overlapping the
    # previous page's write. Companies screen names against the mirror, on the run's thread.
    parse_ahead: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.row._fields

    @property
    def key(self) -> str:
        return self.columns[0]

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def row_from(self, values: Iterable[Any]) -> Row:
        """A row from its values in column order (as the mirror's table returns them)."""
        return self.row._make(values)


COMPANIES = Spec(
    kind=SyncKind.COMPANIES,
    model=Company,
    row=CompanyRow,
    source_key="Company Entry ID",
    noun="company",
    plural="companies",
    parse=_parse_company,
    pages=lambda source, since, after: _listing(source.iter_company_pages, since, after),
    pages_by_key=lambda source, keys: source.iter_company_pages_by_key(keys),
)
PEOPLE = Spec(
    kind=SyncKind.PEOPLE,
    model=Person,
    row=PersonRow,
    source_key="Person ID",
    noun="person",
    plural="people",
    parse=_parse_person,
    pages=lambda source, since, after: _listing(source.iter_people_pages, since, after),
    pages_by_key=lambda source, keys: source.iter_people_pages_by_key(keys),
    parse_ahead=True,
)
SPECS = {COMPANIES.kind: COMPANIES, PEOPLE.kind: PEOPLE}
