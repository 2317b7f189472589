"""Rules M3 and M5: what is closed once MSP mode is on, and the compliance job."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import PeopleGroup, User
from accounts.services import external_user_create, people_group_create, people_group_update
from customers.services import msp_compliance_enforce, msp_mode_required_check
from customers.tasks import msp_compliance
from msp_portal.errors import MspModeForbids, MspModeRequired
from msp_portal.models import AuditEvent
from tests.accounts.factories import PeopleGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_external_users_can_be_created_before_msp_mode(system_admin, provider_company):
    user = external_user_create(
        actor=system_admin, username="ext1", email="ext1@example.com", company=provider_company
    )
    assert user.is_external and not user.has_usable_password()
    assert AuditEvent.objects.filter(action="external_user.create", object_id=str(user.pk)).exists()


def test_external_users_are_refused_once_msp_mode_is_on(
    system_admin, provider_company, msp_enabled
):
    with pytest.raises(MspModeForbids, match="External users can't be created"):
        external_user_create(
            actor=system_admin, username="ext1", email="e@example.com", company=provider_company
        )
    assert not User.objects.filter(username="ext1").exists()


def test_the_model_refuses_a_new_external_user_in_msp_mode(provider_company, msp_enabled):
    user = User(username="ext2", company=provider_company, is_external=True)
    with pytest.raises(ValidationError) as error:
        user.full_clean()
    assert "is_external" in error.value.message_dict


def test_collaboration_groups_are_refused_once_msp_mode_is_on(system_admin, msp_enabled):
    with pytest.raises(MspModeForbids, match="collaborators"):
        people_group_create(actor=system_admin, name="Helpers", open_to_collaborators=True)
    assert not PeopleGroup.objects.exists()


def test_an_existing_group_cannot_be_opened_once_msp_mode_is_on(system_admin, msp_enabled):
    group = people_group_create(actor=system_admin, name="Helpers")
    with pytest.raises(MspModeForbids):
        people_group_update(
            actor=system_admin, group=group, name="Helpers", open_to_collaborators=True
        )
    group.refresh_from_db()
    assert not group.open_to_collaborators


def test_plain_groups_remain_possible_in_msp_mode(system_admin, msp_enabled):
    group = people_group_create(actor=system_admin, name="Helpers", description="Internal")
    assert group.pk and not group.open_to_collaborators


def test_customers_need_msp_mode():
    with pytest.raises(MspModeRequired, match="MSP mode"):
        msp_mode_required_check()


def test_customers_are_allowed_in_msp_mode(msp_enabled):
    msp_mode_required_check()


def test_compliance_neutralises_what_slipped_in_by_raw_sql(provider_company, msp_enabled):
    UserFactory(username="ok-user", company=provider_company)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET is_external = %s WHERE username = %s", [True, "ok-user"]
        )
    group = PeopleGroupFactory(name="Plain")
    PeopleGroup.objects.filter(pk=group.pk).update(open_to_collaborators=True)

    result = msp_compliance.delay().get()

    assert result == {"external_users": ["ok-user"], "collaboration_groups": ["Plain"]}
    assert not User.objects.get(username="ok-user").is_active
    assert not PeopleGroup.objects.get(pk=group.pk).open_to_collaborators
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "msp_compliance.external_user_deactivated",
        "msp_compliance.collaboration_closed",
    } <= actions


def test_compliance_does_nothing_before_msp_mode():
    UserFactory(is_external=True)
    assert msp_compliance_enforce().clean
    assert User.objects.get(is_external=True).is_active


def test_compliance_is_idempotent(msp_enabled):
    UserFactory(is_external=True)
    msp_compliance_enforce()
    assert msp_compliance_enforce().clean
    assert AuditEvent.objects.filter(action__startswith="msp_compliance").count() == 1
