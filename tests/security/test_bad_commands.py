"""Bad input on every management command of the project: a clear error, never a crash.

Hypothesis builds invocations from each command's own options mixed with hostile tokens. Each
must end normally or with a CommandError (argparse's usage errors included) and leave the
invariants of the bad-input harness intact.
"""

import contextlib

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_bad_input import invariants_hold

PROJECT_APPS = (
    "accounts",
    "catalog",
    "credits",
    "customers",
    "entitlements",
    "itsm_sync",
    "msp_portal",
)
# Commands that serve or load until stopped, or build the demo: their options are tested in
# their own modules (tests/itsm_sync/test_simulator.py, tests/entitlements/test_seed_demo.py).
LONG_RUNNING = {"itsm_simulator", "seed_demo"}
HOSTILE = st.sampled_from(
    [
        "",
        "-1",
        "0",
        "999999999",
        "1e309",
        "NaN",
        "abc",
        "\u202e",
        "💥",
        "x" * 5000,
        "--",
        "-",
        "--nope",
        "Acme Corp",
        "Global",
        "12.5",
        "-12.5",
    ]
)


def project_commands() -> dict[str, str]:
    return {
        name: app
        for name, app in get_commands().items()
        if app in PROJECT_APPS and name not in LONG_RUNNING
    }


def _options(name: str) -> list[str]:
    from django.core.management import load_command_class

    command = load_command_class(project_commands()[name], name)
    parser = command.create_parser("manage.py", name)
    options = []
    for action in parser._actions:
        options += [
            o
            for o in action.option_strings
            if o
            not in (
                "-h",
                "--help",
                "--version",
                "--traceback",
                "--no-color",
                "--force-color",
                "--skip-checks",
                "--pythonpath",
                "--settings",
            )
        ]
    return options


def test_the_project_has_the_commands_the_issues_name():
    assert {"enable_msp", "msp_status", "apply_user_filters", "credits", "sync_itsm"} <= set(
        project_commands()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(project_commands()))
def test_hostile_arguments_end_in_a_clear_error(name, tenant_a, monkeypatch):
    monkeypatch.setenv("ITSM_URL", "http://127.0.0.1:9")  # nothing listens there: fails fast
    monkeypatch.setenv("ITSM_RETRIES", "0")
    options = _options(name)
    token = st.one_of(HOSTILE, st.sampled_from(options)) if options else HOSTILE

    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(argv=st.lists(token, min_size=1, max_size=4))
    def run(argv):
        # A clear refusal (argparse usage errors and exit codes included) is fine; anything
        # else escaping fails the test.
        with contextlib.suppress(CommandError, SystemExit):
            call_command(name, *argv)
        invariants_hold()

    run()
