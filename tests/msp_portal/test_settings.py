import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!pQ2#zR9@vL4$kT8^wN1&mB6*cF3(hJ5)dS0-gY2+eU7=aK9_iO4~rW1%tX8",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"HTTPS_ONLY", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_refuses_an_unknown_deployment_mode():
    result = _manage("check", **PRODUCTION_ENV, DEPLOYMENT_MODE="cloud")
    assert result.returncode != 0
    assert "DEPLOYMENT_MODE must be 'onprem' or 'saas'" in result.stderr


def test_celery_runs_eagerly_without_a_broker_and_the_visibility_timeout_outlasts_tasks():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT


def test_every_environment_variable_is_documented_in_env_example():
    import re

    read = set(
        re.findall(r'env(?:\.\w+)?\("([A-Z_]+)"', (ROOT / "msp_portal" / "settings.py").read_text())
    )
    read |= set(re.findall(r'"(ITSM_[A-Z_]+)"', (ROOT / "itsm_sync" / "sources.py").read_text()))
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()


def test_sessions_are_read_from_the_cache_only_when_the_cache_is_shared():
    show = ("shell", "-c", "from django.conf import settings; print(settings.SESSION_ENGINE)")
    shared = _manage(*show, **PRODUCTION_ENV, CACHE_URL="redis://127.0.0.1:6379/15")
    assert shared.stdout.strip().endswith("sessions.backends.cached_db"), shared.stderr
    for per_process in ("", "locmemcache://", "filecache:///tmp/portal-cache"):
        local = _manage(*show, **PRODUCTION_ENV, CACHE_URL=per_process)
        assert local.stdout.strip().endswith("sessions.backends.db"), (per_process, local.stderr)
