"""Rule M3: MSP mode can be switched off again only while no customer has ever been added."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from customers.models import Customer
from customers.services import MspDisableRefused, msp_disable, msp_enable
from msp_portal.errors import NotAllowed
from msp_portal.models import AuditEvent, MspMode
from msp_portal.selectors import msp_mode_enabled
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _raw_switch_off() -> None:
    with transaction.atomic():
        MspMode.objects.filter(pk=1).update(enabled=False, enabled_at=None)


def test_a_system_administrator_switches_it_off_while_no_customer_was_ever_added(system_admin):
    msp_enable(actor=system_admin)
    mode = msp_disable(actor=system_admin)
    assert not mode.enabled and not msp_mode_enabled()
    assert mode.enabled_at is None and mode.enabled_by is None and mode.enabled_by_label == ""
    event = AuditEvent.objects.get(action="msp_mode.disable")
    assert event.actor == system_admin
    assert (event.before, event.after) == ({"enabled": True}, {"enabled": False})
    assert "sysadmin" in event.message


def test_once_off_again_it_can_be_switched_on_again(system_admin):
    msp_enable(actor=system_admin)
    msp_disable(actor=system_admin)
    msp_enable(actor=system_admin)
    assert msp_mode_enabled()
    assert AuditEvent.objects.filter(action="msp_mode.enable").count() == 2


def test_it_is_refused_with_the_reason_once_a_customer_exists(system_admin, tenant_a):
    with pytest.raises(MspDisableRefused) as refused:
        msp_disable(actor=system_admin)
    message = str(refused.value)
    assert "stays on for good" in message
    assert "the first customer was added on" in message
    assert msp_mode_enabled()
    assert not AuditEvent.objects.filter(action="msp_mode.disable").exists()


def test_a_customer_added_then_removed_still_keeps_it_on(system_admin, msp_enabled):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).delete()
    assert MspMode.objects.get().first_customer_at is not None
    with pytest.raises(MspDisableRefused, match="stays on for good"):
        msp_disable(actor=system_admin)
    assert msp_mode_enabled()


def test_only_system_administrators_can_switch_it_off(catalog_admin, msp_enabled):
    with pytest.raises(NotAllowed, match="Only system administrators can switch MSP mode off"):
        msp_disable(actor=catalog_admin)
    assert msp_mode_enabled()


def test_switching_off_while_off_changes_nothing(system_admin):
    msp_disable(actor=system_admin)
    assert not msp_mode_enabled()
    assert not AuditEvent.objects.filter(action="msp_mode.disable").exists()


# --- The command line ---------------------------------------------------------------------------


def test_the_operator_switches_it_off_with_enable_msp_disable(capsys, msp_enabled):
    call_command("enable_msp", "--disable")
    assert "MSP mode: disabled" in capsys.readouterr().out
    assert not msp_mode_enabled()
    assert AuditEvent.objects.get(action="msp_mode.disable").actor_label == (
        "operator (command line)"
    )


def test_the_command_refuses_once_a_customer_was_added(capsys, msp_enabled):
    CustomerFactory()
    with pytest.raises(CommandError, match="MSP mode was not switched off") as error:
        call_command("enable_msp", "--disable")
    assert error.value.returncode == 1
    assert "stays on for good" in capsys.readouterr().err
    assert msp_mode_enabled()


# --- The database itself (PostgreSQL; the demo's SQLite below) ------------------------------


def test_the_database_lets_it_go_off_while_no_customer_was_ever_added(msp_enabled):
    _raw_switch_off()
    assert not msp_mode_enabled()


def test_the_database_keeps_it_on_once_a_customer_was_added_even_after_removal(msp_enabled):
    customer = CustomerFactory()
    with pytest.raises(IntegrityError):
        _raw_switch_off()
    Customer.objects.filter(pk=customer.pk).delete()
    with pytest.raises(IntegrityError):
        _raw_switch_off()
    with pytest.raises(IntegrityError), transaction.atomic():
        MspMode.objects.filter(pk=1).update(first_customer_at=None)
    assert msp_mode_enabled()


def test_the_database_records_the_first_customer_only_once(msp_enabled):
    CustomerFactory()
    first = MspMode.objects.get().first_customer_at
    CustomerFactory()
    assert MspMode.objects.get().first_customer_at == first


def test_the_database_refuses_a_customer_while_msp_mode_is_recorded_off(system_admin):
    msp_enable(actor=system_admin)
    msp_disable(actor=system_admin)
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory()
    assert not Customer.objects.exists()


def test_the_database_refuses_to_delete_the_record_while_on(msp_enabled):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM msp_portal_mspmode")
    assert msp_mode_enabled()


SQLITE_SCENARIO = """
import json
from django.db import IntegrityError, transaction
from customers.models import Customer
from msp_portal.models import MspMode
from django.utils import timezone
from tests.customers.factories import CustomerFactory

def attempt(action):
    try:
        with transaction.atomic():
            action()
        return "allowed"
    except IntegrityError as error:
        return "refused: " + str(error)

def switch(on):
    def action():
        MspMode.objects.filter(pk=1).update(enabled=on, enabled_at=timezone.now() if on else None)
    return action

MspMode.objects.create(pk=1, enabled=True, enabled_at=timezone.now())
steps = {"off while no customer": attempt(switch(False))}
steps["customer while off"] = attempt(lambda: CustomerFactory())
switch(True)()
steps["customer while on"] = attempt(lambda: CustomerFactory())
steps["recorded"] = MspMode.objects.get().first_customer_at is not None
steps["off with a customer"] = attempt(switch(False))
Customer.objects.all().delete()
steps["off after its removal"] = attempt(switch(False))
steps["clearing the record"] = attempt(
    lambda: MspMode.objects.filter(pk=1).update(first_customer_at=None)
)
print(json.dumps(steps))
"""


def test_the_sqlite_triggers_allow_exactly_the_same(tmp_path):
    """The demo runs on SQLite: its triggers hold the same rule, checked on a migrated file."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    result = subprocess.run(
        [*manage, "shell", "-c", SQLITE_SCENARIO],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout.strip().splitlines()[-1])
    assert steps["off while no customer"] == "allowed"
    assert steps["customer while off"].startswith("refused: MSP mode is off")
    assert steps["customer while on"] == "allowed"
    assert steps["recorded"] is True
    assert steps["off with a customer"].startswith("refused: MSP mode stays on")
    assert steps["off after its removal"].startswith("refused: MSP mode stays on")
    assert steps["clearing the record"].startswith("refused: The date of the first customer")
