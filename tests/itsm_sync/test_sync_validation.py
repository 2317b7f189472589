"""Validation, de-duplication, company names, the portable write path and the lock row."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone

from itsm_sync import services
from itsm_sync.models import Company, Person, RejectedRecord, SyncKind, SyncLock, SyncStatus
from itsm_sync.services import approval, context, listing, locks, seen, steps, writers
from tests.itsm_sync.sync_helpers import (
    ChangesAfterFirstPage,
    ListSource,
    company_values,
    mirror_people,
    people_sync,
    person_values,
    source_people,
    sync_both,
)

pytestmark = pytest.mark.django_db

T0 = "2025-01-01T00:00:00.000+0000"
T1 = "2025-01-02T00:00:00.000+0000"
T2 = "2025-01-03T00:00:00.000+0000"


@pytest.fixture
def companies():
    source = ListSource(
        companies=[
            [
                company_values("CPY1", "Acme Corp."),
                company_values("CPY2", "Beta Ltd"),
                company_values("CPY3", "Gadgets Inc.", **{"Company Type": "Manufacturer"}),
            ]
        ]
    )
    run = services.sync_companies(source=source, full=True)
    assert run.created == 3
    return source


def reasons(run) -> dict[str, str]:
    return dict(RejectedRecord.objects.filter(run=run).values_list("key", "reason"))


def test_the_latest_version_of_a_duplicated_key_wins(companies) -> None:
    page = [
        person_values("P1", "Acme Corp.", **{"First Name": "Newest", "Last Modified Date": T2}),
        person_values("P1", "Acme Corp.", **{"First Name": "Oldest", "Last Modified Date": T0}),
        person_values("P1", "Acme Corp.", **{"First Name": "Middle", "Last Modified Date": T1}),
    ]

    run = services.sync_people(source=ListSource(people=[page]))

    assert (run.seen, run.created, run.rejected) == (3, 1, 0)
    assert Person.objects.get(person_id="P1").first_name == "Newest"


def test_each_bad_field_is_rejected_with_its_reason_and_the_rest_goes_in(companies) -> None:
    page = [
        person_values("OK", "Acme Corp."),
        person_values("LONG", "Acme Corp.", **{"First Name": "x" * 101}),
        person_values("FLAG", "Acme Corp.", **{"VIP": "Maybe"}),
        person_values("STATUS", "Acme Corp.", **{"Profile Status": "Retired"}),
        person_values("NOSTATUS", "Acme Corp.", **{"Profile Status": None}),
        person_values("MAKER", "Gadgets Inc."),
        person_values("NOCOMPANY", "Acme Corp.", **{"Company": None}),
        person_values("GHOST", "Ghost Co."),
        person_values("DATE", "Acme Corp.", **{"Last Modified Date": "yesterday"}),
        person_values(" ", "Acme Corp."),
        "not a record",
    ]

    run = services.sync_people(source=ListSource(people=[page]))

    assert run.status == SyncStatus.SUCCEEDED
    assert (run.seen, run.created, run.rejected) == (11, 1, 10)
    assert list(Person.objects.values_list("person_id", flat=True)) == ["OK"]
    by_key = reasons(run)
    assert by_key["LONG"] == "First Name is longer than 100 characters."
    assert by_key["FLAG"] == "VIP must be Yes or No, not 'Maybe'."
    assert by_key["STATUS"] == "Unknown Profile Status 'Retired'."
    assert by_key["NOSTATUS"] == "No Profile Status."
    assert (
        by_key["MAKER"] == "Company 'Gadgets Inc.' is a Manufacturer; people can't belong to one."
    )
    assert by_key["NOCOMPANY"] == "No Company."
    assert by_key["GHOST"].startswith("Unknown company 'Ghost Co.': it is not in the mirror")
    assert by_key["DATE"] == "Malformed Last Modified Date 'yesterday'."
    blank = RejectedRecord.objects.filter(run=run, key="").values_list("reason", flat=True)
    assert sorted(blank) == ["No Person ID.", "Not a record (expected an object of AR values)."]


def test_flags_and_odd_text_are_normalised(companies) -> None:
    page = [
        person_values("P1", "Acme Corp.", **{"VIP": True, "Support Staff": "yes", "Site": 42}),
        person_values("P2", "Acme Corp.", **{"Last Name": "Nul\x00Byte", "Region": None}),
    ]

    services.sync_people(source=ListSource(people=[page]))

    p1, p2 = Person.objects.order_by("person_id")
    assert (p1.vip, p1.support_staff, p1.site) == (True, True, "42")
    assert (p2.last_name, p2.region) == ("NulByte", "")


def test_bad_companies_are_rejected_with_reasons() -> None:
    page = [
        company_values("C1", "Fine Co."),
        company_values("C2", "Odd Co.", **{"Company Type": "Bogus Type"}),
        company_values("C3", "", **{"Company": None}),
        company_values("C4", "Lost Co.", **{"Status": None}),
    ]

    run = services.sync_companies(source=ListSource(companies=[page]))

    assert run.created == 1
    assert reasons(run) == {
        "C2": "Unknown Company Type 'Bogus Type'.",
        "C3": "No Company name.",
        "C4": "No Status.",
    }


def test_a_name_held_by_another_active_company_is_rejected(companies) -> None:
    page = [company_values("CPY9", "Acme Corp.", **{"Last Modified Date": T1})]

    run = services.sync_companies(source=ListSource(companies=[page]))

    assert run.rejected == 1
    assert reasons(run)["CPY9"].startswith(
        "Company name 'Acme Corp.' still belongs to active company CPY1 in the mirror"
    )


def test_two_companies_may_swap_names_in_one_page(companies) -> None:
    page = [
        company_values("CPY1", "Beta Ltd", **{"Last Modified Date": T1}),
        company_values("CPY2", "Acme Corp.", **{"Last Modified Date": T1}),
    ]

    run = services.sync_companies(source=ListSource(companies=[page]))

    assert (run.updated, run.rejected) == (2, 0)
    assert Company.objects.get(entry_id="CPY1").name == "Beta Ltd"
    assert Company.objects.get(entry_id="CPY2").name == "Acme Corp."


def test_a_company_created_again_takes_the_name_from_its_deactivated_predecessor(
    companies,
) -> None:
    gone = ListSource(
        companies=[[company_values("CPY2", "Beta Ltd"), company_values("CPY3", "Gadgets Inc.")]]
    )
    services.sync_companies(source=gone, full=True)
    assert not Company.objects.get(entry_id="CPY1").is_active
    again = [company_values("CPY7", "Acme Corp.", **{"Last Modified Date": T2})]

    run = services.sync_companies(source=ListSource(companies=[again]))

    assert run.created == 1
    assert Company.objects.get(entry_id="CPY7").name == "Acme Corp."
    assert Company.objects.get(entry_id="CPY1").name == "Acme Corp. [CPY1]"


def test_two_companies_with_one_name_in_a_page_keep_the_newer(companies) -> None:
    page = [
        company_values("N1", "Same Name", **{"Last Modified Date": T2}),
        company_values("N2", "Same Name", **{"Last Modified Date": T1}),
    ]

    run = services.sync_companies(source=ListSource(companies=[page]))

    assert run.created == 1
    assert Company.objects.filter(name="Same Name").get().entry_id == "N1"
    assert "also used by N1" in reasons(run)["N2"]


def test_a_record_rejected_in_a_full_run_is_not_deactivated(companies) -> None:
    services.sync_people(source=ListSource(people=[[person_values("P1", "Acme Corp.")]]))
    broken = person_values("P1", "Acme Corp.", **{"VIP": "Maybe", "Last Modified Date": T1})

    run = services.sync_people(source=ListSource(people=[[broken]]), full=True)

    assert (run.rejected, run.deactivated) == (1, 0)
    assert Person.objects.get(person_id="P1").is_active


# -- the portable path (SQLite) and the lock row, exercised here on PostgreSQL -------------------


@pytest.fixture
def portable(monkeypatch):
    monkeypatch.setattr(context, "writer_for", writers.PortableWriter)
    monkeypatch.setattr(listing, "seen_keys", partial(seen.SeenKeys, copy=False))
    monkeypatch.setattr(steps, "kind_lock", locks._row_lock)
    monkeypatch.setattr(approval, "kind_lock", locks._row_lock)


def test_the_portable_path_mirrors_the_same_data(sim, portable) -> None:
    companies, people = sync_both(sim, full=True)
    assert (companies.created, people.created) == (12, 300)
    assert mirror_people() == source_people(sim)

    again = people_sync(sim, full=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 300)

    sim.delete_person(sim.people()[0]["Person ID"])
    sim.update_person(sim.people()[1]["Person ID"], department="Treasury")
    run = people_sync(sim, full=True)
    assert (run.created, run.updated, run.deactivated) == (0, 1, 1)
    assert SyncLock.objects.get(kind=SyncKind.PEOPLE).holder == ""


def test_the_portable_path_deactivates_no_one_the_source_still_has(sim, portable) -> None:
    sync_both(sim, full=True)
    with ChangesAfterFirstPage(sim) as source:
        run = services.sync_people(source=source, full=True)
    assert (run.status, run.deactivated) == (SyncStatus.SUCCEEDED, 0)
    assert mirror_people() == source_people(sim)


def test_the_lock_row_keeps_a_second_run_out() -> None:
    with locks._row_lock(SyncKind.PEOPLE) as heartbeat:
        heartbeat()
        with (
            pytest.raises(services.SyncAlreadyRunning, match="already running"),
            locks._row_lock(SyncKind.PEOPLE),
        ):
            pass
        with locks._row_lock(SyncKind.COMPANIES):
            pass
    with locks._row_lock(SyncKind.PEOPLE):
        pass


def test_a_stale_lock_row_is_taken_over(settings) -> None:
    settings.ITSM_SYNC_LOCK_STALE_SECONDS = 60
    SyncLock.objects.create(
        kind=SyncKind.PEOPLE, holder="dead-worker", heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    with locks._row_lock(SyncKind.PEOPLE):
        assert SyncLock.objects.get(kind=SyncKind.PEOPLE).holder != "dead-worker"


def test_the_guard_limit_is_max_500_or_5_percent() -> None:
    assert services.deactivation_limit(0) == 500
    assert services.deactivation_limit(10_000) == 500
    assert services.deactivation_limit(10_001) == 501
    assert services.deactivation_limit(1_000_000) == 50_000


def test_a_source_that_lists_nothing_never_deactivates_unapproved(companies) -> None:
    services.sync_people(source=ListSource(people=[[person_values("P1", "Acme Corp.")]]))

    run = services.sync_people(source=ListSource(people=[]), full=True)

    assert run.status == SyncStatus.NEEDS_APPROVAL
    assert run.message.startswith("The source listed no people at all")
    assert Person.objects.get(person_id="P1").is_active


class _ListsNothingButFindsByKey(ListSource):
    """A listing that comes back empty (a broken filter) from a source that still has P1."""

    def iter_people_pages(self, since=None):
        return iter(())


def test_an_empty_listing_never_deactivates_unapproved_even_if_some_are_found_by_key(
    companies,
) -> None:
    people = [person_values(key, "Acme Corp.") for key in ("P1", "P2", "P3")]
    services.sync_people(source=ListSource(people=[people]))

    changed = {**people[0], "First Name": "Changed", "Last Modified Date": T2}
    source = _ListsNothingButFindsByKey(people=[[changed]])

    run = services.sync_people(source=source, full=True)

    assert run.status == SyncStatus.NEEDS_APPROVAL
    assert run.message.startswith("The source listed no people at all")
    # Stopped before changing anything: nothing is looked up in place of a listing.
    assert (run.updated, run.seen) == (0, 0)
    assert Person.objects.filter(is_active=True).count() == 3
    assert Person.objects.get(person_id="P1").first_name != "Changed"


class _CompanyArrivesMidRun:
    """People pages read ahead in a helper thread; between pages ITSM's company lands in the
    mirror (committed by another connection, as a companies sync running meanwhile would).
    Its people fill the next two pages, both read ahead before the first one is written."""

    def __init__(self) -> None:
        self.people = [
            [person_values("P1", "Acme Corp.")],
            [person_values("P2", "Newco AG")],
            [person_values("P3", "Newco AG")],
        ]

    def iter_company_pages(self, since=None):
        return iter(())

    def iter_people_pages(self, since=None):
        from django.db import connection

        yield self.people[0]
        try:
            Company.objects.create(
                entry_id="CPY9",
                name="Newco AG",
                company_type="Customer",
                status="Enabled",
                last_modified=timezone.now(),
            )
        finally:
            connection.close()  # this thread's own connection
        yield from self.people[1:]


@pytest.mark.django_db(transaction=True)
def test_a_company_mirrored_during_a_people_run_is_not_rejected_as_unknown() -> None:
    services.sync_companies(
        source=ListSource(companies=[[company_values("CPY1", "Acme Corp.")]]), full=True
    )

    run = services.sync_people(source=_CompanyArrivesMidRun())

    assert run.status == SyncStatus.SUCCEEDED
    assert (run.created, run.rejected) == (3, 0)
    assert set(
        Person.objects.filter(company__name="Newco AG").values_list("person_id", flat=True)
    ) == {"P2", "P3"}
