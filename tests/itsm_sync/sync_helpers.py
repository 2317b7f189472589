"""Shared pieces of the sync tests: a running simulator, source configs and mirror snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
from django.db import connection

from itsm_sync import services
from itsm_sync.models import Company, Person, SyncRun
from itsm_sync.simulator import Simulator
from itsm_sync.sources import ARRestSource, SourceConfig, parse_ar_datetime

USER = PASSWORD = "Demo"


def running_simulator(**sizes: int) -> Iterator[Simulator]:
    """A small AR System simulator on a free loopback port, for a module's `sim` fixture."""
    options = {"companies": 12, "people": 300, "seed": 7, **sizes}
    with Simulator(**options, user=USER, password=PASSWORD) as simulator:
        yield simulator


def config_for(sim: Simulator, **overrides: Any) -> SourceConfig:
    settings: dict[str, Any] = {
        "url": sim.url,
        "user": USER,
        "password": PASSWORD,
        "page_size": 50,
        "backoff": 0.0,
        "retries": 0,
        "overlap": timedelta(0),
    }
    settings.update(overrides)
    return SourceConfig(**settings)


def sync_both(sim: Simulator, *, full: bool = False, **overrides: Any) -> tuple[SyncRun, SyncRun]:
    """Companies, then people, through one AR session, as the Celery chain does."""
    with ARRestSource(config_for(sim, **overrides)) as source:
        companies = services.sync_companies(source=source, full=full)
        people = services.sync_people(source=source, full=full)
    return companies, people


def people_sync(sim: Simulator, **kwargs: Any) -> SyncRun:
    overrides = kwargs.pop("config", {})
    with ARRestSource(config_for(sim, **overrides)) as source:
        return services.sync_people(source=source, **kwargs)


def company_sync(sim: Simulator, **kwargs: Any) -> SyncRun:
    overrides = kwargs.pop("config", {})
    with ARRestSource(config_for(sim, **overrides)) as source:
        return services.sync_companies(source=source, **kwargs)


class ChangesAfterFirstPage(ARRestSource):
    """A source whose first page's first person is modified in ITSM right after it is read.

    AR lists by Last Modified Date, so that person moves to the end of the listing and every
    record behind the first page shifts up by one: offset paging skips one person.
    """

    def __init__(self, sim: Simulator, **overrides: Any) -> None:
        super().__init__(config_for(sim, **overrides))
        self.sim = sim
        self.moved: str | None = None

    def iter_people_pages(self, since: Any = None, after: str = "") -> Iterator[list[dict]]:
        for number, page in enumerate(super().iter_people_pages(since, after)):
            yield page
            if number == 0:
                self.moved = page[0]["Person ID"]
                self.sim.update_person(self.moved, Department="Moved during the run")


def mirror_people() -> dict[str, tuple]:
    """Every mirrored person as the source fields say, keyed by Person ID."""
    return {
        row[0]: row[1:]
        for row in Person.objects.values_list(
            "person_id",
            "remedy_login_id",
            "first_name",
            "last_name",
            "email",
            "company__name",
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
    }


def source_people(sim: Simulator) -> dict[str, tuple]:
    """The simulator's people in the shape of mirror_people()."""
    return {
        p["Person ID"]: (
            p["Remedy Login ID"] or "",
            p["First Name"] or "",
            p["Last Name"] or "",
            p["Internet E-mail"] or "",
            p["Company"],
            p["Organization"] or "",
            p["Department"] or "",
            p["Region"] or "",
            p["Site Group"] or "",
            p["Site"] or "",
            p["Client Type"] or "",
            p["Support Staff"] == "Yes",
            p["VIP"] == "Yes",
            p["Profile Status"],
            parse_ar_datetime(p["Last Modified Date"]),
            True,
        )
        for p in sim.people()
    }


def mirror_companies() -> dict[str, tuple]:
    return {
        row[0]: row[1:]
        for row in Company.objects.values_list(
            "entry_id",
            "name",
            "company_type",
            "status",
            "abbreviation",
            "parent_company",
            "last_modified",
            "is_active",
        )
    }


def source_companies(sim: Simulator) -> dict[str, tuple]:
    return {
        c["Company Entry ID"]: (
            c["Company"],
            c["Company Type"],
            c["Status"],
            c["Company Abbreviation"] or "",
            c["Parent Company"] or "",
            parse_ar_datetime(c["Last Modified Date"]),
            True,
        )
        for c in sim.companies()
    }


def row_versions(model: type) -> dict[int, tuple[str, str]]:
    """(xmin, ctid) of every row: both change whenever PostgreSQL rewrites a row."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text, ctid::text FROM {model._meta.db_table}")
        return {pk: (xmin, ctid) for pk, xmin, ctid in cursor.fetchall()}


class ARClient:
    """A minimal AR REST client for changing simulator data the way ITSM users would."""

    def __init__(self, sim: Simulator) -> None:
        self.http = httpx.Client(base_url=sim.url, timeout=10)
        response = self.http.post("/api/jwt/login", data={"username": USER, "password": PASSWORD})
        response.raise_for_status()
        self.http.headers["Authorization"] = f"AR-JWT {response.text}"

    def update(self, form: str, entry: str, **values: Any) -> None:
        response = self.http.put(f"/api/arsys/v1/entry/{form}/{entry}", json={"values": values})
        assert response.status_code == 204, response.text

    def create(self, form: str, **values: Any) -> str:
        response = self.http.post(f"/api/arsys/v1/entry/{form}", json={"values": values})
        assert response.status_code == 201, response.text
        return response.headers["Location"].rsplit("/", 1)[-1]

    def delete(self, form: str, entry: str) -> None:
        response = self.http.delete(f"/api/arsys/v1/entry/{form}/{entry}")
        assert response.status_code == 204, response.text

    def close(self) -> None:
        self.http.post("/api/jwt/logout")
        self.http.close()


class ListSource:
    """A source that yields given pages: for validation cases the simulator can't produce."""

    def __init__(
        self, companies: list[list[dict]] | None = None, people: list[list[dict]] | None = None
    ) -> None:
        self.companies = companies or []
        self.people = people or []
        self.pages_fetched = 0

    def iter_company_pages(self, since: Any = None) -> Iterator[list[dict]]:
        yield from self.companies

    def iter_people_pages(self, since: Any = None) -> Iterator[list[dict]]:
        yield from self.people

    def iter_company_pages_by_key(self, keys: Any) -> Iterator[list[dict]]:
        return _by_key(self.companies, "Company Entry ID", keys)

    def iter_people_pages_by_key(self, keys: Any) -> Iterator[list[dict]]:
        return _by_key(self.people, "Person ID", keys)

    def __enter__(self) -> ListSource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _by_key(pages: list[list[dict]], field: str, keys: Any) -> Iterator[list[dict]]:
    wanted = set(keys)
    found = [values for page in pages for values in page if values.get(field) in wanted]
    if found:
        yield found


def company_values(entry_id: str, name: str, **extra: Any) -> dict[str, Any]:
    values = {
        "Company Entry ID": entry_id,
        "Company": name,
        "Company Type": "Customer",
        "Status": "Enabled",
        "Company Abbreviation": name[:4].upper(),
        "Parent Company": None,
        "Last Modified Date": "2025-01-01T00:00:00.000+0000",
    }
    values.update(extra)
    return values


def person_values(person_id: str, company: str, **extra: Any) -> dict[str, Any]:
    values = {
        "Person ID": person_id,
        "Remedy Login ID": person_id.lower(),
        "First Name": "Ada",
        "Last Name": "Lovelace",
        "Internet E-mail": f"{person_id.lower()}@example.com",
        "Company": company,
        "Organization": "IT",
        "Department": "Service Desk",
        "Region": "Europe",
        "Site Group": "Western Europe",
        "Site": "London",
        "Client Type": "Office-Based Employee",
        "Support Staff": "No",
        "VIP": "No",
        "Profile Status": "Enabled",
        "Last Modified Date": "2025-01-01T00:00:00.000+0000",
    }
    values.update(extra)
    return values
