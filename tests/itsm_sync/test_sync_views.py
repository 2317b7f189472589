"""ITSM sync pages: starting, watching, reviewing and approving runs; the company and people
directories. Syncs started from a page run against the simulator over HTTP (Celery is eager)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from itsm_sync import services
from itsm_sync.models import (
    Company,
    CompanyType,
    Person,
    PlanAction,
    PlannedChange,
    RecordStatus,
    RejectedRecord,
    SyncKind,
    SyncMode,
    SyncRun,
    SyncStatus,
)
from itsm_sync.services import locks
from msp_portal.models import AuditEvent
from tests.itsm_sync.factories import CompanyFactory, PersonFactory
from tests.itsm_sync.sync_helpers import (
    ARClient,
    ListSource,
    company_sync,
    running_simulator,
)

pytestmark = pytest.mark.django_db

RUNS = reverse("itsm_sync:run_list")
START = reverse("itsm_sync:run_start")
COMPANIES = reverse("itsm_sync:company_list")
PEOPLE = reverse("itsm_sync:person_list")
LIVE = {"HX-Request": "true", "HX-Target": "live"}


def _detail(run: SyncRun) -> str:
    return reverse("itsm_sync:run_detail", kwargs={"pk": run.pk})


def _approve(run: SyncRun) -> str:
    return reverse("itsm_sync:run_approve", kwargs={"pk": run.pk})


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _run(kind=SyncKind.PEOPLE, status=SyncStatus.SUCCEEDED, **fields) -> SyncRun:
    now = timezone.now()
    values = {
        "kind": kind,
        "status": status,
        "started_at": now - timedelta(minutes=5),
        "finished_at": None if status == SyncStatus.RUNNING else now - timedelta(minutes=4),
        "duration": None if status == SyncStatus.RUNNING else timedelta(seconds=42),
        "started_by_label": "sysadmin",
        **fields,
    }
    return SyncRun.objects.create(**values)


@pytest.fixture
def sim():
    yield from running_simulator(companies=12, people=150, seed=3)


@pytest.fixture
def itsm_page_size() -> int:
    return 50


@pytest.fixture
def no_source(monkeypatch):
    monkeypatch.delenv("ITSM_URL", raising=False)
    monkeypatch.delenv("ITSM_FILE", raising=False)


@pytest.fixture
def admin_client(client, system_admin):
    client.force_login(system_admin)
    return client


@pytest.fixture
def acme(db):
    return CompanyFactory(name="Acme Corp", abbreviation="ACME")


# -- who may open what ------------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize("persona", ["plain_user", "customer_admin", "end_user"])
    def test_people_without_an_msp_staff_role_get_403(self, client, request, persona, acme):
        run = _run(status=SyncStatus.NEEDS_APPROVAL, planned_deactivations=600)
        person = PersonFactory(company=acme)
        client.force_login(request.getfixturevalue(persona))
        for url in (
            RUNS,
            _detail(run),
            COMPANIES,
            PEOPLE,
            reverse("itsm_sync:company_detail", kwargs={"pk": acme.pk}),
            reverse("itsm_sync:person_detail", kwargs={"pk": person.pk}),
        ):
            assert client.get(url).status_code == 403, url
        assert client.post(START, {"kind": "all"}).status_code == 403
        assert client.post(_approve(run), {"confirm": "on"}).status_code == 403
        assert SyncRun.objects.count() == 1
        assert SyncRun.objects.get().status == SyncStatus.NEEDS_APPROVAL

    @pytest.mark.parametrize("persona", ["system_admin", "catalog_admin"])
    def test_system_and_catalog_administrators_reach_every_page(self, client, request, persona):
        client.force_login(request.getfixturevalue(persona))
        for url in (RUNS, COMPANIES, PEOPLE):
            assert client.get(url).status_code == 200
        content = client.get(reverse("home")).content.decode()
        assert f'href="{RUNS}"' in content and f'href="{PEOPLE}"' in content

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        response = client.get(RUNS)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_an_unknown_run_company_or_person_is_404(self, admin_client):
        for name in ("run_detail", "company_detail", "person_detail"):
            url = reverse(f"itsm_sync:{name}", kwargs={"pk": 999999})
            assert admin_client.get(url).status_code == 404
        assert (
            admin_client.post(reverse("itsm_sync:run_approve", kwargs={"pk": 999999})).status_code
            == 404
        )

    def test_starting_a_run_takes_a_post(self, admin_client):
        assert admin_client.get(START).status_code == 405


# -- the ITSM sync page -----------------------------------------------------------------------


class TestRunList:
    def test_each_kind_shows_its_last_run_counts_and_how_fresh_the_mirror_is(self, admin_client):
        _run(kind=SyncKind.COMPANIES, seen=12, created=12, rows_per_s=850.0)
        _run(kind=SyncKind.PEOPLE, seen=150, created=140, updated=3, unchanged=2, rejected=5)
        content = admin_client.get(RUNS).content.decode()
        assert 'data-testid="kind-companies"' in content and 'data-testid="kind-people"' in content
        assert "Mirror refreshed" in content and "4\xa0minutes ago" in content
        assert "850 rows/s" in content
        assert "Never synced" not in content

    def test_a_mirror_long_unsynced_is_flagged_stale_and_one_never_synced_says_so(
        self, admin_client
    ):
        old = timezone.now() - timedelta(hours=5)
        _run(kind=SyncKind.COMPANIES, started_at=old, finished_at=old)
        _run(kind=SyncKind.PEOPLE, status=SyncStatus.FAILED, error="Cannot reach ITSM")
        content = admin_client.get(RUNS).content.decode()
        assert content.count(">Stale<") == 1
        assert "Mirror refreshed <strong" in content and "5\xa0hours ago" in content
        assert "<strong>Never synced</strong>" in content and "Cannot reach ITSM" in content

    def test_a_sync_a_moment_ago_reads_just_now(self, admin_client):
        _run(kind=SyncKind.PEOPLE, finished_at=timezone.now())
        assert ">just now</strong>" in admin_client.get(RUNS).content.decode()

    def test_it_polls_every_2_seconds_only_while_a_run_is_running(self, admin_client):
        _run(kind=SyncKind.COMPANIES)
        assert 'hx-trigger="every 2s"' not in admin_client.get(RUNS).content.decode()

        running = _run(kind=SyncKind.PEOPLE, status=SyncStatus.RUNNING, seen=400, pages=4)
        content = admin_client.get(RUNS).content.decode()
        assert 'hx-trigger="every 2s"' in content
        assert 'data-testid="progress-people"' in content and "Read <strong>400</strong>" in content

        running.status = SyncStatus.SUCCEEDED
        running.finished_at = timezone.now()
        running.save()
        partial = admin_client.get(RUNS, headers=LIVE).content.decode()
        assert 'id="live"' in partial and 'hx-trigger="every 2s"' not in partial

    def test_the_poll_gets_only_the_live_region(self, admin_client):
        _run(status=SyncStatus.RUNNING)
        response = admin_client.get(RUNS, headers=LIVE)
        content = response.content.decode()
        assert content.lstrip().startswith('<div id="live"')
        assert "<html" not in content and "More options" not in content
        assert "HX-Target" in response["Vary"]

    def test_a_run_waiting_for_approval_is_pointed_out(self, admin_client):
        run = _run(
            status=SyncStatus.NEEDS_APPROVAL,
            mode=SyncMode.FULL,
            planned_deactivations=700,
            active_before=1000,
            deactivation_limit=500,
        )
        content = admin_client.get(RUNS).content.decode()
        assert f"Run #{run.pk} stopped before changing anything" in content
        assert "it would deactivate 700 of 1,000 active people" in content

    def test_dry_run_counts_are_shown_as_planned(self, admin_client):
        _run(dry_run=True, planned_creates=33)
        content = admin_client.get(RUNS).content.decode()
        assert "Would create" in content and 'title="Planned, not applied">33<' in content

    def test_runs_are_keyset_paginated_and_filterable(self, admin_client):
        start = timezone.now() - timedelta(days=1)
        SyncRun.objects.bulk_create(
            SyncRun(
                kind=SyncKind.PEOPLE if i % 2 else SyncKind.COMPANIES,
                status=SyncStatus.FAILED if i % 10 == 0 else SyncStatus.SUCCEEDED,
                started_at=start + timedelta(minutes=i),
                finished_at=start + timedelta(minutes=i, seconds=3),
            )
            for i in range(120)
        )
        first = admin_client.get(RUNS).context["page"]
        second = admin_client.get(RUNS, {"after": first.next_cursor}).context["page"]
        third = admin_client.get(RUNS, {"after": second.next_cursor}).context["page"]
        ids = [r.pk for r in first.rows + second.rows + third.rows]
        assert len(ids) == len(set(ids)) == 120 and third.next_cursor is None
        failed = admin_client.get(RUNS, {"kind": "companies", "status": "failed"}).context["page"]
        assert {(r.kind, r.status) for r in failed.rows} == {("companies", "failed")}
        assert len(failed.rows) == 12

    @pytest.mark.parametrize("runs", [10, 2000])
    def test_the_query_count_does_not_grow_with_runs(
        self, admin_client, runs, django_assert_max_num_queries
    ):
        start = timezone.now() - timedelta(days=30)
        SyncRun.objects.bulk_create(
            SyncRun(
                kind=SyncKind.PEOPLE if i % 2 else SyncKind.COMPANIES,
                status=SyncStatus.SUCCEEDED,
                started_at=start + timedelta(minutes=i),
                finished_at=start + timedelta(minutes=i, seconds=3),
            )
            for i in range(runs)
        )
        # Session, user, two permission reads, navigation, the top bar's company; the status of
        # each kind (last run, last success, running, awaiting approval) and the watermarks;
        # the page of runs; two to spare for the navigation.
        with django_assert_max_num_queries(18):
            assert admin_client.get(RUNS).status_code == 200

    def test_an_unconfigured_source_is_said_and_the_buttons_are_off(self, admin_client, no_source):
        content = admin_client.get(RUNS).content.decode()
        assert "No ITSM source is configured: set ITSM_URL" in content
        assert content.count(" disabled><i class=") == 3

    def test_the_configured_source_is_named_without_its_password(self, admin_client, itsm_env):
        content = admin_client.get(RUNS).content.decode()
        assert f"AR System REST API at {itsm_env.url} as Demo" in content
        assert "ITSM_PASSWORD" not in content


# -- starting runs ----------------------------------------------------------------------------


class TestRunStart:
    def test_sync_now_mirrors_companies_then_people_and_returns_to_the_sync_page(
        self, admin_client, itsm_env, system_admin
    ):
        response = admin_client.post(START, {"kind": "all"})
        assert response.status_code == 302 and response.url == RUNS
        assert _messages(response) == [
            "Incremental sync started: companies, then people. Its progress shows below."
        ]
        runs = list(SyncRun.objects.order_by("id"))
        assert [(r.kind, r.mode, r.dry_run, r.status) for r in runs] == [
            (SyncKind.COMPANIES, SyncMode.INCREMENTAL, False, SyncStatus.SUCCEEDED),
            (SyncKind.PEOPLE, SyncMode.INCREMENTAL, False, SyncStatus.SUCCEEDED),
        ]
        assert (
            Company.objects.filter(
                entry_id__in=[c["Company Entry ID"] for c in itsm_env.companies()]
            ).count()
            == 12 - runs[0].rejected
        )
        assert Person.objects.count() == 150 - runs[1].rejected
        content = admin_client.get(RUNS).content.decode()
        assert content.count("status-succeeded") >= 2

    def test_a_dry_run_changes_nothing_and_keeps_its_plan(self, admin_client, itsm_env):
        before = list(Company.objects.values_list("id", "name", "is_active"))
        response = admin_client.post(START, {"kind": "companies", "dry_run": "on", "full": "on"})
        assert _messages(response) == [
            "Dry run (full) started: companies. It changes nothing; open it below to review "
            "its plan."
        ]
        run = SyncRun.objects.get()
        assert (run.dry_run, run.mode, run.status) == (True, SyncMode.FULL, SyncStatus.SUCCEEDED)
        assert list(Company.objects.values_list("id", "name", "is_active")) == before
        plan = PlannedChange.objects.filter(run=run)
        assert run.planned_creates == plan.filter(action=PlanAction.CREATE).count() > 0

    def test_a_full_sync_of_one_kind(self, admin_client, itsm_env):
        admin_client.post(START, {"kind": "companies", "full": "on"})
        run = SyncRun.objects.get()
        assert (run.kind, run.mode, run.dry_run) == (SyncKind.COMPANIES, SyncMode.FULL, False)
        assert Company.objects.exists()

    def test_already_running_is_a_clear_message_not_an_error_page(self, admin_client, itsm_env):
        running = _run(kind=SyncKind.PEOPLE, status=SyncStatus.RUNNING)
        response = admin_client.post(START, {"kind": "all"}, follow=True)
        assert response.status_code == 200
        assert (
            f"A people sync is already running (run #{running.pk}, incremental, started by "
            "sysadmin). Nothing new was started" in response.content.decode()
        )
        assert SyncRun.objects.count() == 1

    @pytest.mark.django_db(transaction=True)
    def test_a_run_holding_the_lock_makes_the_new_one_say_already_running(
        self, client, system_admin, itsm_env
    ):
        client.force_login(system_admin)
        held, release = threading.Event(), threading.Event()

        def hold_the_lock() -> None:
            try:
                with locks.kind_lock(SyncKind.COMPANIES):
                    held.set()
                    release.wait(30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert held.wait(10)
            response = client.post(START, {"kind": "companies"}, follow=True)
        finally:
            release.set()
            holder.join(10)
        assert response.status_code == 200
        assert "A companies sync is already running" in response.content.decode()
        assert not SyncRun.objects.exists()

    def test_an_unreachable_source_says_what_to_check(self, admin_client, monkeypatch, settings):
        settings.ITSM_SYNC_RETRY_BACKOFF_SECONDS = 0
        monkeypatch.delenv("ITSM_FILE", raising=False)
        monkeypatch.setenv("ITSM_URL", "http://127.0.0.1:9")
        monkeypatch.setenv("ITSM_RETRIES", "0")
        response = admin_client.post(START, {"kind": "companies"}, follow=True)
        assert response.status_code == 200
        content = response.content.decode()
        assert "Cannot reach ITSM at http://127.0.0.1:9" in content
        assert "Check ITSM_URL" in content
        assert SyncRun.objects.filter(status=SyncStatus.FAILED).exists()

    def test_a_bad_login_says_to_check_the_user_and_password(
        self, admin_client, itsm_env, monkeypatch
    ):
        monkeypatch.setenv("ITSM_PASSWORD", "wrong")
        response = admin_client.post(START, {"kind": "all"}, follow=True)
        content = response.content.decode()
        assert "ITSM login failed for user &#x27;Demo&#x27;" in content
        assert "Check ITSM_USER and ITSM_PASSWORD." in content
        assert list(SyncRun.objects.values_list("kind", flat=True)) == [SyncKind.COMPANIES]

    def test_without_a_source_nothing_starts_and_it_says_what_to_set(self, admin_client, no_source):
        response = admin_client.post(START, {"kind": "all"})
        assert response.status_code == 302
        assert _messages(response) == [
            "Nothing was started. No ITSM source is configured: set ITSM_URL (with ITSM_USER "
            "and ITSM_PASSWORD) or ITSM_FILE to a JSON export."
        ]
        assert not SyncRun.objects.exists()

    @pytest.mark.parametrize("data", [{}, {"kind": "everything"}])
    def test_a_missing_or_crafted_kind_is_a_message(self, admin_client, itsm_env, data):
        response = admin_client.post(START, data)
        assert response.status_code == 302
        assert _messages(response) == ["Choose what to sync: companies, people, or both."]
        assert not SyncRun.objects.exists()

    def test_the_run_is_recorded_as_the_task_started_it(self, admin_client, itsm_env):
        admin_client.post(START, {"kind": "companies"})
        assert SyncRun.objects.get().source_label.startswith(f"AR System REST API {itsm_env.url}")


# -- one run ----------------------------------------------------------------------------------


class TestRunDetail:
    def test_it_shows_the_summary_and_the_error_in_plain_words(self, admin_client):
        run = _run(
            kind=SyncKind.COMPANIES,
            status=SyncStatus.PARTIAL,
            seen=300,
            created=200,
            pages=3,
            rows_per_s=1234.4,
            error="ITSM GET /api/arsys/v1/entry/COM:Company failed with HTTP 500. The 2 page(s) "
            "committed before it stay applied.",
            error_transient=True,
        )
        content = admin_client.get(_detail(run)).content.decode()
        assert f"Companies sync #{run.pk}" in content
        assert "The run stopped part way." in content and "HTTP 500" in content
        assert "often passes by itself" in content
        assert "1,234" in content and "42\xa0s" in content
        assert 'data-testid="nothing-to-review"' in content

    def test_a_dry_run_plan_shows_each_field_before_and_after(self, admin_client, itsm_env):
        company_sync(itsm_env, full=True)
        client = ARClient(itsm_env)
        target = next(c for c in itsm_env.companies() if c["Company Type"] == "Customer")
        client.update("COM:Company", target["Company Entry ID"], Status="Offline")
        client.close()
        admin_client.post(START, {"kind": "companies", "dry_run": "on"})
        run = SyncRun.objects.get(dry_run=True)
        assert run.planned_updates == 1

        content = admin_client.get(_detail(run)).content.decode()
        mirrored = Company.objects.get(entry_id=target["Company Entry ID"])
        assert mirrored.status == RecordStatus.ENABLED
        assert 'data-testid="plan-table"' in content
        assert reverse("itsm_sync:company_detail", kwargs={"pk": mirrored.pk}) in content
        assert '<span class="field-name">Status</span> <span class="before">Enabled</span>' in (
            content
        )
        assert '<span class="after">Offline</span>' in content

    def test_the_plan_is_keyset_paginated_and_filtered_by_change(self, admin_client):
        run = _run(dry_run=True, planned_creates=80, planned_deactivations=40)
        PlannedChange.objects.bulk_create(
            PlannedChange(
                run=run,
                key=f"PPL{i:06}",
                action=PlanAction.CREATE if i < 80 else PlanAction.DEACTIVATE,
                changes={"last_name": [None, f"Name {i}"]}
                if i < 80
                else {"is_active": [True, False]},
            )
            for i in range(120)
        )
        first = admin_client.get(_detail(run), {"tab": "plan"}).context["page"]
        second = admin_client.get(
            _detail(run), {"tab": "plan", "after": first.next_cursor}
        ).context["page"]
        third = admin_client.get(
            _detail(run), {"tab": "plan", "after": second.next_cursor}
        ).context["page"]
        keys = [c.key for c in first.rows + second.rows + third.rows]
        assert len(set(keys)) == 120 and third.next_cursor is None
        response = admin_client.get(_detail(run), {"tab": "plan", "action": "deactivate"})
        assert {c.action for c in response.context["page"].rows} == {"deactivate"}
        assert "Present in source" in response.content.decode()
        by_key = admin_client.get(_detail(run), {"tab": "plan", "key": "PPL00011"})
        assert [c.key for c in by_key.context["page"].rows] == [f"PPL00011{i}" for i in range(10)]

    def test_rejected_records_show_their_reason_with_raw_values_behind_details(self, admin_client):
        run = _run(rejected=2)
        RejectedRecord.objects.create(
            run=run,
            key="PPL1",
            reason="Unknown company 'Nowhere Inc': it is not in the mirror (sync companies first).",
            raw={"Person ID": "PPL1", "Company": "Nowhere Inc", "VIP": None},
        )
        RejectedRecord.objects.create(
            run=run, key="", reason="Not a record (expected an object of AR values).", raw="oops"
        )
        content = admin_client.get(_detail(run), {"tab": "rejected"}).content.decode()
        assert "Unknown company &#x27;Nowhere Inc&#x27;" in content
        assert "<details>" in content and "<summary" in content
        assert '<th scope="row">Company</th><td class="text-break">Nowhere Inc</td>' in content
        assert "(no key)" in content and "&quot;oops&quot;" in content

    def test_a_run_going_in_steps_says_which_and_when_it_waits_for_the_next(self, admin_client):
        run = _run(status=SyncStatus.RUNNING, mode="full", seen=50, pages=1)
        assert "step " not in admin_client.get(_detail(run)).content.decode()
        SyncRun.objects.filter(pk=run.pk).update(steps=3, paused_at=timezone.now())
        detail = admin_client.get(_detail(run)).content.decode()
        assert "step 3, waiting for its next task · running for" in detail
        SyncRun.objects.filter(pk=run.pk).update(steps=4, paused_at=None)
        panel = admin_client.get(RUNS).content.decode()
        assert "step 4 · running for" in panel

    def test_a_running_run_polls_and_reloads_once_it_has_finished(self, admin_client):
        run = _run(status=SyncStatus.RUNNING, seen=50, pages=1)
        content = admin_client.get(_detail(run)).content.decode()
        assert 'hx-trigger="every 2s"' in content and 'data-testid="run-progress"' in content
        headers = {"HX-Request": "true", "HX-Target": "run-summary"}
        partial = admin_client.get(_detail(run), headers=headers)
        assert partial.content.decode().lstrip().startswith('<div id="run-summary"')
        SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.SUCCEEDED)
        assert admin_client.get(_detail(run), headers=headers)["HX-Refresh"] == "true"


# -- approving a plan (S3) --------------------------------------------------------------------


@pytest.fixture
def guarded_run(acme) -> SyncRun:
    """A full people sync that stopped for approval: the source lists none of 600 active people."""
    now = timezone.now()
    Person.objects.bulk_create(
        Person(
            person_id=f"PPL{i:06}",
            first_name="Gone",
            last_name=f"Person {i}",
            company=acme,
            profile_status=RecordStatus.ENABLED,
            last_modified=now,
        )
        for i in range(600)
    )
    run = services.sync_people(source=ListSource(people=[]), full=True)
    assert run.status == SyncStatus.NEEDS_APPROVAL
    return run


class TestRunApprove:
    def test_the_confirmation_says_how_many_will_be_deactivated(self, admin_client, guarded_run):
        content = admin_client.get(_detail(guarded_run)).content.decode()
        assert "This plan waits for your approval" in content
        assert "Yes, deactivate 600 people that the source no longer lists" in content
        assert "Approve and apply" in content

    def test_without_the_confirmation_nothing_changes(self, admin_client, guarded_run):
        response = admin_client.post(_approve(guarded_run), {})
        assert response.status_code == 200
        assert (
            "Tick the box to confirm that 600 people are to be deactivated. Nothing was changed."
            in response.content.decode()
        )
        assert Person.objects.filter(is_active=True).count() == 600
        guarded_run.refresh_from_db()
        assert guarded_run.status == SyncStatus.NEEDS_APPROVAL

    def test_approving_applies_the_plan_and_records_who(
        self, admin_client, guarded_run, system_admin
    ):
        response = admin_client.post(_approve(guarded_run), {"confirm": "on"})
        assert response.status_code == 302 and response.url == _detail(guarded_run)
        assert _messages(response) == [
            f"Plan of run #{guarded_run.pk} approved and applied: 0 created, 0 updated, "
            "600 people deactivated."
        ]
        assert not Person.objects.filter(is_active=True).exists()
        guarded_run.refresh_from_db()
        assert guarded_run.status == SyncStatus.SUCCEEDED
        assert guarded_run.approved_by == system_admin
        assert AuditEvent.objects.filter(action="itsm_sync.approve", actor=system_admin).exists()

    def test_a_dry_run_cannot_be_approved(self, admin_client):
        run = _run(dry_run=True, mode=SyncMode.FULL, planned_deactivations=3)
        response = admin_client.post(_approve(run), {"confirm": "on"})
        assert response.status_code == 302
        assert "is a dry run; it only shows a plan" in _messages(response)[0]
        assert "Approve and apply" not in admin_client.get(_detail(run)).content.decode()


# -- the directories --------------------------------------------------------------------------


class TestCompanyDirectory:
    def test_it_searches_and_filters_by_type_and_status(self, admin_client):
        CompanyFactory(name="Acme Corp", abbreviation="ACME")
        CompanyFactory(name="Acme Tools", company_type=CompanyType.MANUFACTURER)
        CompanyFactory(name="Bright Media", status=RecordStatus.OFFLINE)
        CompanyFactory(name="Gone Ltd", is_active=False)

        def names(**query):
            return [c.name for c in admin_client.get(COMPANIES, query).context["page"].rows]

        assert names(query="acme") == ["Acme Corp", "Acme Tools"]
        assert names(company_type="Manufacturer") == ["Acme Tools"]
        assert names(status="Offline") == ["Bright Media"]
        assert "Gone Ltd" not in names()
        assert names(present="gone") == ["Gone Ltd"]
        assert names(company_type="Spaceship", status="x") == names()

    def test_htmx_search_gets_only_the_results(self, admin_client, acme):
        response = admin_client.get(COMPANIES, {"query": "acme"}, headers={"HX-Request": "true"})
        content = response.content.decode()
        assert 'id="results"' in content and "Acme Corp" in content and "<html" not in content

    def test_no_match_says_what_to_do(self, admin_client, acme):
        content = admin_client.get(COMPANIES, {"query": "zebra"}).content.decode()
        assert "No companies match these filters." in content

    @pytest.mark.parametrize("rows", [10, 2000])
    def test_the_query_count_does_not_grow_with_rows(
        self, admin_client, rows, django_assert_max_num_queries
    ):
        now = timezone.now()
        Company.objects.bulk_create(
            Company(
                entry_id=f"BULK{i:09}",
                name=f"Bulk company {i:05}",
                company_type=CompanyType.CUSTOMER,
                status=RecordStatus.ENABLED,
                last_modified=now,
            )
            for i in range(rows)
        )
        with django_assert_max_num_queries(10):
            assert admin_client.get(COMPANIES).status_code == 200
        with django_assert_max_num_queries(10):
            admin_client.get(
                COMPANIES, {"query": "bulk", "company_type": "Customer", "status": "Enabled"}
            )

    def test_the_detail_shows_the_itsm_fields_and_its_people(self, admin_client, acme):
        PersonFactory(company=acme, first_name="Alice", organization="Finance", department="AP")
        content = admin_client.get(
            reverse("itsm_sync:company_detail", kwargs={"pk": acme.pk})
        ).content.decode()
        assert acme.entry_id in content and "Company Entry ID" in content
        assert "Alice" in content and "Finance" in content and "AP" in content


@pytest.fixture
def directory(acme):
    bright = CompanyFactory(name="Bright Media")
    people = {
        "alice": PersonFactory(
            company=acme,
            first_name="Alice",
            last_name="Archer",
            organization="Finance",
            department="Payroll",
        ),
        "fred": PersonFactory(
            company=acme,
            first_name="Fred",
            last_name="Field",
            organization="Finance",
            department="Audit",
            client_type="Field-Based Employee",
        ),
        "ivan": PersonFactory(
            company=acme,
            first_name="Ivan",
            last_name="Ito",
            organization="IT",
            department="Desk",
            profile_status=RecordStatus.OFFLINE,
        ),
        "bob": PersonFactory(
            company=bright,
            first_name="Bob",
            last_name="Brown",
            organization="Sales",
            department="Inside",
        ),
    }
    return {"acme": acme, "bright": bright, **people}


def _people(client, **query) -> list[str]:
    return [p.first_name for p in client.get(PEOPLE, query).context["page"].rows]


class TestPersonDirectory:
    def test_it_searches_by_name_email_and_login(self, admin_client, directory):
        assert _people(admin_client, query="arch") == ["Alice"]
        assert _people(admin_client, query=directory["bob"].email) == ["Bob"]
        assert _people(admin_client, query=directory["ivan"].remedy_login_id) == ["Ivan"]

    def test_it_filters_by_company_organization_department_type_and_status(
        self, admin_client, directory
    ):
        acme = directory["acme"].pk
        assert _people(admin_client, company=acme) == ["Alice", "Fred", "Ivan"]
        assert _people(admin_client, company=acme, organization="Finance") == ["Alice", "Fred"]
        assert _people(admin_client, company=acme, organization="Finance", department="Audit") == [
            "Fred"
        ]
        assert _people(admin_client, client_type="Field-Based Employee") == ["Fred"]
        assert _people(admin_client, profile_status="Offline") == ["Ivan"]

    def test_organization_and_department_menus_are_those_of_the_chosen_company(
        self, admin_client, directory
    ):
        content = admin_client.get(PEOPLE).content.decode()
        assert "Choose a company first" in content and ">Sales<" not in content
        content = admin_client.get(
            PEOPLE, {"company": directory["acme"].pk, "organization": "Finance"}
        ).content.decode()
        assert '<option value="Finance" selected>' in content
        assert '<option value="IT">' in content and ">Sales<" not in content
        assert '<option value="Audit">' in content and '<option value="Desk">' not in content

    def test_changing_company_drops_an_organization_it_does_not_have(self, admin_client, directory):
        response = admin_client.get(
            PEOPLE,
            {"company": directory["bright"].pk, "organization": "Finance"},
            headers={"HX-Request": "true"},
        )
        assert [p.first_name for p in response.context["page"].rows] == ["Bob"]
        content = response.content.decode()
        assert 'id="place-filters" class="col-lg-6" hx-swap-oob="true"' in content
        assert '<option value="Sales">' in content and "Finance" not in content
        assert "<html" not in content

    def test_people_gone_from_the_source_are_hidden_unless_asked_for(self, admin_client, directory):
        Person.objects.filter(pk=directory["bob"].pk).update(is_active=False)
        assert "Bob" not in _people(admin_client)
        assert _people(admin_client, present="gone") == ["Bob"]
        assert "Bob" in _people(admin_client, present="all")

    def test_a_stale_or_crafted_filter_is_ignored(self, admin_client, directory):
        assert _people(admin_client, company="999999", profile_status="Nope") == _people(
            admin_client
        )

    def test_pages_follow_one_another_without_overlap(self, admin_client, acme):
        now = timezone.now()
        Person.objects.bulk_create(
            Person(
                person_id=f"PPL{i:06}",
                first_name=f"P{i:03}",
                last_name="Same",
                company=acme,
                profile_status=RecordStatus.ENABLED,
                last_modified=now,
            )
            for i in range(120)
        )
        first = admin_client.get(PEOPLE).context["page"]
        second = admin_client.get(PEOPLE, {"after": first.next_cursor}).context["page"]
        third = admin_client.get(PEOPLE, {"after": second.next_cursor}).context["page"]
        ids = [p.pk for p in first.rows + second.rows + third.rows]
        assert len(set(ids)) == 120 and third.next_cursor is None

    @pytest.mark.parametrize("rows", [10, 2000])
    def test_the_query_count_does_not_grow_with_rows(
        self, admin_client, rows, django_assert_max_num_queries
    ):
        now = timezone.now()
        companies = [CompanyFactory(name=f"Company {i}") for i in range(4)]
        Person.objects.bulk_create(
            Person(
                person_id=f"PPL{i:09}",
                first_name=f"First {i}",
                last_name=f"Last {i:05}",
                email=f"p{i}@example.com",
                company=companies[i % 4],
                organization=f"Org {i % 3}",
                department=f"Dept {i % 5}",
                client_type="Office-Based Employee",
                profile_status=RecordStatus.ENABLED,
                last_modified=now,
            )
            for i in range(rows)
        )
        with django_assert_max_num_queries(10):
            assert admin_client.get(PEOPLE).status_code == 200
        # Plus the chosen company's organizations and departments, in one query.
        with django_assert_max_num_queries(10):
            response = admin_client.get(
                PEOPLE,
                {
                    "query": "last",
                    "company": companies[0].pk,
                    "organization": "Org 0",
                    "department": "Dept 0",
                    "client_type": "Office-Based Employee",
                    "profile_status": "Enabled",
                },
            )
        assert response.context["page"].rows
        with django_assert_max_num_queries(10):
            admin_client.get(PEOPLE, {"company": companies[1].pk}, headers={"HX-Request": "true"})

    def test_the_detail_shows_the_itsm_fields_and_the_portal_account(self, admin_client, tenant_a):
        eve = tenant_a["eve"]
        url = reverse("itsm_sync:person_detail", kwargs={"pk": eve.person_id})
        content = admin_client.get(url).content.decode()
        assert eve.person.person_id in content and "Payroll" in content
        assert eve.username in content and "Active" in content

        eve.is_active = False
        eve.save()
        assert "Deactivated" in admin_client.get(url).content.decode()

    def test_a_person_without_an_account_says_so(self, admin_client, directory):
        url = reverse("itsm_sync:person_detail", kwargs={"pk": directory["bob"].pk})
        assert "No portal account." in admin_client.get(url).content.decode()


def test_a_run_started_from_the_page_records_who_started_it(client, system_admin, monkeypatch):
    from itsm_sync.models import SyncRun
    from itsm_sync.simulator import Simulator

    with Simulator(companies=6, people=20, seed=2, user="Demo", password="Demo") as sim:
        monkeypatch.setenv("ITSM_URL", sim.url)
        monkeypatch.setenv("ITSM_USER", "Demo")
        monkeypatch.setenv("ITSM_PASSWORD", "Demo")
        client.force_login(system_admin)
        client.post(reverse("itsm_sync:run_start"), {"kind": "companies"})
    run = SyncRun.objects.get(kind="companies")
    assert run.started_by == system_admin
    assert run.started_by_label == "sysadmin"


def test_the_company_filter_offers_a_bounded_list_and_finds_the_rest(client, system_admin):
    from itsm_sync.views import COMPANY_OPTIONS
    from tests.itsm_sync.factories import CompanyFactory

    for i in range(COMPANY_OPTIONS + 20):
        CompanyFactory(name=f"Company {i:04d}")
    client.force_login(system_admin)
    page = client.get(reverse("itsm_sync:person_list")).content.decode()
    assert "Company 0000" in page and f"Company {COMPANY_OPTIONS + 19:04d}" not in page
    found = client.get(reverse("itsm_sync:company_options"), {"company_q": "0119"}).content.decode()
    assert "Company 0119" in found and "Company 0000" not in found
    late = CompanyFactory(name="Zulu Late")
    chosen = client.get(reverse("itsm_sync:person_list"), {"company": late.pk}).content.decode()
    assert "Zulu Late" in chosen
