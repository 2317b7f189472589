"""The MSP mode page: wiring, per persona, on premises and in SaaS."""

import pytest
from django.urls import reverse

from customers.models import MspModeRequest
from msp_portal.models import AuditEvent
from msp_portal.selectors import msp_mode_enabled
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("customers:msp_mode")


def test_it_shows_the_readiness_checklist(client, system_admin):
    client.force_login(system_admin)
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    for label in ("Fresh install", "No external users", "No people groups open to collaborators"):
        assert label in content
    assert "Switch MSP mode on" in content


def test_it_names_the_blockers_and_what_to_do(client, system_admin):
    UserFactory(username="contractor-jo", is_external=True)
    client.force_login(system_admin)
    content = client.get(URL).content.decode()
    assert "contractor-jo" in content
    assert "What to do:" in content


def test_enabling_needs_the_typed_confirmation(client, system_admin):
    client.force_login(system_admin)
    response = client.post(URL, {"confirmation": "yes"})
    assert response.status_code == 200
    assert "Type ENABLE MSP MODE exactly" in response.content.decode()
    assert not msp_mode_enabled()


def test_enabling_switches_it_on_and_shows_the_status(client, system_admin):
    client.force_login(system_admin)
    response = client.post(URL, {"confirmation": "ENABLE MSP MODE"}, follow=True)
    assert msp_mode_enabled()
    content = response.content.decode()
    assert "MSP mode is on" in content
    assert "Switch MSP mode on" not in content


def test_a_refusal_is_shown_on_the_page(client, system_admin):
    client.force_login(system_admin)
    UserFactory(username="late-external", is_external=True)
    response = client.post(URL, {"confirmation": "ENABLE MSP MODE"})
    assert response.status_code == 200
    assert "late-external" in response.content.decode()
    assert not msp_mode_enabled()


def test_catalog_administrators_get_403(client, catalog_admin):
    client.force_login(catalog_admin)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"confirmation": "ENABLE MSP MODE"}).status_code == 403
    assert not msp_mode_enabled()


def test_in_saas_the_page_files_a_request_instead(client, system_admin, settings):
    settings.DEPLOYMENT_MODE = "saas"
    client.force_login(system_admin)
    assert "File request" in client.get(URL).content.decode()
    response = client.post(URL, {"note": "Go MSP"}, follow=True)
    ticket = MspModeRequest.objects.get()
    assert f"ticket #{ticket.pk}" in response.content.decode()
    assert not msp_mode_enabled()


# --- Switching it off again (M3): only while no customer has ever been added -------------------

OFF = {"action": "disable", "confirmation": "DISABLE MSP MODE"}


def test_while_no_customer_was_added_the_page_offers_to_switch_it_off(
    client, system_admin, msp_enabled
):
    client.force_login(system_admin)
    content = client.get(URL).content.decode()
    assert "Switch MSP mode off" in content
    assert "Type DISABLE MSP MODE to confirm" in content
    assert "No customer has been added yet" in content


def test_switching_off_needs_the_typed_confirmation(client, system_admin, msp_enabled):
    client.force_login(system_admin)
    response = client.post(URL, {**OFF, "confirmation": "ENABLE MSP MODE"})
    assert response.status_code == 200
    assert "Type DISABLE MSP MODE exactly" in response.content.decode()
    assert msp_mode_enabled()


def test_switching_off_switches_it_off_and_shows_the_checklist_again(
    client, system_admin, msp_enabled
):
    client.force_login(system_admin)
    response = client.post(URL, OFF, follow=True)
    assert not msp_mode_enabled()
    content = response.content.decode()
    assert "MSP mode is off again" in content
    assert "Switch MSP mode on" in content
    assert AuditEvent.objects.filter(action="msp_mode.disable", actor=system_admin).exists()


def test_after_the_first_customer_the_page_says_it_stays_on_and_refuses(
    client, system_admin, tenant_a
):
    client.force_login(system_admin)
    content = client.get(URL).content.decode()
    assert "Switch MSP mode off" not in content
    assert "stays on for good" in content
    response = client.post(URL, OFF)
    assert response.status_code == 200
    assert "the first customer was added on" in response.content.decode()
    assert msp_mode_enabled()


def test_catalog_administrators_get_403_when_switching_off(client, catalog_admin, msp_enabled):
    client.force_login(catalog_admin)
    assert client.post(URL, OFF).status_code == 403
    assert msp_mode_enabled()
