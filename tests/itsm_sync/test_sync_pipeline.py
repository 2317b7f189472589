"""The sync pipeline against the AR System simulator over real HTTP on loopback (S1–S3)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from itsm_sync import services
from itsm_sync.models import (
    Company,
    Person,
    PlanAction,
    RejectedRecord,
    SyncKind,
    SyncRun,
    SyncStatus,
    Watermark,
)
from itsm_sync.services import locks, plans, writers
from itsm_sync.signals import person_company_changed, sync_run_finished
from itsm_sync.simulator import COMPANY_FORM, GLOBAL_COMPANY, PEOPLE_FORM, Simulator
from itsm_sync.sources import ARRestSource, format_ar_datetime, parse_ar_datetime
from msp_portal.models import AuditEvent
from tests.itsm_sync.sync_helpers import (
    ARClient,
    ChangesAfterFirstPage,
    company_sync,
    mirror_companies,
    mirror_people,
    people_sync,
    row_versions,
    source_companies,
    source_people,
    sync_both,
)

pytestmark = pytest.mark.django_db


def watermark(kind: str):
    return Watermark.objects.get(kind=kind).value


def latest_modified(rows: list[dict]):
    return max(parse_ar_datetime(r["Last Modified Date"]) for r in rows)


# -- first sync and idempotence -----------------------------------------------------------------


def test_first_full_sync_mirrors_the_source_exactly(sim: Simulator) -> None:
    companies, people = sync_both(sim, full=True)

    assert companies.status == people.status == SyncStatus.SUCCEEDED
    assert mirror_companies() == source_companies(sim)
    assert mirror_people() == source_people(sim)
    assert (companies.created, people.created) == (12, 300)
    # Seven pages: each after the first asks again for the second the one before ended in.
    assert (people.seen, people.pages, people.rejected, people.deactivated) == (300, 7, 0, 0)
    assert people.rows_per_s > 0 and people.duration > timedelta(0)
    assert watermark(SyncKind.PEOPLE) == latest_modified(sim.people())
    assert watermark(SyncKind.COMPANIES) == latest_modified(sim.companies())


def test_each_applied_run_writes_one_audit_event(sim: Simulator) -> None:
    companies, people = sync_both(sim, full=True)

    events = AuditEvent.objects.filter(action="itsm_sync.run").order_by("id")
    assert [e.object_id for e in events] == [str(companies.pk), str(people.pk)]
    assert events[1].after["created"] == 300
    assert events[1].actor_label == "system"


@pytest.mark.django_db(transaction=True)
def test_a_second_sync_rewrites_no_row(sim: Simulator) -> None:
    sync_both(sim, full=True)
    people_before, companies_before = row_versions(Person), row_versions(Company)

    companies, people = sync_both(sim, full=True)

    assert (people.created, people.updated, people.unchanged) == (0, 0, 300)
    assert (companies.created, companies.updated, companies.unchanged) == (0, 0, 12)
    assert row_versions(Person) == people_before
    assert row_versions(Company) == companies_before


@pytest.mark.django_db(transaction=True)
def test_a_re_sync_reports_no_tuple_updates_to_postgresql(sim: Simulator) -> None:
    sync_both(sim, full=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = %s",
            [Person._meta.db_table],
        )
        before = cursor.fetchone()[0]

    sync_both(sim)
    sync_both(sim, full=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = %s",
            [Person._meta.db_table],
        )
        assert cursor.fetchone()[0] == before


# -- incremental ---------------------------------------------------------------------------------


def test_incremental_applies_changes_made_through_the_api(sim: Simulator) -> None:
    sync_both(sim, full=True)
    mark = watermark(SyncKind.PEOPLE)
    changed, moved = sim.people()[0]["Person ID"], sim.people()[1]["Person ID"]
    api = ARClient(sim)
    api.update(PEOPLE_FORM, changed, **{"Department": "Treasury", "VIP": "Yes"})
    new_company = "Zephyr Widgets Ltd"
    api.create(
        COMPANY_FORM,
        **{"Company": new_company, "Company Type": "Customer", "Status": "Enabled"},
    )
    created = api.create(
        PEOPLE_FORM,
        **{
            "First Name": "Grace",
            "Last Name": "Hopper",
            "Company": new_company,
            "Profile Status": "Enabled",
        },
    )
    api.update(PEOPLE_FORM, moved, **{"Company": new_company})
    api.close()

    companies, people = sync_both(sim)

    assert people.since == mark
    assert (companies.created, companies.updated) == (1, 0)
    # The record at exactly the watermark is read again (">="), and found unchanged.
    assert (people.created, people.updated, people.unchanged, people.seen) == (1, 2, 1, 4)
    assert mirror_people() == source_people(sim)
    assert Person.objects.get(person_id=created).company.name == new_company
    assert Person.objects.get(person_id=moved).company.name == new_company
    assert watermark(SyncKind.PEOPLE) == latest_modified(sim.people())


def test_records_modified_exactly_at_the_watermark_are_not_missed(sim: Simulator) -> None:
    sync_both(sim, full=True)
    mark = watermark(SyncKind.PEOPLE)
    person_id = sim.people()[5]["Person ID"]
    sim.update_person(
        person_id, first_name="AtTheMark", last_modified_date=format_ar_datetime(mark)
    )

    run = people_sync(sim)  # overlap 0: only ">= watermark" protects this record

    assert run.since == mark
    assert run.updated == 1
    assert Person.objects.get(person_id=person_id).first_name == "AtTheMark"


def test_the_watermark_never_moves_back(sim: Simulator) -> None:
    sync_both(sim, full=True)
    mark = watermark(SyncKind.PEOPLE)
    person_id = sim.people()[0]["Person ID"]
    sim.update_person(
        person_id, last_name="Older", last_modified_date="2020-01-01T00:00:00.000+0000"
    )

    run = people_sync(sim, full=True)

    assert run.updated == 1
    assert watermark(SyncKind.PEOPLE) == mark


def test_a_record_stamped_in_the_future_does_not_push_the_watermark_past_now(
    sim: Simulator,
) -> None:
    sync_both(sim, full=True)
    person_id = sim.people()[0]["Person ID"]
    sim.update_person(
        person_id, last_name="Skewed", last_modified_date="2099-01-01T00:00:00.000+0000"
    )

    run = people_sync(sim)

    assert run.updated == 1
    assert run.source_watermark.year == 2099
    assert watermark(SyncKind.PEOPLE) <= timezone.now()


# -- full reconcile and the S3 guard ---------------------------------------------------------------


def test_full_reconcile_deactivates_what_disappeared_and_deletes_nothing(sim: Simulator) -> None:
    sync_both(sim, full=True)
    gone = [p["Person ID"] for p in sim.people()[:3]]
    global_company = next(c for c in sim.companies() if c["Company"] == GLOBAL_COMPANY)
    api = ARClient(sim)
    for person_id in gone:
        api.delete(PEOPLE_FORM, person_id)
    api.delete(COMPANY_FORM, global_company["Company Entry ID"])
    api.close()

    companies, people = sync_both(sim, full=True)

    assert (companies.deactivated, people.deactivated) == (1, 3)
    assert people.status == SyncStatus.SUCCEEDED
    assert Person.objects.count() == 300
    assert set(Person.objects.filter(is_active=False).values_list("person_id", flat=True)) == set(
        gone
    )
    assert not Company.objects.get(name=GLOBAL_COMPANY).is_active
    planned = people.planned_changes.filter(action=PlanAction.DEACTIVATE)
    assert sorted(planned.values_list("key", flat=True)) == sorted(gone)


def test_an_incremental_sync_never_deactivates(sim: Simulator) -> None:
    sync_both(sim, full=True)
    sim.delete_person(sim.people()[0]["Person ID"])

    run = people_sync(sim)

    assert run.deactivated == 0
    assert Person.objects.filter(is_active=False).count() == 0


def test_a_person_who_comes_back_is_reactivated(sim: Simulator) -> None:
    sync_both(sim, full=True)
    person = sim.people()[0]
    sim.delete_person(person["Person ID"])
    people_sync(sim, full=True)
    sim.create_person(**{k: v for k, v in person.items() if k != "Last Modified Date"})

    run = people_sync(sim)

    assert run.updated == 1
    assert Person.objects.get(person_id=person["Person ID"]).is_active


def test_the_guard_stops_a_full_reconcile_before_it_changes_anything(big_sim: Simulator) -> None:
    sync_both(big_sim, full=True, page_size=200)
    before = mirror_people()
    gone = [p["Person ID"] for p in big_sim.people()[:501]]
    for person_id in gone:
        big_sim.delete_person(person_id)
    renamed = big_sim.people()[0]["Person ID"]
    big_sim.update_person(renamed, last_name="Renamed")
    big_sim.create_person(
        first_name="New", last_name="Comer", company="Calbro Services", profile_status="Enabled"
    )

    run = people_sync(big_sim, full=True, config={"page_size": 200})

    assert run.status == SyncStatus.NEEDS_APPROVAL
    assert (run.created, run.updated, run.deactivated) == (0, 0, 0)
    assert (run.planned_creates, run.planned_updates, run.planned_deactivations) == (1, 1, 501)
    assert (run.active_before, run.deactivation_limit) == (700, 500)
    assert "Stopped before changing anything" in run.message
    assert f"sync_itsm --approve {run.pk}" in run.message
    assert mirror_people() == before
    assert run.planned_changes.get(key=renamed).changes["last_name"][1] == "Renamed"


def test_approving_the_plan_applies_it(big_sim: Simulator, system_admin) -> None:
    sync_both(big_sim, full=True, page_size=200)
    for person in big_sim.people()[:600]:
        big_sim.delete_person(person["Person ID"])
    renamed = big_sim.people()[0]["Person ID"]
    big_sim.update_person(renamed, last_name="Renamed")
    run = people_sync(big_sim, full=True, config={"page_size": 200})

    approved = services.sync_run_approve(actor=system_admin, run=run)

    assert approved.status == SyncStatus.SUCCEEDED
    assert approved.approved_by == system_admin
    assert (approved.updated, approved.deactivated) == (1, 600)
    assert Person.objects.filter(is_active=True).count() == 100
    assert Person.objects.get(person_id=renamed).last_name == "Renamed"
    assert watermark(SyncKind.PEOPLE) == approved.source_watermark
    assert AuditEvent.objects.filter(action="itsm_sync.approve", object_id=str(run.pk)).exists()


def test_an_approved_plan_does_not_undo_a_newer_sync(big_sim: Simulator) -> None:
    sync_both(big_sim, full=True, page_size=200)
    for person in big_sim.people()[:600]:
        big_sim.delete_person(person["Person ID"])
    person_id = big_sim.people()[0]["Person ID"]
    big_sim.update_person(person_id, last_name="Planned")
    run = people_sync(big_sim, full=True, config={"page_size": 200})
    big_sim.update_person(person_id, last_name="Newer")
    people_sync(big_sim)

    services.sync_run_approve(actor=None, run=run)

    assert Person.objects.get(person_id=person_id).last_name == "Newer"


def _fail_first_chunk_commit(monkeypatch) -> None:
    """The first chunk's commit fails after its rows were written: it rolls back whole."""
    real_save = plans.save_counters
    calls = []

    def fail_once(run):
        calls.append(1)
        if len(calls) == 1:
            raise DatabaseError("connection lost (simulated)")
        real_save(run)

    monkeypatch.setattr(plans, "save_counters", fail_once)


def _needs_approval(big_sim: Simulator, **renames: str) -> SyncRun:
    sync_both(big_sim, full=True, page_size=200)
    for person in big_sim.people()[:600]:
        big_sim.delete_person(person["Person ID"])
    for person_id, last_name in renames.items():
        big_sim.update_person(person_id, last_name=last_name)
    run = people_sync(big_sim, full=True, config={"page_size": 200})
    assert run.status == SyncStatus.NEEDS_APPROVAL
    return run


def test_a_failed_approval_retried_applies_everything_once(big_sim: Simulator, monkeypatch) -> None:
    renamed = big_sim.people()[650]["Person ID"]
    run = _needs_approval(big_sim, **{renamed: "Renamed"})
    _fail_first_chunk_commit(monkeypatch)

    with pytest.raises(DatabaseError):
        services.sync_run_approve(actor=None, run=run)
    failed = SyncRun.objects.get(pk=run.pk)
    assert (failed.status, failed.applied_to, failed.updated) == (SyncStatus.FAILED, 0, 0)
    assert Person.objects.get(person_id=renamed).last_name != "Renamed"

    approved = services.sync_run_approve(actor=None, run=failed)

    assert approved.status == SyncStatus.SUCCEEDED
    assert (approved.updated, approved.deactivated) == (1, 600)
    assert Person.objects.get(person_id=renamed).last_name == "Renamed"


def test_a_retried_approval_still_keeps_what_a_newer_sync_did(
    big_sim: Simulator, monkeypatch
) -> None:
    person_id = big_sim.people()[650]["Person ID"]
    run = _needs_approval(big_sim, **{person_id: "Planned"})
    big_sim.update_person(person_id, last_name="Newer")
    people_sync(big_sim)
    _fail_first_chunk_commit(monkeypatch)
    with pytest.raises(DatabaseError):
        services.sync_run_approve(actor=None, run=run)

    # The plan was made before the newer sync, though the failed approval ended after it.
    services.sync_run_approve(actor=None, run=SyncRun.objects.get(pk=run.pk))

    assert Person.objects.get(person_id=person_id).last_name == "Newer"


def test_only_a_run_that_waits_for_approval_can_be_approved(sim: Simulator) -> None:
    _, run = sync_both(sim, full=True)

    with pytest.raises(services.SyncApprovalRefused, match="only a run that needs approval"):
        services.sync_run_approve(actor=None, run=run)


def test_a_superseded_plan_can_not_be_approved(big_sim: Simulator) -> None:
    sync_both(big_sim, full=True, page_size=200)
    for person in big_sim.people()[:600]:
        big_sim.delete_person(person["Person ID"])
    first = people_sync(big_sim, full=True, config={"page_size": 200})
    second = people_sync(big_sim, full=True, config={"page_size": 200})

    with pytest.raises(services.SyncApprovalRefused, match=f"superseded by full run #{second.pk}"):
        services.sync_run_approve(actor=None, run=first)


def test_approval_needs_the_run_sync_permission(big_sim: Simulator, plain_user) -> None:
    sync_both(big_sim, full=True, page_size=200)
    for person in big_sim.people()[:600]:
        big_sim.delete_person(person["Person ID"])
    run = people_sync(big_sim, full=True, config={"page_size": 200})

    with pytest.raises(services.NotAllowed):
        services.sync_run_approve(actor=plain_user, run=run)
    run.refresh_from_db()
    assert run.status == SyncStatus.NEEDS_APPROVAL


# -- dry runs ----------------------------------------------------------------------------------


def test_a_dry_run_changes_nothing_and_plans_what_the_real_run_applies(sim: Simulator) -> None:
    sync_both(sim, full=True)
    people = sim.people()
    sim.update_person(people[0]["Person ID"], first_name="Changed", vip="Yes")
    sim.delete_person(people[1]["Person ID"])
    added = sim.create_person(
        first_name="Neo", last_name="Anderson", company="Calbro Services", profile_status="Enabled"
    )
    before, versions = mirror_people(), row_versions(Person)

    dry = people_sync(sim, full=True, dry_run=True)

    assert dry.status == SyncStatus.SUCCEEDED and dry.dry_run
    assert mirror_people() == before and row_versions(Person) == versions
    assert (dry.created, dry.updated, dry.deactivated) == (0, 0, 0)
    plan = {c.key: (c.action, c.changes) for c in dry.planned_changes.all()}
    assert plan[people[0]["Person ID"]][0] == PlanAction.UPDATE
    changes = plan[people[0]["Person ID"]][1]
    assert changes["first_name"] == [people[0]["First Name"], "Changed"]
    assert changes["vip"] == [people[0]["VIP"] == "Yes", True]
    assert plan[people[1]["Person ID"]] == (PlanAction.DEACTIVATE, {"is_active": [True, False]})
    assert plan[added][0] == PlanAction.CREATE
    assert plan[added][1]["company"] == [None, "Calbro Services"]
    assert watermark(SyncKind.PEOPLE) < latest_modified(sim.people())
    assert not AuditEvent.objects.filter(object_id=str(dry.pk)).exists()

    real = people_sync(sim, full=True)

    assert (real.created, real.updated, real.deactivated) == (
        dry.planned_creates,
        dry.planned_updates,
        dry.planned_deactivations,
    )


def test_a_dry_run_says_when_the_real_run_would_need_approval(big_sim: Simulator) -> None:
    sync_both(big_sim, full=True, page_size=200)
    for person in big_sim.people()[:600]:
        big_sim.delete_person(person["Person ID"])

    run = people_sync(big_sim, full=True, dry_run=True, config={"page_size": 200})

    assert run.status == SyncStatus.SUCCEEDED
    assert run.planned_deactivations == 600
    assert "A real full run would stop before changing anything" in run.message


# -- failures: S2 ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_500_on_page_3_keeps_earlier_pages_and_the_retry_converges(sim: Simulator) -> None:
    company_sync(sim, full=True)
    sim.set_faults(fail_list_request=3)

    failed = people_sync(sim)

    assert failed.status == SyncStatus.PARTIAL
    assert failed.error_transient
    assert "HTTP 500" in failed.error and "stay applied" in failed.error
    assert failed.pages == 2
    # 50 people, then 49 more: the second page asks again for the second the first ended in.
    first_pages = sorted(
        sim.people(), key=lambda p: (parse_ar_datetime(p["Last Modified Date"]), p["Person ID"])
    )[:99]
    assert set(mirror_people()) == {p["Person ID"] for p in first_pages}
    assert watermark(SyncKind.PEOPLE) == latest_modified(first_pages)

    retried = people_sync(sim)
    assert retried.status == SyncStatus.SUCCEEDED
    assert retried.since == latest_modified(first_pages)
    after_retry = mirror_people()

    Person.objects.all().delete()
    Watermark.objects.filter(kind=SyncKind.PEOPLE).delete()
    clean = people_sync(sim)
    assert clean.status == SyncStatus.SUCCEEDED
    assert after_retry == mirror_people() == source_people(sim)


@pytest.mark.django_db(transaction=True)
def test_a_page_that_fails_to_write_is_rolled_back_whole(sim: Simulator, monkeypatch) -> None:
    company_sync(sim, full=True)
    real_write = writers.PostgresWriter.write
    calls = []

    def write_then_break(self, rows, **kwargs):
        calls.append(len(rows))
        result = real_write(self, rows, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("disk full")  # after the rows went in: they must roll back
        return result

    monkeypatch.setattr(writers.PostgresWriter, "write", write_then_break)

    with pytest.raises(RuntimeError, match="disk full"):
        people_sync(sim)

    run = SyncRun.objects.get(kind=SyncKind.PEOPLE)
    assert run.status == SyncStatus.PARTIAL
    assert "RuntimeError: disk full" in run.error
    assert Person.objects.count() == 50
    assert run.created == 50
    first_page = sorted(
        sim.people(), key=lambda p: (parse_ar_datetime(p["Last Modified Date"]), p["Person ID"])
    )[:50]
    assert watermark(SyncKind.PEOPLE) == latest_modified(first_page)


def test_a_token_expiring_mid_run_is_renewed(sim: Simulator) -> None:
    sim.set_faults(expire_tokens_after=2)

    companies, people = sync_both(sim, full=True)

    assert companies.status == people.status == SyncStatus.SUCCEEDED
    assert mirror_people() == source_people(sim)
    assert sim.stats()["expired_tokens"] >= 2


def test_a_bad_login_fails_the_run_with_a_clear_error(sim: Simulator) -> None:
    run = company_sync(sim, full=True, config={"password": "wrong"})

    assert run.status == SyncStatus.FAILED
    assert run.error.startswith("ITSM login failed for user 'Demo'")
    assert "Check ITSM_USER and ITSM_PASSWORD." in run.error
    assert "Nothing was changed." in run.error
    assert not run.error_transient
    assert Company.objects.count() == 0
    assert not Watermark.objects.filter(kind=SyncKind.COMPANIES, value__isnull=False).exists()


def test_an_unreachable_source_is_a_transient_failure() -> None:
    source = ARRestSource(
        config_for_url("http://127.0.0.1:9", retries=0)  # the discard port: nothing listens
    )

    run = services.sync_companies(source=source)

    assert run.status == SyncStatus.FAILED
    assert run.error_transient
    assert "Cannot reach ITSM at http://127.0.0.1:9" in run.error


def config_for_url(url: str, **overrides):
    from itsm_sync.sources import SourceConfig

    return SourceConfig(url=url, user="Demo", password="Demo", backoff=0.0, **overrides)


def test_malformed_records_are_rejected_with_reasons_while_the_rest_goes_in(
    sim: Simulator,
) -> None:
    company_sync(sim, full=True)
    sim.set_faults(malformed=4)

    run = people_sync(sim, full=True)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.rejected == 4
    reasons = sorted(RejectedRecord.objects.filter(run=run).values_list("reason", flat=True))
    assert any(r.endswith("is a Manufacturer; people can't belong to one.") for r in reasons)
    assert any(r.startswith("Malformed Last Modified Date 'not-a-date'") for r in reasons)
    assert "No Person ID." in reasons
    assert any(r.startswith("Unknown company 'Unknown Company (simulated)'") for r in reasons)
    record = RejectedRecord.objects.filter(run=run, reason="No Person ID.").get()
    assert "Person ID" not in record.raw and record.raw["Last Name"]
    assert Person.objects.count() == 300 - 4
    assert run.deactivated == 0


# -- concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_runs_started_at_once_one_runs(sim: Simulator) -> None:
    company_sync(sim, full=True)
    sim.set_faults(delay_ms=20)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def start() -> None:
        try:
            barrier.wait()
            outcomes.append(people_sync(sim))
        except Exception as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    runs = [o for o in outcomes if isinstance(o, SyncRun)]
    refused = [o for o in outcomes if isinstance(o, services.SyncAlreadyRunning)]
    assert len(runs) == 1 and len(refused) == 1, outcomes
    assert runs[0].status == SyncStatus.SUCCEEDED
    assert str(refused[0]).startswith("A people sync is already running")
    assert SyncRun.objects.filter(kind=SyncKind.PEOPLE).count() == 1


def test_companies_and_people_may_sync_side_by_side(sim: Simulator) -> None:
    company_sync(sim, full=True)
    with locks.kind_lock(SyncKind.COMPANIES):
        run = people_sync(sim)
    assert run.status == SyncStatus.SUCCEEDED


def test_a_run_left_running_by_a_dead_worker_is_closed_by_the_next_one(sim: Simulator) -> None:
    company_sync(sim, full=True)
    dead = SyncRun.objects.create(kind=SyncKind.PEOPLE)

    run = people_sync(sim)

    dead.refresh_from_db()
    assert dead.status == SyncStatus.FAILED
    assert dead.error.startswith("Interrupted")
    assert run.status == SyncStatus.SUCCEEDED


# -- moves and signals ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_person_moved_to_another_company_is_announced_after_commit(sim: Simulator) -> None:
    sync_both(sim, full=True)
    person = Person.objects.exclude(company__name="Calbro Services").first()
    old_company_id = person.company_id
    provider = Company.objects.get(name="Calbro Services")
    heard: list[dict] = []

    def receiver(sender, **kwargs):
        heard.append({k: kwargs[k] for k in ("person_id", "old_company_id", "new_company_id")})

    person_company_changed.connect(receiver)
    try:
        sim.update_person(person.person_id, company="Calbro Services")
        run = people_sync(sim)
    finally:
        person_company_changed.disconnect(receiver)

    assert run.updated == 1
    assert heard == [
        {"person_id": person.pk, "old_company_id": old_company_id, "new_company_id": provider.pk}
    ]
    assert Person.objects.get(pk=person.pk).company == provider


@pytest.mark.django_db(transaction=True)
def test_person_move_company_moves_and_audits_a_direct_move(system_admin) -> None:
    from tests.itsm_sync.factories import CompanyFactory, PersonFactory

    person = PersonFactory()
    target = CompanyFactory()
    heard = []
    person_company_changed.connect(
        lambda sender, **kw: heard.append(kw["new_company_id"]), weak=False, dispatch_uid="t"
    )
    try:
        moved = services.person_move_company(
            person_id=person.pk,
            old_company_id=person.company_id,
            new_company_id=target.pk,
            actor=system_admin,
        )
    finally:
        person_company_changed.disconnect(dispatch_uid="t")

    assert moved
    assert Person.objects.get(pk=person.pk).company == target
    assert heard == [target.pk]
    assert AuditEvent.objects.filter(action="itsm_sync.person_move_company").count() == 1


@pytest.mark.django_db(transaction=True)
def test_every_finished_run_is_announced(sim: Simulator) -> None:
    heard: list[SyncRun] = []

    def receiver(sender, run, **kwargs):
        heard.append(run)

    sync_run_finished.connect(receiver)
    try:
        companies, people = sync_both(sim, full=True)
    finally:
        sync_run_finished.disconnect(receiver)

    assert [r.pk for r in heard] == [companies.pk, people.pk]


def test_a_sync_needs_the_run_sync_permission(sim: Simulator, plain_user, catalog_admin) -> None:
    with pytest.raises(services.NotAllowed):
        company_sync(sim, actor=plain_user)
    run = company_sync(sim, actor=catalog_admin)
    assert run.started_by == catalog_admin
    assert run.started_by_label == "catadmin"


# -- paging while the source changes ------------------------------------------------------------


def test_a_full_reconcile_deactivates_no_one_the_source_still_has_while_it_changes(
    sim: Simulator,
) -> None:
    sync_both(sim, full=True)

    with ChangesAfterFirstPage(sim) as source:
        run = services.sync_people(source=source, full=True)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.deactivated == 0
    assert not Person.objects.filter(is_active=False).exists()
    assert mirror_people() == source_people(sim)
    assert Person.objects.get(person_id=source.moved).department == "Moved during the run"


def test_a_planned_full_reconcile_deactivates_no_one_the_source_still_has_either(
    big_sim: Simulator,
) -> None:
    # Past GUARD_MIN active people the run plans everything before it applies anything.
    sync_both(big_sim, full=True, page_size=200)
    gone = big_sim.people()[-1]["Person ID"]
    big_sim.delete_person(gone)

    with ChangesAfterFirstPage(big_sim, page_size=200) as source:
        run = services.sync_people(source=source, full=True)

    assert run.status == SyncStatus.SUCCEEDED
    assert list(Person.objects.filter(is_active=False).values_list("person_id", flat=True)) == [
        gone
    ]
    assert run.deactivated == 1
    assert Person.objects.get(person_id=source.moved).department == "Moved during the run"
