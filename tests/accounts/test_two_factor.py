"""Two-factor sign-in for MSP staff: enrolment, verification, recovery codes."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp_portal.models import AuditEvent
from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def required(settings):
    settings.TWO_FACTOR_REQUIRED = True


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _sign_in(username: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _enrol(client) -> list[str]:
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"token": _code(device), "next": "/"})
    return response.context["codes"]


def test_staff_are_sent_to_set_up_two_factor_first(system_admin):
    client = _sign_in("sysadmin")
    response = client.get(reverse("customers:msp_mode"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))
    page = client.get(response.url).content.decode()
    assert "Scan this code" in page and "data:image/svg+xml" in page


def test_a_wrong_code_does_not_enrol(system_admin):
    client = _sign_in("sysadmin")
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"token": "000000"})
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_enrolling_opens_the_portal_and_gives_ten_recovery_codes(system_admin):
    client = _sign_in("sysadmin")
    codes = _enrol(client)
    assert len(codes) == 10 == len(set(codes))
    assert client.get(reverse("customers:msp_mode")).status_code == 200
    assert AuditEvent.objects.filter(action="two_factor.enrol", actor=system_admin).exists()


def test_the_next_sign_in_asks_for_a_code(system_admin):
    _enrol(_sign_in("sysadmin"))
    client = _sign_in("sysadmin")
    response = client.get(reverse("audit_event_list"))
    assert response.url.startswith(reverse("two_factor_verify"))
    device = TOTPDevice.objects.get(confirmed=True)
    device.last_t = -1  # the enrolment code of this time step may not be replayed
    device.save()
    response = client.post(
        reverse("two_factor_verify"), {"token": _code(device), "next": reverse("audit_event_list")}
    )
    assert response.status_code == 302 and response.url == reverse("audit_event_list")
    assert client.get(reverse("audit_event_list")).status_code == 200


def test_a_recovery_code_works_once(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    client = _sign_in("sysadmin")
    assert client.post(reverse("two_factor_verify"), {"token": codes[0]}).status_code == 302
    other = _sign_in("sysadmin")
    response = other.post(reverse("two_factor_verify"), {"token": codes[0]})
    assert "That code is not right" in response.content.decode()


def test_an_offsite_next_is_ignored(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    client = _sign_in("sysadmin")
    response = client.post(
        reverse("two_factor_verify"), {"token": codes[1], "next": "https://evil.example/"}
    )
    assert response.url == "/"


def test_end_users_are_not_asked(tenant_a):
    client = _sign_in(tenant_a["eve"].username)
    response = client.get("/")
    assert not response.get("Location", "").startswith("/two-factor/")
