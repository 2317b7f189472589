"""The AR System REST API simulator, exercised over real HTTP on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from itsm_sync.simulator import (
    COMPANY_FORM,
    GLOBAL_COMPANY,
    PEOPLE_FORM,
    PROVIDER_COMPANY,
    Faults,
    QualificationError,
    Simulator,
    compile_qualification,
    generate_dataset,
    parse_ar_datetime,
)

PEOPLE_URL = "/api/arsys/v1/entry/CTM:People"
COMPANY_URL = "/api/arsys/v1/entry/COM:Company"


def login(client: httpx.Client, user: str = "Demo", password: str = "Demo") -> httpx.Response:
    return client.post("/api/jwt/login", data={"username": user, "password": password})


@contextmanager
def session(sim: Simulator) -> Iterator[httpx.Client]:
    """An HTTP client logged in to `sim`."""
    with httpx.Client(base_url=sim.url) as client:
        client.headers["Authorization"] = f"AR-JWT {login(client).text}"
        yield client


@pytest.fixture(scope="module")
def shared() -> Iterator[Simulator]:
    """A read-only simulator shared by the tests that do not change data or faults."""
    with Simulator(companies=30, people=300, seed=7) as sim:
        yield sim


@pytest.fixture(scope="module")
def shared_client(shared: Simulator) -> Iterator[httpx.Client]:
    with session(shared) as client:
        yield client


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A private simulator for tests that write data or inject faults."""
    with Simulator(companies=20, people=120, seed=3) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with session(sim) as http:
        yield http


def list_all(client: httpx.Client, url: str, **params: object) -> tuple[list[dict], int]:
    """Follow next links to the end; return every entry's values and the number of pages."""
    entries: list[dict] = []
    pages = 0
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        entries.extend(entry["values"] for entry in body["entries"])
        following = body["_links"].get("next")
        if not following:
            return entries, pages
        response = client.get(following[0]["href"])


def ids(entries: list[dict], key: str = "Person ID") -> list[str]:
    return [entry[key] for entry in entries]


def q_ids(client: httpx.Client, q: str) -> set[str]:
    entries, _ = list_all(client, PEOPLE_URL, q=q, limit=1000)
    return set(ids(entries))


# -- authentication -------------------------------------------------------------------------


def test_login_returns_a_bare_token(shared: Simulator) -> None:
    with httpx.Client(base_url=shared.url) as client:
        response = login(client)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text and " " not in response.text


def test_bad_login_answers_ar_623(shared: Simulator) -> None:
    with httpx.Client(base_url=shared.url) as client:
        response = login(client, password="wrong")
    assert response.status_code == 401
    [error] = response.json()
    assert error["messageType"] == "ERROR"
    assert error["messageNumber"] == 623
    assert error["messageText"] == "Authentication failed"
    assert "Demo" in error["messageAppendedText"]


def test_missing_token_is_401(shared: Simulator) -> None:
    with httpx.Client(base_url=shared.url) as client:
        response = client.get(PEOPLE_URL)
    assert response.status_code == 401
    assert response.json()[0]["messageNumber"] == 623


def test_unknown_token_is_401_saying_invalid_or_expired(shared: Simulator) -> None:
    with httpx.Client(base_url=shared.url) as client:
        response = client.get(PEOPLE_URL, headers={"Authorization": "AR-JWT nonsense"})
    assert response.status_code == 401
    assert "invalid or has expired" in response.json()[0]["messageAppendedText"]


def test_logout_invalidates_the_token(sim: Simulator, client: httpx.Client) -> None:
    assert client.post("/api/jwt/logout").status_code == 204
    assert client.get(PEOPLE_URL).status_code == 401


# -- listing --------------------------------------------------------------------------------


def test_listing_follows_next_links_to_the_end(
    shared: Simulator, shared_client: httpx.Client
) -> None:
    entries, pages = list_all(shared_client, PEOPLE_URL, limit=70, sort="Person ID.asc")
    assert pages == 5
    assert ids(entries) == sorted(p["Person ID"] for p in shared.people())
    assert entries == sorted(shared.people(), key=lambda p: p["Person ID"])


def test_last_page_has_no_next_link(shared_client: httpx.Client) -> None:
    body = shared_client.get(PEOPLE_URL, params={"offset": 280, "limit": 50}).json()
    assert len(body["entries"]) == 20
    assert "next" not in body["_links"]
    assert body["_links"]["self"][0]["href"].startswith("http://")


def test_default_page_size_is_100(shared_client: httpx.Client) -> None:
    body = shared_client.get(PEOPLE_URL).json()
    assert len(body["entries"]) == 100
    assert "offset=100" in body["_links"]["next"][0]["href"]
    entry = body["entries"][0]
    assert entry["_links"]["self"][0]["href"].endswith(f"/{entry['values']['Person ID']}")


def test_a_page_holds_at_most_2000_entries_whatever_limit_asks() -> None:
    with Simulator(companies=5, people=2100, seed=2) as big, session(big) as client:
        body = client.get(PEOPLE_URL, params={"limit": 5000, "sort": "Person ID.asc"}).json()
        assert len(body["entries"]) == 2000
        rest = client.get(body["_links"]["next"][0]["href"]).json()
    assert len(rest["entries"]) == 100
    assert "next" not in rest["_links"]
    assert ids(e["values"] for e in body["entries"] + rest["entries"]) == sorted(
        p["Person ID"] for p in big.people()
    )


def test_the_page_cap_is_a_setting(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(max_entries=30)
    entries, pages = list_all(client, PEOPLE_URL, limit=100, sort="Person ID.asc")
    assert pages == 4  # 120 people, 30 a page although 100 were asked
    assert ids(entries) == sorted(p["Person ID"] for p in sim.people())


def test_next_link_keeps_query_fields_and_sort(shared_client: httpx.Client) -> None:
    params = {
        "q": "'Profile Status' = \"Enabled\"",
        "fields": "values(Person ID,Last Name)",
        "sort": "Last Name.asc,Person ID.asc",
        "limit": 50,
    }
    first = shared_client.get(PEOPLE_URL, params=params).json()
    second = shared_client.get(first["_links"]["next"][0]["href"]).json()
    combined = [e["values"] for e in first["entries"] + second["entries"]]
    assert all(set(values) == {"Person ID", "Last Name"} for values in combined)
    names = [(v["Last Name"], v["Person ID"]) for v in combined]
    assert names == sorted(names)


def test_fields_projects_values(shared_client: httpx.Client) -> None:
    body = shared_client.get(
        COMPANY_URL, params={"fields": "values(Company,Status)", "limit": 5}
    ).json()
    assert [set(e["values"]) for e in body["entries"]] == [{"Company", "Status"}] * 5


def test_unknown_field_in_fields_is_314(shared_client: httpx.Client) -> None:
    response = shared_client.get(PEOPLE_URL, params={"fields": "values(Person ID,Shoe Size)"})
    assert response.status_code == 400
    [error] = response.json()
    assert error["messageNumber"] == 314
    assert error["messageText"] == "Field does not exist"
    assert error["messageAppendedText"] == "Shoe Size"


def test_unknown_field_in_q_is_314(shared_client: httpx.Client) -> None:
    response = shared_client.get(PEOPLE_URL, params={"q": "'Shoe Size' = \"42\""})
    assert response.status_code == 400
    assert response.json()[0]["messageNumber"] == 314


def test_unknown_field_in_sort_is_314(shared_client: httpx.Client) -> None:
    response = shared_client.get(PEOPLE_URL, params={"sort": "Shoe Size.desc"})
    assert response.status_code == 400
    assert response.json()[0]["messageNumber"] == 314


def test_bad_q_is_400_with_readable_text(shared_client: httpx.Client) -> None:
    response = shared_client.get(PEOPLE_URL, params={"q": "'Company' = \"Acme\" AND"})
    assert response.status_code == 400
    [error] = response.json()
    assert error["messageType"] == "ERROR"
    assert "unexpected end" in error["messageAppendedText"]


def test_unknown_form_is_404(shared_client: httpx.Client) -> None:
    response = shared_client.get("/api/arsys/v1/entry/PBM:Problem Investigation")
    assert response.status_code == 404
    assert response.json()[0]["messageNumber"] == 303


def test_sort_ascending_and_descending(shared: Simulator, shared_client: httpx.Client) -> None:
    ascending, _ = list_all(
        shared_client, PEOPLE_URL, sort="Last Modified Date.asc,Person ID.asc", limit=1000
    )
    descending, _ = list_all(
        shared_client, PEOPLE_URL, sort="Last Modified Date.desc,Person ID.desc", limit=1000
    )
    assert ids(descending) == ids(ascending)[::-1]
    dates = [parse_ar_datetime(p["Last Modified Date"]) for p in ascending]
    assert dates == sorted(dates)


# -- qualifications -------------------------------------------------------------------------


def test_q_equality_and_inequality(shared: Simulator, shared_client: httpx.Client) -> None:
    people = shared.people()
    company = people[0]["Company"]
    assert q_ids(shared_client, f"'Company' = \"{company}\"") == {
        p["Person ID"] for p in people if p["Company"] == company
    }
    assert q_ids(shared_client, f"'Company' != \"{company}\"") == {
        p["Person ID"] for p in people if p["Company"] != company
    }


def test_q_like_with_percent_wildcard(shared: Simulator, shared_client: httpx.Client) -> None:
    expected = {p["Person ID"] for p in shared.people() if p["Last Name"].startswith("S")}
    assert expected
    assert q_ids(shared_client, "'Last Name' LIKE \"S%\"") == expected


def test_q_and_or_not_with_parentheses(shared: Simulator, shared_client: httpx.Client) -> None:
    q = (
        "('Region' = \"Europe\" OR 'Region' = \"Americas\") AND NOT 'VIP' = \"Yes\" "
        "AND 'Profile Status' = \"Enabled\""
    )
    expected = {
        p["Person ID"]
        for p in shared.people()
        if p["Region"] in ("Europe", "Americas")
        and p["VIP"] != "Yes"
        and p["Profile Status"] == "Enabled"
    }
    assert expected
    assert q_ids(shared_client, q) == expected


def test_q_date_comparison_is_by_instant(shared: Simulator, shared_client: httpx.Client) -> None:
    dates = sorted(parse_ar_datetime(p["Last Modified Date"]) for p in shared.people())
    middle = dates[len(dates) // 2]
    expected = {
        p["Person ID"]
        for p in shared.people()
        if parse_ar_datetime(p["Last Modified Date"]) >= middle
    }
    with_millis = middle.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    without_millis = middle.strftime("%Y-%m-%dT%H:%M:%S+0000")
    in_cest = middle.astimezone(timezone(timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M:%S+0200")
    for literal in (with_millis, without_millis, in_cest):
        assert q_ids(shared_client, f"'Last Modified Date' >= \"{literal}\"") == expected


def test_q_date_compares_with_epoch_seconds(shared: Simulator, shared_client: httpx.Client) -> None:
    dates = sorted(parse_ar_datetime(p["Last Modified Date"]) for p in shared.people())
    middle = dates[len(dates) // 2]
    iso = middle.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    epoch = int(middle.timestamp())
    assert q_ids(shared_client, f"'Last Modified Date' >= {epoch}") == q_ids(
        shared_client, f"'Last Modified Date' >= \"{iso}\""
    )


@pytest.mark.parametrize("sort", ["Last Modified Date.asc", "Person ID.asc", "Last Name.desc"])
def test_a_date_range_selects_what_testing_every_entry_would(
    shared: Simulator, shared_client: httpx.Client, sort: str
) -> None:
    # Served by bisecting a listing on the date (see _FormStore.selection): same answer.
    q = (
        "'Last Modified Date' >= 1735689600 AND 'Last Modified Date' < 1751328000 "
        "AND ('Person ID' > \"PPL000000000100\" OR 'VIP' = \"Yes\")"
    )
    served, _ = list_all(shared_client, PEOPLE_URL, q=q, sort=sort, limit=37)
    fields = tuple(shared.people()[0])
    test = compile_qualification(q, fields, {"Last Modified Date"})
    expected = [p for p in shared.people() if test(p)]
    name, _, direction = sort.rpartition(".")
    assert expected
    assert sorted(ids(served)) == sorted(ids(expected))
    assert [p[name] for p in served] == sorted(
        (p[name] for p in expected), reverse=direction == "desc"
    )


def test_an_older_server_refuses_iso_date_literals(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(older_server=1)
    iso = client.get(
        PEOPLE_URL, params={"q": "'Last Modified Date' >= \"2025-06-01T00:00:00.000+0000\""}
    )
    epoch = client.get(PEOPLE_URL, params={"q": "'Last Modified Date' >= 1748736000", "limit": 500})

    assert iso.status_code == 400
    assert iso.json()[0]["messageNumber"] == 1587
    assert "epoch seconds" in iso.json()[0]["messageAppendedText"]
    assert epoch.status_code == 200
    assert {e["values"]["Person ID"] for e in epoch.json()["entries"]} == {
        p["Person ID"]
        for p in sim.people()
        if parse_ar_datetime(p["Last Modified Date"]) >= datetime(2025, 6, 1, tzinfo=UTC)
    }


def test_compiled_qualification_binds_and_tighter_than_or() -> None:
    predicate = compile_qualification(
        "'A' = \"1\" OR 'A' = \"2\" AND 'B' = \"x\"", fields=("A", "B")
    )
    assert predicate({"A": "1", "B": "y"})
    assert not predicate({"A": "2", "B": "y"})
    assert predicate({"A": "2", "B": "x"})


def test_compiled_qualification_handles_null_and_numbers() -> None:
    fields = ("Login", "Count")
    assert compile_qualification("'Login' = $NULL$", fields)({"Login": None})
    assert not compile_qualification("'Login' = $NULL$", fields)({"Login": "x"})
    assert compile_qualification("'Login' != \"x\"", fields)({"Login": None})
    assert compile_qualification("'Count' > 9", fields)({"Count": "10"})


def test_compiled_qualification_rejects_bad_syntax_readably() -> None:
    with pytest.raises(QualificationError, match="single quotes"):
        compile_qualification('Company = "Acme"', fields=("Company",))
    with pytest.raises(QualificationError, match="not a date"):
        compile_qualification(
            "'Last Modified Date' > \"yesterday\"",
            fields=("Last Modified Date",),
            date_fields=("Last Modified Date",),
        )


# -- single entries -------------------------------------------------------------------------


def test_get_by_id(shared: Simulator, shared_client: httpx.Client) -> None:
    person = shared.people()[5]
    response = shared_client.get(f"{PEOPLE_URL}/{person['Person ID']}")
    assert response.status_code == 200
    assert response.json()["values"] == person
    company = shared.companies()[0]
    body = shared_client.get(f"{COMPANY_URL}/{company['Company Entry ID']}").json()
    assert body["values"] == company


def test_get_missing_entry_is_404(shared_client: httpx.Client) -> None:
    response = shared_client.get(f"{PEOPLE_URL}/PPL999999999999")
    assert response.status_code == 404
    assert response.json()[0]["messageNumber"] == 302


def test_create_assigns_id_location_and_last_modified(sim: Simulator, client: httpx.Client) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.post(
        PEOPLE_URL,
        json={
            "values": {
                "First Name": "Ada",
                "Last Name": "Lovelace",
                "Company": PROVIDER_COMPANY,
                "Profile Status": "Enabled",
            }
        },
    )
    assert response.status_code == 201
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    assert new_id.startswith("PPL")
    created = client.get(response.headers["Location"]).json()["values"]
    assert created["Last Name"] == "Lovelace"
    assert created["Remedy Login ID"] is None
    assert parse_ar_datetime(created["Last Modified Date"]) >= before


def test_create_with_fields_answers_201_with_those_values(client: httpx.Client) -> None:
    response = client.post(
        PEOPLE_URL,
        params={"fields": "values(Person ID,Last Name,Profile Status)"},
        json={
            "values": {
                "First Name": "Grace",
                "Last Name": "Hopper",
                "Company": PROVIDER_COMPANY,
                "Profile Status": "Enabled",
            }
        },
    )
    assert response.status_code == 201
    body = response.json()
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    assert body["values"] == {
        "Person ID": new_id,
        "Last Name": "Hopper",
        "Profile Status": "Enabled",
    }
    assert body["_links"]["self"][0]["href"] == response.headers["Location"]


def test_create_checks_required_fields_and_choices(client: httpx.Client) -> None:
    missing = client.post(PEOPLE_URL, json={"values": {"First Name": "Ada"}})
    assert missing.status_code == 400
    assert missing.json()[0]["messageNumber"] == 307
    bad_choice = client.post(
        COMPANY_URL, json={"values": {"Company": "X", "Company Type": "Pirate"}}
    )
    assert bad_choice.status_code == 400
    assert bad_choice.json()[0]["messageNumber"] == 306


def test_update_merges_values_and_stamps_last_modified(
    sim: Simulator, client: httpx.Client
) -> None:
    person = sim.people()[0]
    before = datetime.now(UTC).replace(microsecond=0)
    url = f"{PEOPLE_URL}/{person['Person ID']}"
    response = client.put(url, json={"values": {"Department": "Payroll"}})
    assert response.status_code == 204
    updated = client.get(url).json()["values"]
    assert updated["Department"] == "Payroll"
    assert updated["Last Name"] == person["Last Name"]
    assert parse_ar_datetime(updated["Last Modified Date"]) >= before


def test_delete_removes_the_entry(sim: Simulator, client: httpx.Client) -> None:
    company = sim.companies()[-1]
    url = f"{COMPANY_URL}/{company['Company Entry ID']}"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_writes_invalidate_cached_listings(sim: Simulator, client: httpx.Client) -> None:
    q = {"q": "'Department' = \"Nowhere\"", "limit": 1000}
    assert client.get(PEOPLE_URL, params=q).json()["entries"] == []
    person_id = sim.people()[3]["Person ID"]
    sim.update_person(person_id, department="Nowhere")
    assert ids([e["values"] for e in client.get(PEOPLE_URL, params=q).json()["entries"]]) == [
        person_id
    ]


def test_in_process_helpers_stamp_last_modified(sim: Simulator) -> None:
    person = sim.people()[0]
    before = datetime.now(UTC).replace(microsecond=0)
    updated = sim.update_person(person["Person ID"], profile_status="Offline")
    assert updated["Profile Status"] == "Offline"
    assert parse_ar_datetime(updated["Last Modified Date"]) >= before
    company_id = sim.companies()[3]["Company Entry ID"]
    sim.update_company(company_id, **{"Status": "Obsolete"})
    assert sim.get_company(company_id)["Status"] == "Obsolete"
    sim.delete_person(person["Person ID"])
    assert person["Person ID"] not in {p["Person ID"] for p in sim.people()}


def test_in_process_helpers_accept_an_explicit_last_modified(sim: Simulator) -> None:
    person_id = sim.people()[0]["Person ID"]
    updated = sim.update_person(person_id, last_modified_date="2024-01-02T03:04:05.000+0000")
    assert updated["Last Modified Date"] == "2024-01-02T03:04:05.000+0000"
    new_id = sim.create_company(company="Newco Ltd", company_type="Customer", status="Enabled")
    assert new_id.startswith("CPY")
    assert sim.get_company(new_id)["Company"] == "Newco Ltd"


# -- fault injection ------------------------------------------------------------------------


def test_fail_list_request_answers_500_once(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(fail_list_request=2)
    assert client.get(PEOPLE_URL).status_code == 200
    failed = client.get(PEOPLE_URL)
    assert failed.status_code == 500
    assert failed.json()[0]["messageType"] == "ERROR"
    assert client.get(PEOPLE_URL).status_code == 200
    assert sim.stats()["injected_failures"] == 1


def test_fail_list_request_from_constructor_counts_from_start() -> None:
    with Simulator(companies=10, people=20, fail_list_request=1) as sim, session(sim) as client:
        assert client.get(PEOPLE_URL).status_code == 500
        assert client.get(PEOPLE_URL).status_code == 200


def test_tokens_expire_after_n_requests(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(expire_tokens_after=2)
    assert client.get(PEOPLE_URL).status_code == 200
    assert client.get(COMPANY_URL).status_code == 200
    expired = client.get(PEOPLE_URL)
    assert expired.status_code == 401
    assert expired.json()[0]["messageNumber"] == 623
    assert "expired" in expired.json()[0]["messageAppendedText"]
    fresh = login(client).text
    response = client.get(PEOPLE_URL, headers={"Authorization": f"AR-JWT {fresh}"})
    assert response.status_code == 200


def test_tokens_expire_an_hour_after_login_by_the_servers_clock() -> None:
    now = [datetime(2026, 3, 1, 9, 0, tzinfo=UTC)]
    with Simulator(companies=3, people=5, clock=lambda: now[0]) as clocked:
        with httpx.Client(base_url=clocked.url) as client:
            headers = {"Authorization": f"AR-JWT {login(client).text}"}
            now[0] += timedelta(seconds=3599)
            assert client.get(PEOPLE_URL, headers=headers).status_code == 200
            now[0] += timedelta(seconds=1)
            expired = client.get(PEOPLE_URL, headers=headers)
            assert expired.status_code == 401
            assert expired.json()[0]["messageNumber"] == 623
            assert "expired" in expired.json()[0]["messageAppendedText"]
            assert expired.headers["Date"] == "Sun, 01 Mar 2026 10:00:00 GMT"
            clocked.set_faults(token_lifetime=60)
            headers = {"Authorization": f"AR-JWT {login(client).text}"}
            now[0] += timedelta(seconds=60)
            assert client.get(PEOPLE_URL, headers=headers).status_code == 401
        assert clocked.stats()["expired_tokens"] == 2


def test_html_errors_answer_a_jetty_error_page(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(html_errors=1, html_error_status=503)
    page = client.get(PEOPLE_URL)
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<title>Error 503 Service Unavailable</title>" in page.text
    assert client.get(PEOPLE_URL).status_code == 200
    assert sim.stats()["html_errors"] == 1


def test_truncated_bodies_cut_a_listing_off_halfway(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(truncated_bodies=1)
    cut = client.get(PEOPLE_URL)
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()
    assert client.get(PEOPLE_URL).json()["entries"]


def test_busy_answers_ar_9093(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(busy=1)
    busy = client.get(PEOPLE_URL)
    assert busy.status_code == 500
    assert busy.json()[0]["messageNumber"] == 9093
    assert client.get(PEOPLE_URL).status_code == 200


def test_change_during_paging_moves_a_served_record_to_the_end(
    sim: Simulator, client: httpx.Client
) -> None:
    params = {"sort": "Last Modified Date.asc", "limit": 10}
    sim.set_faults(change_during_paging=1)
    first = client.get(PEOPLE_URL, params=params).json()
    moved = first["entries"][0]["values"]
    second = client.get(first["_links"]["next"][0]["href"]).json()

    everything, _ = list_all(client, PEOPLE_URL, sort="Last Modified Date.asc", limit=1000)
    assert everything[-1]["Person ID"] == moved["Person ID"]
    assert everything[-1]["Department"] == "Changed while listed 1"
    # Offset paging now skips the record that slid into the first page.
    slid = everything[9]
    assert slid["Person ID"] not in ids(e["values"] for e in first["entries"] + second["entries"])
    assert sim.faults.change_during_paging == 0


def test_malformed_corrupts_the_first_records_of_each_listing(
    sim: Simulator, client: httpx.Client
) -> None:
    sort = "Person ID.asc"
    clean = client.get(PEOPLE_URL, params={"sort": sort, "limit": 6}).json()["entries"]
    sim.set_faults(malformed=4)
    served = [
        e["values"]
        for e in client.get(PEOPLE_URL, params={"sort": sort, "limit": 6}).json()["entries"]
    ]
    manufacturers = {c["Company"] for c in sim.companies() if c["Company Type"] == "Manufacturer"}
    assert "Person ID" not in served[0]
    assert served[1]["Last Modified Date"] == "not-a-date"
    assert served[2]["Company"] in manufacturers
    assert served[3]["Company"] not in {c["Company"] for c in sim.companies()}
    assert served[4:] == [e["values"] for e in clean[4:]]
    second_page = client.get(PEOPLE_URL, params={"sort": sort, "limit": 6, "offset": 6}).json()
    assert [e["values"] for e in second_page["entries"]] == sim.people()[6:12]
    assert sim.get_person(clean[0]["values"]["Person ID"]) == clean[0]["values"]


def test_malformed_companies(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(malformed=4)
    served = [e["values"] for e in client.get(COMPANY_URL).json()["entries"]]
    assert "Company Entry ID" not in served[0]
    assert served[1]["Last Modified Date"] == "not-a-date"
    assert served[2]["Company Type"] == "Bogus Type"
    assert served[3]["Company"] is None


def test_delay_ms_slows_api_calls(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(delay_ms=60)
    started = time.monotonic()
    client.get(PEOPLE_URL, params={"limit": 1})
    assert time.monotonic() - started >= 0.06


def test_control_endpoints_set_faults_report_stats_and_reset(
    sim: Simulator, client: httpx.Client
) -> None:
    with httpx.Client(base_url=sim.url) as control:
        assert control.get("/__sim/health").json()["status"] == "ok"
        faults = control.post("/__sim/faults", json={"fail_list_request": 1, "malformed": 2})
        assert faults.json() == {**asdict(Faults()), "fail_list_request": 1, "malformed": 2}
        assert client.get(PEOPLE_URL).status_code == 500
        stats = control.get("/__sim/stats").json()
        assert stats["list_requests"] == 1
        assert stats["injected_failures"] == 1
        assert stats["entries"] | {COMPANY_FORM: 20, PEOPLE_FORM: 120} == stats["entries"]
        assert control.post("/__sim/faults", json={"bogus": 1}).status_code == 400
        sim.delete_person(sim.people()[0]["Person ID"])
        control.post("/__sim/reset", json={"data": True})
        stats = control.get("/__sim/stats").json()
    assert stats["list_requests"] == 0
    assert stats["faults"]["malformed"] == 0
    assert stats["entries"][PEOPLE_FORM] == 120


# -- generated data -------------------------------------------------------------------------


def test_same_seed_gives_the_same_data() -> None:
    assert generate_dataset(25, 400, seed=5) == generate_dataset(25, 400, seed=5)
    assert generate_dataset(25, 400, seed=5) != generate_dataset(25, 400, seed=6)


def test_generated_data_is_realistic() -> None:
    data = generate_dataset(40, 4000, seed=1)
    companies, people = data[COMPANY_FORM], data[PEOPLE_FORM]
    types = Counter(c["Company Type"] for c in companies)
    assert set(types) == {
        "Customer",
        "Operating Company",
        "Service Provider",
        "Vendor",
        "Supplier",
        "Generic Contact",
        "Manufacturer",
    }
    assert types["Customer"] > len(companies) / 2
    [global_company] = [c for c in companies if c["Company"] == GLOBAL_COMPANY]
    assert global_company["Company Type"] == "Operating Company"
    assert global_company["Status"] == "Enabled"
    assert any(c["Company"] == PROVIDER_COMPANY for c in companies)
    assert any(c["Status"] != "Enabled" for c in companies)
    assert len({c["Company"] for c in companies}) == len(companies)
    no_people = {GLOBAL_COMPANY} | {
        c["Company"] for c in companies if c["Company Type"] == "Manufacturer"
    }
    assert not [p for p in people if p["Company"] in no_people]
    assert {p["Company"] for p in people} <= {c["Company"] for c in companies}
    assert len({p["Internet E-mail"] for p in people}) == len(people)
    logins = [p["Remedy Login ID"] for p in people if p["Remedy Login ID"]]
    assert len(set(logins)) == len(logins) < len(people)
    not_enabled = sum(p["Profile Status"] != "Enabled" for p in people) / len(people)
    assert 0.02 < not_enabled < 0.09
    assert {"Office-Based Employee", "Contractor", "Customer"} <= {p["Client Type"] for p in people}
    dates = [parse_ar_datetime(p["Last Modified Date"]) for p in people]
    assert max(dates) - min(dates) > timedelta(days=300)


def test_generates_100000_people() -> None:
    data = generate_dataset(40, 100_000, seed=1)
    assert len(data[PEOPLE_FORM]) == 100_000
    assert len({p["Person ID"] for p in data[PEOPLE_FORM]}) == 100_000


def test_links_can_name_another_base_url(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(links_base="http://proxy.example:9000/")
    body = client.get(PEOPLE_URL, params={"limit": 10}).json()
    assert body["_links"]["next"][0]["href"].startswith("http://proxy.example:9000/api/arsys/")
    assert body["entries"][0]["_links"]["self"][0]["href"].startswith("http://proxy.example:9000/")
    sim.set_faults(links_base="")
    body = client.get(PEOPLE_URL, params={"limit": 10}).json()
    assert body["_links"]["next"][0]["href"].startswith(sim.url)


# -- the command -----------------------------------------------------------------------------


def test_the_command_serves_with_the_server_settings_asked_for() -> None:
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "manage.py", "itsm_simulator", "--port", "0", "--people", "50"]
    command += ["--max-entries", "7", "--older-server"]
    env = {**os.environ, "DEBUG": "true"}
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        settings_line = next(line for line in process.stdout if "settings and faults" in line)
        assert "'max_entries': 7" in settings_line and "'older_server': 1" in settings_line
        with httpx.Client(base_url=url, timeout=10) as client:
            client.headers["Authorization"] = f"AR-JWT {login(client).text}"
            assert len(client.get(PEOPLE_URL, params={"limit": 100}).json()["entries"]) == 7
            iso = "'Last Modified Date' >= \"2025-01-01T00:00:00.000+0000\""
            assert client.get(PEOPLE_URL, params={"q": iso}).status_code == 400
    finally:
        process.terminate()
        process.wait(timeout=10)
