"""`manage.py sync_itsm`: runs, summary, exit codes, dry runs, files and approvals."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from itsm_sync import services
from itsm_sync.models import Company, Person, SyncKind, SyncRun, SyncStatus
from itsm_sync.sources import write_export
from tests.itsm_sync.sync_helpers import (
    PASSWORD,
    USER,
    mirror_companies,
    mirror_people,
    running_simulator,
    source_companies,
    source_people,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def sync_itsm(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_itsm", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def table_row(output: str, kind: str) -> dict[str, str]:
    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("run "))
    row = next(line for line in lines if line.startswith("#") and f"  {kind}  " in line)
    names = header.split()
    # "mode" may hold two words ("full dry run"): read the numbers from the right.
    cells = row.split()
    return dict(zip(names[4:], cells[-len(names[4:]) :], strict=True)) | {"status": cells[-10]}


def test_all_full_mirrors_the_source_and_prints_a_summary(itsm_env) -> None:
    out, _ = sync_itsm("--all", "--full")

    assert table_row(out, "companies")["created"] == "12"
    assert table_row(out, "people")["created"] == "300"
    assert table_row(out, "people")["status"] == "succeeded"
    assert Person.objects.count() == 300

    again, _ = sync_itsm("--all", "--full")

    people = table_row(again, "people")
    assert (people["created"], people["updated"], people["unchanged"]) == ("0", "0", "300")


def test_the_default_is_an_incremental_sync_of_both(itsm_env) -> None:
    sync_itsm()

    assert list(SyncRun.objects.order_by("id").values_list("kind", "mode")) == [
        (SyncKind.COMPANIES, "incremental"),
        (SyncKind.PEOPLE, "incremental"),
    ]


def test_people_only(itsm_env) -> None:
    sync_itsm("--companies")
    sync_itsm("--people")

    assert list(SyncRun.objects.order_by("id").values_list("kind", flat=True)) == [
        SyncKind.COMPANIES,
        SyncKind.PEOPLE,
    ]


def test_a_bad_login_exits_1_with_the_reason_and_skips_people(itsm_env, monkeypatch) -> None:
    monkeypatch.setenv("ITSM_PASSWORD", "wrong")

    with pytest.raises(CommandError) as exc:
        sync_itsm("--all")

    assert exc.value.returncode == 1
    assert list(SyncRun.objects.values_list("kind", "status")) == [
        (SyncKind.COMPANIES, SyncStatus.FAILED)
    ]
    assert "ITSM login failed for user 'Demo'" in SyncRun.objects.get().error


def test_an_unreachable_source_names_the_url_to_check(monkeypatch) -> None:
    monkeypatch.setenv("ITSM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ITSM_RETRIES", "0")

    with pytest.raises(CommandError) as exc:
        sync_itsm("--companies")

    assert exc.value.returncode == 1
    assert "Cannot reach ITSM at http://127.0.0.1:9" in SyncRun.objects.get().error
    assert "Check ITSM_URL" in SyncRun.objects.get().error


def test_no_source_configured_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.delenv("ITSM_URL", raising=False)
    monkeypatch.delenv("ITSM_FILE", raising=False)

    with pytest.raises(CommandError, match="No ITSM source is configured: set ITSM_URL"):
        sync_itsm()


def test_a_dry_run_prints_the_plan_and_changes_nothing(itsm_env) -> None:
    out, _ = sync_itsm("--all", "--dry-run")

    assert "(n) = planned by the dry run; nothing was changed." in out
    assert table_row(out, "companies")["created"] == "(12)"
    assert "plan (first 20):" in out
    assert "create" in out
    assert Company.objects.count() == 0


def test_a_json_export_can_be_the_source(sim, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ITSM_URL", raising=False)
    export = write_export(tmp_path / "itsm.json", sim.companies(), sim.people())

    out, _ = sync_itsm("--all", "--full", "--source", "file", "--file", str(export))

    assert table_row(out, "people")["created"] == "300"
    assert SyncRun.objects.filter(source_label=f"JSON export {export}").count() == 2


def test_source_file_without_a_path_says_what_to_pass(monkeypatch) -> None:
    monkeypatch.delenv("ITSM_FILE", raising=False)

    with pytest.raises(CommandError, match="pass --file PATH or set ITSM_FILE"):
        sync_itsm("--source", "file")


def test_itsm_page_size_above_the_servers_cap_still_mirrors_everything(itsm_env) -> None:
    itsm_env.set_faults(max_entries=40)  # ITSM_PAGE_SIZE is 100

    out, _ = sync_itsm("--all", "--full")

    assert table_row(out, "people")["created"] == "300"
    assert mirror_people() == source_people(itsm_env)
    assert mirror_companies() == source_companies(itsm_env)


def test_rejected_records_are_listed_with_their_reasons(itsm_env) -> None:
    sync_itsm("--companies")
    itsm_env.set_faults(malformed=2)

    out, _ = sync_itsm("--people")

    assert "rejected 2 record(s):" in out
    assert "(no key): No Person ID." in out
    assert "Malformed Last Modified Date 'not-a-date'." in out


@pytest.fixture
def big_env(monkeypatch):
    """Enough people for the S3 guard to matter."""
    for simulator in running_simulator(companies=8, people=700, seed=3):
        monkeypatch.delenv("ITSM_FILE", raising=False)
        for name, value in {
            "ITSM_URL": simulator.url,
            "ITSM_USER": USER,
            "ITSM_PASSWORD": PASSWORD,
            "ITSM_PAGE_SIZE": "200",
            "ITSM_RETRIES": "0",
        }.items():
            monkeypatch.setenv(name, value)
        yield simulator


def test_needs_approval_exits_2_and_approve_applies_the_plan(big_env) -> None:
    sync_itsm("--all", "--full")
    for person in big_env.people()[:600]:
        big_env.delete_person(person["Person ID"])

    with pytest.raises(CommandError) as exc:
        sync_itsm("--people", "--full")

    assert exc.value.returncode == 2
    run = SyncRun.objects.get(kind=SyncKind.PEOPLE, status=SyncStatus.NEEDS_APPROVAL)
    assert Person.objects.filter(is_active=True).count() == 700

    out, _ = sync_itsm("--approve", str(run.pk))

    assert table_row(out, "people")["deactivated"] == "600"
    assert Person.objects.filter(is_active=True).count() == 100
    with pytest.raises(CommandError, match="only a run that needs approval") as again:
        sync_itsm("--approve", str(run.pk))
    assert again.value.returncode == 1


def test_approving_an_unknown_run_says_so() -> None:
    with pytest.raises(CommandError, match="There is no sync run #999"):
        sync_itsm("--approve", "999")


def test_a_run_already_going_exits_3(itsm_env, monkeypatch) -> None:
    def busy(**kwargs):
        raise services.SyncAlreadyRunning("A companies sync is already running (run #1).")

    monkeypatch.setattr(services, "sync_companies", busy)

    with pytest.raises(CommandError, match="already running") as exc:
        sync_itsm("--companies")

    assert exc.value.returncode == 3


@pytest.mark.django_db(transaction=True)
def test_the_real_command_exits_0_and_a_second_run_changes_nothing(itsm_env) -> None:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
    }
    command = [sys.executable, "manage.py", "sync_itsm", "--all", "--full"]

    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    people = table_row(second.stdout, "people")
    assert (people["created"], people["updated"]) == ("0", "0")
    assert Person.objects.count() == 300
