"""A system administrator mirrors the ITSM source: a dry run first, its plan, then the real sync,
and the people it brought in — against the AR System simulator over HTTP."""

import re

import pytest
from playwright.sync_api import expect

from itsm_sync.models import CompanyType, Person, SyncRun, SyncStatus
from itsm_sync.simulator import PROVIDER_COMPANY, Simulator
from tests.accounts.factories import PASSWORD
from tests.itsm_sync.factories import CompanyFactory

from .conftest import login

pytestmark = pytest.mark.e2e

CUSTOMER = "Prairie Logistics Holdings"


@pytest.fixture
def sim(monkeypatch):
    simulator = Simulator(companies=12, people=150, seed=3)
    simulator.start(port=0)
    monkeypatch.delenv("ITSM_FILE", raising=False)
    for name, value in {
        "ITSM_URL": simulator.url,
        "ITSM_USER": "Demo",
        "ITSM_PASSWORD": "Demo",
        "ITSM_PAGE_SIZE": "50",
        "ITSM_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.stop()


@pytest.fixture
def provider_company(db, sim):
    """The MSP's own company, already known to the portal under its ITSM entry id."""
    calbro = next(c for c in sim.companies() if c["Company"] == PROVIDER_COMPANY)
    return CompanyFactory(
        name=PROVIDER_COMPANY,
        entry_id=calbro["Company Entry ID"],
        company_type=CompanyType.SERVICE_PROVIDER,
    )


def test_a_system_administrator_syncs_people_from_itsm(page, shot, system_admin, sim):
    login(page, "sysadmin", PASSWORD)
    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="ITSM sync").click()
    expect(page.get_by_test_id("run-table")).to_contain_text("No sync has run yet.")
    expect(page.get_by_test_id("sync-source")).to_contain_text(sim.url)
    shot(page, "50-itsm-sync-empty")

    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("alert")).to_contain_text("Dry run (incremental) started")
    expect(page.get_by_test_id("kind-companies")).to_contain_text("Would create")
    assert not Person.objects.exists()
    shot(page, "51-itsm-dry-run")

    companies_run = SyncRun.objects.get(kind="companies", dry_run=True)
    page.get_by_test_id("run-table").get_by_role("link", name=f"#{companies_run.pk}").click()
    expect(page.get_by_test_id("run-status")).to_contain_text("Dry run")
    plan = page.get_by_test_id("plan-table")
    expect(plan).to_contain_text("Create")
    expect(plan).to_contain_text(CUSTOMER)
    shot(page, "52-itsm-dry-run-plan")

    # People can't be planned before their companies are in the mirror: the dry run says why.
    page.go_back()
    people_dry_run = SyncRun.objects.get(kind="people", dry_run=True)
    page.get_by_test_id("run-table").get_by_role("link", name=f"#{people_dry_run.pk}").click()
    page.get_by_role("link", name=re.compile("Rejected records")).click()
    rejected = page.get_by_test_id("rejected-table")
    expect(rejected).to_contain_text("it is not in the mirror (sync companies first)")
    rejected.get_by_text("Raw values").first.click()
    expect(rejected.locator("details").first).to_contain_text("Person ID")
    shot(page, "53-itsm-dry-run-rejected")

    nav.get_by_role("link", name="ITSM sync").click()
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("alert")).to_contain_text("Incremental sync started")
    people_card = page.get_by_test_id("kind-people")
    expect(people_card).to_contain_text("Succeeded")
    expect(page.get_by_test_id("kind-companies")).to_contain_text("Succeeded")
    people_run = SyncRun.objects.get(kind="people", dry_run=False)
    assert people_run.status == SyncStatus.SUCCEEDED
    expect(page.get_by_test_id("counts-people")).to_contain_text(str(people_run.created))
    expect(page.get_by_test_id("staleness-people")).to_have_text("just now")
    assert Person.objects.count() == people_run.created > 0
    shot(page, "54-itsm-sync-succeeded")

    nav.get_by_role("link", name=re.compile(r"^\W*People$")).click()
    page.get_by_label("Company", exact=True).select_option(label=CUSTOMER)
    organization = page.get_by_label("Organization")
    expect(organization).to_be_enabled()
    first_org = organization.locator("option").nth(1).text_content()
    organization.select_option(label=first_org)
    table = page.get_by_test_id("person-table")
    expect(page).to_have_url(re.compile(f"organization={re.escape(first_org.replace(' ', '+'))}"))
    expect(table.locator("tbody tr").first).to_contain_text(first_org)
    expected = Person.objects.filter(company__name=CUSTOMER, organization=first_org).count()
    expect(table.locator("tbody tr")).to_have_count(expected)
    shot(page, "55-people-filtered")

    table.locator("tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("person-fields")).to_contain_text(CUSTOMER)
    expect(page.get_by_test_id("person-fields")).to_contain_text(first_org)
    expect(page.get_by_test_id("portal-account")).to_contain_text("No portal account")
    shot(page, "56-person-detail")
    assert page.console_errors == []


@pytest.fixture
def guarded_run(provider_company):
    """A full people sync that stopped for approval: the source no longer lists 600 people."""
    from django.utils import timezone

    from itsm_sync import services
    from itsm_sync.models import RecordStatus
    from tests.itsm_sync.sync_helpers import ListSource

    company = CompanyFactory(name=CUSTOMER)
    Person.objects.bulk_create(
        Person(
            person_id=f"PPL{i:06}",
            first_name="Former",
            last_name=f"Employee {i:03}",
            company=company,
            profile_status=RecordStatus.ENABLED,
            last_modified=timezone.now(),
        )
        for i in range(600)
    )
    return services.sync_people(source=ListSource(people=[]), full=True)


def test_a_mass_deactivation_waits_for_a_confirmed_approval(page, shot, system_admin, guarded_run):
    login(page, "sysadmin", PASSWORD)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="ITSM sync"
    ).click()
    expect(page.get_by_test_id("awaiting-people")).to_contain_text("would deactivate 600")
    page.get_by_test_id("awaiting-people").get_by_role("link", name="Review the plan").click()

    expect(page.get_by_test_id("approve-card")).to_contain_text("Yes, deactivate 600 people")
    expect(page.get_by_test_id("plan-table")).to_contain_text("Deactivate")
    page.get_by_role("button", name="Approve and apply").click()
    expect(page.get_by_test_id("approve-error")).to_contain_text("Tick the box to confirm")
    assert Person.objects.filter(is_active=True).count() == 600
    shot(page, "57-itsm-approval-needs-confirmation")

    page.get_by_label("Yes, deactivate 600 people that the source no longer lists").check()
    page.get_by_role("button", name="Approve and apply").click()
    expect(page.get_by_role("alert")).to_contain_text("600 people deactivated")
    expect(page.get_by_test_id("run-status")).to_contain_text("Succeeded")
    assert not Person.objects.filter(is_active=True).exists()
    shot(page, "58-itsm-approval-applied")
    assert page.console_errors == []


def test_a_full_sync_paused_between_steps_shows_so_and_keeps_new_runs_out(
    page, shot, system_admin, sim
):
    from itsm_sync import services
    from itsm_sync.sources import open_source

    with open_source() as source:
        services.sync_companies(source=source, full=True)
        paused = services.sync_people(source=source, full=True, step_seconds=0)
    assert paused.is_paused

    login(page, "sysadmin", PASSWORD)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="ITSM sync"
    ).click()
    progress = page.get_by_test_id("progress-people")
    expect(progress).to_contain_text("step 1, waiting for its next task")
    expect(progress).to_contain_text("Read 50 records in 1 page")
    # Its first step's time is kept for the total, but a run still going has no duration yet.
    row = page.get_by_test_id("run-table").locator("tbody tr").first
    expect(row).to_contain_text(f"#{paused.pk} People")
    expect(row.locator("td").nth(3)).to_have_text("—")
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"A people sync is already running (run #{paused.pk}"
    )
    shot(page, "59-itsm-sync-paused-between-steps")

    with open_source() as source:
        run = services.sync_continue(run_id=paused.pk, source=source)
    assert (run.status, run.steps) == (SyncStatus.SUCCEEDED, 2)
    page.reload()
    expect(page.get_by_test_id("kind-people")).to_contain_text("Succeeded")
    assert page.console_errors == []
