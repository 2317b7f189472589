"""Rules M1–M4 at the service level: readiness, enabling, refusals and the SaaS path."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from accounts.models import PeopleGroup
from customers.models import MspModeRequest
from customers.readiness import msp_readiness
from customers.services import MspEnableRefused, msp_enable, msp_request_file
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.installation import installation_record_release, running_release
from msp_portal.models import AuditEvent, MspMode
from msp_portal.selectors import msp_mode_enabled
from tests.accounts.factories import PeopleGroupFactory, UserFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _blocker_keys() -> set[str]:
    return {c.key for c in msp_readiness().blockers}


def test_a_fresh_install_is_ready():
    readiness = msp_readiness()
    assert readiness.ready
    assert [c.key for c in readiness.criteria] == [
        "fresh_install",
        "no_external_users",
        "no_collaboration_groups",
        "deployment_mode",
    ]


def test_the_first_migrate_records_the_release_and_no_upgrade(django_db_setup):
    from msp_portal.models import Installation, ReleaseChange

    installation = Installation.objects.get()
    assert installation.installed_release == installation.current_release == running_release()
    assert not ReleaseChange.objects.exists()


def test_an_upgraded_install_is_refused_and_the_upgrade_is_named():
    installation_record_release(release="99.0")
    assert _blocker_keys() == {"fresh_install"}
    with pytest.raises(MspEnableRefused) as refused:
        msp_enable(actor=None)
    assert "upgraded from 1.0.0 to 99.0" in str(refused.value)
    assert not msp_mode_enabled()


def test_migrating_again_under_the_same_release_is_not_an_upgrade():
    installation_record_release(release=running_release())
    assert msp_readiness().ready


def test_a_release_running_without_migrate_counts_as_an_upgrade(monkeypatch):
    monkeypatch.setenv("MSP_PORTAL_RELEASE", "2.0")
    assert _blocker_keys() == {"fresh_install"}
    assert "now runs 2.0" in msp_readiness().blockers[0].detail


def test_an_external_user_blocks_readiness_with_its_name():
    UserFactory(username="contractor-jo", is_external=True)
    blocker = msp_readiness().blockers[0]
    assert blocker.key == "no_external_users"
    assert "contractor-jo" in blocker.detail
    assert "Delete" in blocker.remedy


def test_a_collaboration_group_blocks_readiness_with_its_name():
    PeopleGroupFactory(name="Shared helpers", open_to_collaborators=True)
    blocker = msp_readiness().blockers[0]
    assert blocker.key == "no_collaboration_groups"
    assert "Shared helpers" in blocker.detail


def test_enabling_refuses_with_every_reason_at_once():
    installation_record_release(release="99.0")
    UserFactory(is_external=True)
    PeopleGroupFactory(open_to_collaborators=True)
    with pytest.raises(MspEnableRefused) as refused:
        msp_enable(actor=None)
    assert len(refused.value.messages) == 3
    assert not AuditEvent.objects.filter(action="msp_mode.enable").exists()


def test_enabling_switches_it_on_and_is_audited(system_admin):
    msp_enable(actor=system_admin)
    mode = MspMode.objects.get()
    assert mode.enabled and mode.enabled_by == system_admin
    event = AuditEvent.objects.get(action="msp_mode.enable")
    assert event.actor == system_admin
    assert (event.before, event.after) == ({"enabled": False}, {"enabled": True})


def test_enabling_twice_keeps_it_on_without_a_second_event():
    msp_enable(actor=None)
    msp_enable(actor=None)
    assert AuditEvent.objects.filter(action="msp_mode.enable").count() == 1


def test_only_system_administrators_can_enable(catalog_admin):
    with pytest.raises(NotAllowed):
        msp_enable(actor=catalog_admin)
    assert not msp_mode_enabled()


def test_once_a_customer_was_added_the_database_refuses_to_switch_it_off():
    msp_enable(actor=None)
    CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MspMode.objects.filter(pk=1).update(enabled=False)
    if connection.vendor == "postgresql":  # SQLite guards UPDATE only (see migration 0002)
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM msp_portal_mspmode")
    assert msp_mode_enabled()


class TestSaas:
    @pytest.fixture(autouse=True)
    def saas(self, settings):
        settings.DEPLOYMENT_MODE = "saas"

    def test_a_system_administrator_cannot_switch_it_on_directly(self, system_admin):
        with pytest.raises(MspEnableRefused, match="file a request"):
            msp_enable(actor=system_admin)
        assert not msp_mode_enabled()

    def test_filing_a_request_creates_an_open_ticket_once(self, system_admin):
        ticket = msp_request_file(actor=system_admin, note="Please switch us over")
        assert ticket.status == MspModeRequest.Status.OPEN
        with pytest.raises(DomainError, match=f"Ticket #{ticket.pk} is already open"):
            msp_request_file(actor=system_admin)

    def test_the_operator_fulfils_the_ticket(self, system_admin):
        ticket = msp_request_file(actor=system_admin)
        call_command("enable_msp", "--ticket", str(ticket.pk))
        ticket.refresh_from_db()
        assert msp_mode_enabled()
        assert ticket.status == MspModeRequest.Status.FULFILLED
        assert "operator" in ticket.outcome

    def test_a_ticket_is_fulfilled_only_once(self, system_admin):
        ticket = msp_request_file(actor=system_admin)
        msp_enable(actor=None, ticket=ticket)
        with pytest.raises(MspEnableRefused, match="already fulfilled"):
            msp_enable(actor=None, ticket=ticket)

    def test_a_ticket_is_refused_while_blockers_remain(self, system_admin):
        ticket = msp_request_file(actor=system_admin)
        PeopleGroup.objects.create(name="Open", open_to_collaborators=True)
        with pytest.raises(MspEnableRefused, match="Open"):
            msp_enable(actor=None, ticket=ticket)
        ticket.refresh_from_db()
        assert ticket.status == MspModeRequest.Status.OPEN


def test_on_premises_a_request_is_pointless(system_admin):
    with pytest.raises(DomainError, match="switch MSP mode on directly"):
        msp_request_file(actor=system_admin)
