"""`make run`: the demo's environment as the Makefile gives it, and what the demo does with it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.urls import reverse

from itsm_sync.models import Company, Person, SyncRun, SyncStatus

ROOT = Path(__file__).resolve().parents[2]
DEMO_PORT = "8101"


def demo_env(port: str = DEMO_PORT) -> dict[str, str]:
    """What `make run PORT=<port>` puts in the environment of migrate, seed_demo and runserver."""
    # Not the variables of a `make test` around this run: this make must read only the Makefile.
    outer = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "HOST", "PORT", "TWO_FACTOR_REQUIRED"}
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "demo-env", f"PORT={port}"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in outer},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return dict(line.split("=", 1) for line in printed.splitlines())


def test_the_demo_links_to_the_port_it_serves():
    assert demo_env("8101")["PORTAL_BASE_URL"] == "http://127.0.0.1:8101"
    assert demo_env("8000")["PORTAL_BASE_URL"] == "http://127.0.0.1:8000"


def test_demo_mail_lands_in_demo_mail_at_the_project_root():
    config = environ.Env.email_url_config(demo_env()["EMAIL_URL"])
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert Path(config["EMAIL_FILE_PATH"]) == ROOT / "demo-mail"


@pytest.mark.django_db
def test_the_demo_sync_page_reads_the_shipped_export_and_syncs(client, system_admin, monkeypatch):
    env = demo_env()
    assert Path(env["ITSM_FILE"]) == ROOT / "itsm_sync" / "demo" / "demo_itsm.json"
    for name in ("ITSM_URL", "ITSM_USER", "ITSM_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ITSM_FILE", env["ITSM_FILE"])
    client.force_login(system_admin)

    content = client.get(reverse("itsm_sync:run_list")).content.decode()
    assert "can't reach a source" not in content
    assert "Source: JSON export" in content and "demo_itsm.json" in content

    client.post(reverse("itsm_sync:run_start"), {"kind": "all"})
    runs = SyncRun.objects.all()
    assert [run.status for run in runs] == [SyncStatus.SUCCEEDED, SyncStatus.SUCCEEDED]
    assert Company.objects.count() == 24
    assert Person.objects.count() == 400


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_demo_seeds_with_logins_and_invitations_for_its_port_and_no_task_chatter(tmp_path):
    """migrate and seed_demo as `make run PORT=8101` runs them, on a database of this test."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        **demo_env(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "EMAIL_URL": f"filemail:///{tmp_path / 'demo-mail'}",
    }
    env.pop("SECRET_KEY", None)
    migrate = _manage(env, "migrate", "--no-input", "-v", "0")
    assert migrate.returncode == 0, migrate.stderr
    seed = _manage(env, "seed_demo")
    assert seed.returncode == 0, seed.stderr
    output = seed.stdout + seed.stderr
    assert f"Demo logins (http://127.0.0.1:{DEMO_PORT}/):" in output
    assert "sysadmin / demo-sysadmin" in output
    assert f"links to http://127.0.0.1:{DEMO_PORT}/" in output
    assert "Task " not in output and "celery" not in output.lower()

    mails = [path.read_text() for path in (tmp_path / "demo-mail").iterdir()]
    links = [link for mail in mails for link in re.findall(r"https?://\S+", mail)]
    assert links, "seed_demo wrote no invitation"
    assert all(link.startswith(f"http://127.0.0.1:{DEMO_PORT}/") for link in links)


def test_a_command_s_help_needs_neither_debug_nor_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = _manage(env, "seed_demo", "--help")
    assert result.returncode == 0, result.stderr
    assert "--without-msp" in result.stdout
    # Anything that does more than print help still refuses to start without a secret key.
    refused = _manage(env, "check")
    assert refused.returncode != 0
    assert "SECRET_KEY is required" in refused.stderr
