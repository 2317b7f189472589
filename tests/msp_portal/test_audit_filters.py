"""The audit trail's filters (a django-filter FilterSet over the scoped trail)."""

import pytest
from django.urls import reverse

from msp_portal.audit import audit_record
from msp_portal.selectors import audit_event_list

pytestmark = pytest.mark.django_db
URL = reverse("audit_event_list")


@pytest.fixture
def events(system_admin):
    audit_record(actor=system_admin, action="msp_mode.enable", after={"enabled": True})
    audit_record(actor=None, action="people_group.create", message="x")


def _actions(response) -> list[str]:
    return [e.action for e in response.context["page"].rows]


def test_each_filter_narrows_the_trail(client, system_admin, events):
    client.force_login(system_admin)
    assert _actions(client.get(URL, {"action": "people_"})) == ["people_group.create"]
    assert _actions(client.get(URL, {"actor": "sysadmin"})) == ["msp_mode.enable"]
    assert _actions(client.get(URL, {"action": "group"})) == []  # an action matches by its start


def test_control_characters_in_a_search_read_as_spaces_and_long_text_is_cut(
    client, system_admin, events
):
    client.force_login(system_admin)
    response = client.get(URL, {"actor": "\x1fsysadmin\t"})
    assert _actions(response) == ["msp_mode.enable"]
    response = client.get(URL, {"object_query": "x" * 5000})
    assert response.status_code == 200 and not response.context["form"].errors
    assert _actions(response) == []


def test_the_trail_is_empty_for_anyone_without_the_audit_role(
    system_admin, catalog_admin, tenant_a, events
):
    assert audit_event_list(user=system_admin).count() >= 2
    assert not audit_event_list(user=tenant_a["admin"]).exists()
    assert not audit_event_list(user=catalog_admin).exists()
