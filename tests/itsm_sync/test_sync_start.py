"""sync_run_start: the one way a person starts a sync (the run list page and the API call it)."""

import pytest
from django.utils import timezone

from itsm_sync.models import Company, SyncKind, SyncRun, SyncStatus
from itsm_sync.services import NotAllowed, SyncRunGoing, sync_run_start
from msp_portal.errors import DomainError


def _running(kind: str) -> SyncRun:
    return SyncRun.objects.create(
        kind=kind, status=SyncStatus.RUNNING, started_at=timezone.now(), started_by_label="ops"
    )


def test_it_runs_the_kinds_task(catalog_admin, itsm_env):
    sync_run_start(actor=catalog_admin, kind=SyncKind.COMPANIES, full=False, dry_run=False)

    run = SyncRun.objects.get()
    assert (run.kind, run.status, run.started_by) == (
        SyncKind.COMPANIES,
        SyncStatus.SUCCEEDED,
        catalog_admin,
    )
    assert Company.objects.exists()


def test_it_requires_the_sync_role(customer_admin, itsm_env):
    with pytest.raises(NotAllowed, match="MSP staff holding the sync role"):
        sync_run_start(actor=customer_admin, kind=SyncKind.COMPANIES, full=False, dry_run=False)

    assert not SyncRun.objects.exists()


def test_all_is_refused_while_a_people_run_is_going(catalog_admin, itsm_env):
    going = _running(SyncKind.PEOPLE)

    with pytest.raises(SyncRunGoing) as refused:
        sync_run_start(actor=catalog_admin, kind="all", full=False, dry_run=False)

    assert str(refused.value) == (
        f"A people sync is already running (run #{going.pk}, incremental, started by ops). "
        "Nothing new was started; try again once it has finished."
    )
    assert list(SyncRun.objects.all()) == [going]


def test_one_kind_starts_while_the_other_is_going(catalog_admin, itsm_env):
    going = _running(SyncKind.PEOPLE)

    sync_run_start(actor=catalog_admin, kind=SyncKind.COMPANIES, full=False, dry_run=False)

    assert SyncRun.objects.exclude(pk=going.pk).get().kind == SyncKind.COMPANIES


def test_without_a_source_nothing_starts_and_it_says_what_to_set(catalog_admin, monkeypatch):
    monkeypatch.delenv("ITSM_URL", raising=False)
    monkeypatch.delenv("ITSM_FILE", raising=False)

    with pytest.raises(DomainError, match=r"Nothing was started\..*ITSM_URL"):
        sync_run_start(actor=catalog_admin, kind=SyncKind.PEOPLE, full=False, dry_run=False)

    assert not SyncRun.objects.exists()
