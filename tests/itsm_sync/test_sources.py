"""The ITSM sources: the AR REST client against the real simulator, and the JSON export file."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from itsm_sync.simulator import COMPANY_FORM, PEOPLE_FORM, Simulator
from itsm_sync.sources import (
    COMPANY_FIELDS,
    PEOPLE_FIELDS,
    ARRestSource,
    FileSource,
    SourceConfig,
    SourceError,
    format_ar_datetime,
    open_source,
    parse_ar_datetime,
    write_export,
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(companies=15, people=250, seed=11) as simulator:
        yield simulator


def config_for(sim: Simulator, **overrides: object) -> SourceConfig:
    settings: dict = {
        "url": sim.url,
        "user": "Demo",
        "password": "Demo",
        "page_size": 60,
        "backoff": 0.0,
        "overlap": timedelta(0),
    }
    settings.update(overrides)
    return SourceConfig(**settings)


def flatten(pages: Iterator[list[dict]]) -> list[dict]:
    return [values for page in pages for values in page]


def by_modification(rows: list[dict], key: str) -> list[dict]:
    return sorted(rows, key=lambda r: (parse_ar_datetime(r["Last Modified Date"]), r[key]))


def test_full_iteration_equals_the_simulator_data(sim: Simulator) -> None:
    with ARRestSource(config_for(sim)) as source:
        people = flatten(source.iter_people_pages())
        companies = flatten(source.iter_company_pages())
    assert people == by_modification(sim.people(), "Person ID")
    assert companies == by_modification(sim.companies(), "Company Entry ID")
    assert source.pages_fetched == 5 + 1
    assert set(people[0]) == set(PEOPLE_FIELDS)
    assert set(companies[0]) == set(COMPANY_FIELDS)


def test_each_page_is_one_response(sim: Simulator) -> None:
    with ARRestSource(config_for(sim, page_size=100)) as source:
        sizes = [len(page) for page in source.iter_people_pages()]
    # Each page after the first asks again for the second the one before ended in.
    assert sizes == [100, 99, 51]
    assert sim.stats()["list_requests"] == 3


def test_a_page_shorter_than_asked_is_not_the_end_while_next_is_present(sim: Simulator) -> None:
    sim.set_faults(max_entries=40)  # the server's cap, below ITSM_PAGE_SIZE
    with ARRestSource(config_for(sim, page_size=100)) as source:
        pages = list(source.iter_people_pages())
    assert max(len(page) for page in pages) == 40
    assert flatten(pages) == by_modification(sim.people(), "Person ID")


def test_incremental_includes_records_modified_exactly_at_the_watermark(sim: Simulator) -> None:
    watermark = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    people = sim.people()
    at_mark, just_before = people[0]["Person ID"], people[1]["Person ID"]
    sim.update_person(at_mark, last_modified_date=format_ar_datetime(watermark))
    sim.update_person(
        just_before, last_modified_date=format_ar_datetime(watermark - timedelta(seconds=1))
    )
    with ARRestSource(config_for(sim)) as source:
        seen = flatten(source.iter_people_pages(since=watermark))
    seen_ids = {p["Person ID"] for p in seen}
    assert at_mark in seen_ids
    assert just_before not in seen_ids
    assert seen_ids == {
        p["Person ID"]
        for p in sim.people()
        if parse_ar_datetime(p["Last Modified Date"]) >= watermark
    }


def test_overlap_reaches_back_before_the_watermark(sim: Simulator) -> None:
    watermark = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    person_id = sim.people()[0]["Person ID"]
    sim.update_person(
        person_id, last_modified_date=format_ar_datetime(watermark - timedelta(minutes=4))
    )
    with ARRestSource(config_for(sim, overlap=timedelta(minutes=5))) as source:
        seen = {p["Person ID"] for p in flatten(source.iter_people_pages(since=watermark))}
    assert person_id in seen


def test_since_counts_in_instants_whatever_the_time_zones(sim: Simulator) -> None:
    # 14:00 at +02:00 is 12:00 UTC, the watermark; a second earlier stays out.
    at_mark, just_before = (p["Person ID"] for p in sim.people()[:2])
    sim.update_person(at_mark, last_modified_date="2025-06-01T14:00:00.000+0200")
    sim.update_person(just_before, last_modified_date="2025-06-01T13:59:59.000+0200")
    watermark = datetime(2025, 6, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    with ARRestSource(config_for(sim)) as source:
        seen = {p["Person ID"] for p in flatten(source.iter_people_pages(since=watermark))}
    assert at_mark in seen
    assert just_before not in seen


def test_dates_go_to_the_server_as_epoch_seconds_unless_iso_is_asked_for(sim: Simulator) -> None:
    sim.set_faults(older_server=1)  # reads no ISO-8601 date literal
    watermark = datetime(2025, 6, 1, tzinfo=UTC)
    with ARRestSource(config_for(sim)) as source:
        seen = flatten(source.iter_people_pages(since=watermark))
    assert {p["Person ID"] for p in seen} == {
        p["Person ID"]
        for p in sim.people()
        if parse_ar_datetime(p["Last Modified Date"]) >= watermark
    }
    with (
        ARRestSource(config_for(sim, date_literals="iso")) as source,
        pytest.raises(SourceError, match=r"HTTP 400 .*AR 1587.*epoch seconds"),
    ):
        flatten(source.iter_people_pages(since=watermark))
    sim.set_faults(older_server=0)
    with ARRestSource(config_for(sim, date_literals="iso")) as source:
        assert flatten(source.iter_people_pages(since=watermark)) == seen


def test_changes_after_a_sync_show_up_in_the_next_incremental_run(sim: Simulator) -> None:
    with ARRestSource(config_for(sim)) as source:
        everything = flatten(source.iter_people_pages())
        watermark = max(parse_ar_datetime(p["Last Modified Date"]) for p in everything)
        person_id = everything[0]["Person ID"]
        sim.update_person(person_id, department="Treasury")
        changed = flatten(source.iter_people_pages(since=watermark))
    assert [p["Person ID"] for p in changed][-1] == person_id
    assert changed[-1]["Department"] == "Treasury"


def test_logs_in_again_once_when_the_token_expires(sim: Simulator) -> None:
    sim.set_faults(expire_tokens_after=2)
    with ARRestSource(config_for(sim, page_size=50)) as source:
        people = flatten(source.iter_people_pages())
    assert len(people) == 250
    stats = sim.stats()
    assert stats["expired_tokens"] == 2
    assert stats["logins"] == 3


def test_retries_a_500_then_succeeds(sim: Simulator) -> None:
    sim.set_faults(fail_list_request=2)
    waits: list[float] = []
    source = ARRestSource(config_for(sim, backoff=0.25), sleep=waits.append)
    with source:
        people = flatten(source.iter_people_pages())
    assert len(people) == 250
    assert waits == [0.25]
    assert sim.stats()["injected_failures"] == 1


def test_gives_up_after_the_configured_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    config = SourceConfig(
        url=f"http://127.0.0.1:{port}", user="Demo", password="Demo", retries=3, backoff=0.5
    )
    with ARRestSource(config, sleep=waits.append) as source, pytest.raises(SourceError) as exc:
        flatten(source.iter_people_pages())
    assert "Cannot reach ITSM" in str(exc.value)
    assert "after 4 attempts" in str(exc.value)
    assert exc.value.retryable
    assert waits == [0.5, 1.0, 2.0]


def test_bad_login_raises_a_clear_source_error(sim: Simulator) -> None:
    with (
        ARRestSource(config_for(sim, user="mallory", password="nope")) as source,
        pytest.raises(SourceError) as exc,
    ):
        flatten(source.iter_company_pages())
    assert str(exc.value) == (
        "ITSM login failed for user 'mallory': HTTP 401 (AR 623: Authentication failed (Wrong "
        "user name or password for user 'mallory')). Check ITSM_USER and ITSM_PASSWORD."
    )
    assert exc.value.ar_number == 623
    assert not exc.value.retryable


def test_ar_errors_become_source_errors_with_the_ar_message(sim: Simulator) -> None:
    with ARRestSource(config_for(sim)) as source, pytest.raises(SourceError) as exc:
        flatten(source.iter_pages(PEOPLE_FORM, ["Person ID", "Shoe Size"]))
    assert "AR 314: Field does not exist (Shoe Size)" in str(exc.value)
    assert exc.value.status == 400


def test_logs_out_when_done(sim: Simulator) -> None:
    source = ARRestSource(config_for(sim))
    flatten(source.iter_company_pages())
    assert sim.stats()["logouts"] == 1
    assert sim.stats()["active_tokens"] == 0
    with source:
        flatten(source.iter_company_pages())
        flatten(source.iter_people_pages())
    assert sim.stats()["logins"] == 2
    assert sim.stats()["active_tokens"] == 0


def test_malformed_records_are_passed_on_for_the_sync_to_reject(sim: Simulator) -> None:
    sim.set_faults(malformed=2)
    with ARRestSource(config_for(sim)) as source:
        people = flatten(source.iter_people_pages())
    assert len(people) == 250
    assert "Person ID" not in people[0]
    assert people[1]["Last Modified Date"] == "not-a-date"


def test_config_reads_the_environment() -> None:
    config = SourceConfig.from_env(
        {
            "ITSM_URL": "http://itsm.example:8008/",
            "ITSM_USER": "svc",
            "ITSM_PASSWORD": "secret",
            "ITSM_PAGE_SIZE": "500",
            "ITSM_TIMEOUT": "12.5",
            "ITSM_RETRIES": "2",
            "ITSM_OVERLAP_SECONDS": "60",
            "ITSM_DATE_LITERALS": "ISO",
            "ITSM_FILE": "",
        }
    )
    assert config == SourceConfig(
        url="http://itsm.example:8008",
        user="svc",
        password="secret",
        page_size=500,
        timeout=12.5,
        retries=2,
        overlap=timedelta(seconds=60),
        date_literals="iso",
    )
    assert "secret" not in repr(config)
    assert SourceConfig.from_env({}) == SourceConfig()


def test_config_names_the_date_literals_it_knows() -> None:
    assert SourceConfig.from_env({}).date_literals == "epoch"
    with pytest.raises(SourceError, match=r"ITSM_DATE_LITERALS must be epoch .* or iso"):
        SourceConfig.from_env({"ITSM_DATE_LITERALS": "unix"})


def test_config_rejects_non_numbers_readably() -> None:
    with pytest.raises(SourceError, match="ITSM_PAGE_SIZE must be a number, got 'lots'"):
        SourceConfig.from_env({"ITSM_PAGE_SIZE": "lots"})


def test_open_source_picks_file_or_rest(tmp_path: Path) -> None:
    assert isinstance(open_source(SourceConfig(file=str(tmp_path / "x.json"))), FileSource)
    assert isinstance(open_source(SourceConfig(url="http://itsm.example")), ARRestSource)
    with pytest.raises(SourceError, match="set ITSM_URL"):
        open_source(SourceConfig())


def test_file_source_round_trip(sim: Simulator, tmp_path: Path) -> None:
    data = sim.dataset()
    path = write_export(tmp_path / "export.json", data[COMPANY_FORM], data[PEOPLE_FORM])
    with FileSource(path, page_size=100, overlap=timedelta(0)) as source:
        people_pages = list(source.iter_people_pages())
        companies = flatten(source.iter_company_pages())
    assert [len(page) for page in people_pages] == [100, 100, 50]
    assert flatten(iter(people_pages)) == by_modification(data[PEOPLE_FORM], "Person ID")
    assert companies == by_modification(data[COMPANY_FORM], "Company Entry ID")
    assert source.pages_fetched == 4


def test_each_source_goes_on_after_a_pages_cursor(sim: Simulator, tmp_path: Path) -> None:
    data = sim.dataset()
    path = write_export(tmp_path / "export.json", data[COMPANY_FORM], data[PEOPLE_FORM])
    everything = by_modification(data[PEOPLE_FORM], "Person ID")
    for source in (FileSource(path, page_size=60), ARRestSource(config_for(sim))):
        with source:
            first, second = itertools.islice(source.iter_people_pages(), 2)
            rest = flatten(source.iter_people_pages(after=second.cursor))
        assert first + second + rest == everything, type(source).__name__


def test_file_source_filters_by_since_minus_overlap(sim: Simulator, tmp_path: Path) -> None:
    data = sim.dataset()
    path = write_export(tmp_path / "export.json", data[COMPANY_FORM], data[PEOPLE_FORM])
    since = datetime(2025, 7, 1, tzinfo=UTC)
    overlap = timedelta(minutes=5)
    source = FileSource(path, overlap=overlap)
    seen = {p["Person ID"] for p in flatten(source.iter_people_pages(since=since))}
    assert seen == {
        p["Person ID"]
        for p in data[PEOPLE_FORM]
        if parse_ar_datetime(p["Last Modified Date"]) >= since - overlap
    }


def test_file_source_explains_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"does not exist\. Check ITSM_FILE"):
        list(FileSource(tmp_path / "missing.json").iter_people_pages())


def test_looks_records_up_by_key_in_batches_and_skips_the_ones_it_lacks(sim: Simulator) -> None:
    people = sim.people()
    wanted = [p["Person ID"] for p in people[:150]]
    # Keys the source lacks, one with the quote that ends an AR string literal.
    missing = ["PPL-GONE-1", 'PPL"); DROP']
    with ARRestSource(config_for(sim, page_size=500)) as source:
        found = flatten(source.iter_people_pages_by_key([*wanted, *missing, wanted[0]]))
        fetched = source.pages_fetched
    assert sorted(values["Person ID"] for values in found) == sorted(wanted)
    assert fetched == 2  # 152 distinct keys, at most 100 to a request
    company = sim.companies()[3]
    with ARRestSource(config_for(sim)) as source:
        companies = flatten(source.iter_company_pages_by_key([company["Company Entry ID"]]))
    assert companies == [{name: company.get(name) for name in COMPANY_FIELDS}]


def test_file_source_looks_records_up_by_key(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    write_export(path, sim.companies(), sim.people())
    wanted = {p["Person ID"] for p in sim.people()[10:20]}
    source = FileSource(path, page_size=4)
    found = flatten(source.iter_people_pages_by_key([*wanted, "PPL-GONE"]))
    assert {values["Person ID"] for values in found} == wanted
    assert source.pages_fetched == 3
