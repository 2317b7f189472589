"""The security baseline: headers on every page, CSRF on every POST, login throttling."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_every_page_carries_the_security_headers(client, system_admin):
    client.force_login(system_admin)
    response = client.get(reverse("customers:msp_mode"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp


def test_pages_contain_no_inline_script(client, system_admin):
    client.force_login(system_admin)
    for name in ("home", "customers:msp_mode", "audit_event_list", "accounts:people_group_list"):
        html = client.get(reverse(name)).content.decode()
        assert "<script>" not in html and "<script type" not in html
        assert " onclick=" not in html and " style=" not in html


def test_a_post_without_the_csrf_token_is_refused(system_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(system_admin)
    response = client.post(reverse("customers:msp_mode"), {"confirmation": "ENABLE MSP MODE"})
    assert response.status_code == 403
    from msp_portal.selectors import msp_mode_enabled

    assert not msp_mode_enabled()


def test_repeated_failed_logins_lock_the_account_for_a_while(client, system_admin, settings):
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "sysadmin", "password": "wrong"})
    response = client.post(url, {"username": "sysadmin", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_a_correct_login_signs_in(client, system_admin):
    response = client.post(reverse("login"), {"username": "sysadmin", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
