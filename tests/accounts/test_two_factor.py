"""Two-factor sign-in for MSP staff: enrolment, verification, recovery codes, and changing a factor.

A password alone never changes a factor: enrolment is for people who have none yet, and
replacing the authenticator or the recovery codes asks for the password and the current second
factor again, in a session that has passed the second factor.
"""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from msp_portal.errors import DomainError
from msp_portal.models import AuditEvent
from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def required(settings):
    settings.TWO_FACTOR_REQUIRED = True


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Security notices are mailed once the change commits: run what a request leaves to then."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _next_step(device: TOTPDevice) -> TOTPDevice:
    """Let the device accept the current code again, as it will once the next 30 s begin (and
    the pause django-otp imposes after a wrong code has passed)."""
    device.refresh_from_db()
    device.last_t = -1
    device.throttle_reset(commit=False)
    device.save()
    return device


def _sign_in(username: str, ip: str = "127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _enrol(client) -> list[str]:
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"token": _code(device), "next": "/"})
    return response.context["codes"]


def _verified(username: str) -> Client:
    """A session that signed in with the password and then the authenticator."""
    client = _sign_in(username)
    device = _next_step(TOTPDevice.objects.get(user__username=username, confirmed=True))
    response = client.post(reverse("two_factor_verify"), {"token": _code(device), "next": "/"})
    assert response.status_code == 302 and response.url == "/"
    return client


def _replace(client, *, password: str = PASSWORD, token: str):
    return client.post(
        reverse("two_factor_replace"),
        {"step": "confirm_identity", "password": password, "token": token},
    )


def _mails_to(user) -> list:
    return [m for m in mail.outbox if user.email in m.to]


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


def test_enrolling_tells_the_owner_by_email(system_admin, committed):
    with committed():
        _enrol(_sign_in("sysadmin"))
    (notice,) = _mails_to(system_admin)
    assert "two-factor" in notice.subject.lower()
    assert "If this was not you" in notice.body


def test_the_next_sign_in_asks_for_a_code(system_admin):
    _enrol(_sign_in("sysadmin"))
    client = _sign_in("sysadmin")
    response = client.get(reverse("audit_event_list"))
    assert response.url.startswith(reverse("two_factor_verify"))
    device = _next_step(TOTPDevice.objects.get(confirmed=True))
    response = client.post(
        reverse("two_factor_verify"), {"token": _code(device), "next": reverse("audit_event_list")}
    )
    assert response.status_code == 302 and response.url == reverse("audit_event_list")
    assert client.get(reverse("audit_event_list")).status_code == 200


def test_a_recovery_code_works_once(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    client = _sign_in("sysadmin")
    assert client.post(reverse("two_factor_verify"), {"token": codes[0]}).status_code == 302
    assert client.get(reverse("audit_event_list")).status_code == 200
    other = _sign_in("sysadmin")
    response = other.post(reverse("two_factor_verify"), {"token": codes[0]})
    assert "That code is not right" in response.content.decode()
    assert other.get(reverse("audit_event_list")).url.startswith(reverse("two_factor_verify"))


def test_using_a_recovery_code_is_audited_and_mailed_to_the_owner(system_admin, committed):
    codes = _enrol(_sign_in("sysadmin"))
    with committed():
        _sign_in("sysadmin").post(reverse("two_factor_verify"), {"token": codes[0]})
    event = AuditEvent.objects.get(action="two_factor.recovery_code_used")
    assert event.actor == system_admin and "9 recovery codes left" in event.message
    (notice,) = _mails_to(system_admin)
    assert "recovery code" in notice.subject.lower()
    assert "9 recovery codes left" in notice.body


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


# --- A password alone never changes a factor ------------------------------------------------


def test_a_password_only_session_cannot_enrol_over_the_owners_authenticator(system_admin):
    _enrol(_sign_in("sysadmin"))
    owners = TOTPDevice.objects.get(confirmed=True)
    attacker = _sign_in("sysadmin")
    response = attacker.get(reverse("two_factor_setup"))
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_verify"))
    assert not TOTPDevice.objects.filter(confirmed=False).exists()
    # Even with a pending device of the attacker's own (left over, or planted), a code from it
    # enrols nothing.
    planted = TOTPDevice.objects.create(user=system_admin, name="Attacker", confirmed=False)
    response = attacker.post(reverse("two_factor_setup"), {"token": _code(planted), "next": "/"})
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_verify"))
    assert list(TOTPDevice.objects.filter(confirmed=True)) == [owners]
    assert attacker.get(reverse("audit_event_list")).url.startswith(reverse("two_factor_verify"))
    assert AuditEvent.objects.filter(action="two_factor.enrol").count() == 1


def test_the_enrolment_service_refuses_someone_who_has_an_authenticator(system_admin, rf):
    _enrol(_sign_in("sysadmin"))
    planted = TOTPDevice.objects.create(user=system_admin, name="Attacker", confirmed=False)
    request = rf.post("/two-factor/setup/")
    request.user = system_admin
    request.session = {}
    with pytest.raises(DomainError):
        twofactor.two_factor_enrol(request=request, token=_code(planted))
    assert TOTPDevice.objects.get(confirmed=True).name != "Attacker"


def test_a_password_only_session_cannot_replace_the_authenticator(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    owners = TOTPDevice.objects.get(confirmed=True)
    attacker = _sign_in("sysadmin")
    for response in (
        attacker.get(reverse("two_factor_replace")),
        _replace(attacker, token=codes[0]),
        attacker.post(reverse("two_factor_replace"), {"step": "pair", "token": "123456"}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("two_factor_verify"))
    assert list(TOTPDevice.objects.filter(confirmed=True)) == [owners]
    assert not TOTPDevice.objects.filter(confirmed=False).exists()
    assert StaticToken.objects.filter(token=codes[0]).exists()  # not spent by the attempt


def test_a_password_only_session_cannot_make_new_recovery_codes(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    attacker = _sign_in("sysadmin")
    response = attacker.post(
        reverse("two_factor_recovery_codes"), {"password": PASSWORD, "token": codes[0]}
    )
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor_verify"))
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)


# --- Replacing the authenticator from a verified session ------------------------------------


def test_a_verified_session_replaces_the_authenticator(system_admin, committed):
    _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    client = _verified("sysadmin")
    page = client.get(reverse("two_factor_replace")).content.decode()
    assert "Password" in page and "Current code" in page
    response = _replace(client, token=_code(_next_step(old)))
    assert response.status_code == 302 and response.url == reverse("two_factor_replace")
    page = client.get(reverse("two_factor_replace"))
    assert "Scan this code" in page.content.decode()
    new = TOTPDevice.objects.get(confirmed=False)
    mail.outbox.clear()
    with committed():
        response = client.post(reverse("two_factor_replace"), {"step": "pair", "token": _code(new)})
    assert len(response.context["codes"]) == 10
    assert list(TOTPDevice.objects.filter(user=system_admin)) == [new]
    new.refresh_from_db()
    assert new.confirmed
    # The session goes on, verified by the new device.
    assert client.get(reverse("audit_event_list")).status_code == 200
    event = AuditEvent.objects.get(action="two_factor.replace")
    assert event.actor == system_admin
    (notice,) = _mails_to(system_admin)
    assert "replaced" in notice.subject.lower() and "If this was not you" in notice.body


def test_the_old_authenticator_works_until_the_new_one_is_confirmed(system_admin):
    _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    client = _verified("sysadmin")
    _replace(client, token=_code(_next_step(old)))
    new = TOTPDevice.objects.get(confirmed=False)
    # Half-way through (new QR shown, not yet confirmed), the old device still signs in.
    assert _verified("sysadmin").get(reverse("audit_event_list")).status_code == 200
    assert TOTPDevice.objects.get(confirmed=True) == old
    wrong = client.post(reverse("two_factor_replace"), {"step": "pair", "token": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert TOTPDevice.objects.get(confirmed=True) == old
    client.post(reverse("two_factor_replace"), {"step": "pair", "token": _code(_next_step(new))})
    # Once replaced, the old device's code is refused and the new one's accepted.
    late = _sign_in("sysadmin")
    response = late.post(reverse("two_factor_verify"), {"token": _code(old)})
    assert "That code is not right" in response.content.decode()
    new = _next_step(new)
    assert late.post(reverse("two_factor_verify"), {"token": _code(new)}).status_code == 302


def test_replacing_signs_other_sessions_out_of_their_second_factor(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    elsewhere = _sign_in("sysadmin")
    assert elsewhere.post(reverse("two_factor_verify"), {"token": codes[0]}).status_code == 302
    client = _verified("sysadmin")
    _replace(client, token=_code(_next_step(old)))
    new = TOTPDevice.objects.get(confirmed=False)
    client.post(reverse("two_factor_replace"), {"step": "pair", "token": _code(new)})
    response = elsewhere.get(reverse("audit_event_list"))
    assert response.url.startswith(reverse("two_factor_verify"))


def test_replacing_needs_the_password(system_admin):
    _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    client = _verified("sysadmin")
    response = _replace(client, password="not-my-password", token=_code(_next_step(old)))
    assert response.status_code == 200
    assert "password or the code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=False).exists()
    pairing = client.post(reverse("two_factor_replace"), {"step": "pair", "token": "123456"})
    assert "Confirm it is you" in pairing.content.decode()
    assert list(TOTPDevice.objects.filter(user=system_admin)) == [old]


def test_replacing_needs_the_current_code(system_admin):
    _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    client = _verified("sysadmin")
    response = _replace(client, token="000000")
    assert "password or the code is not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=False).exists()
    assert list(TOTPDevice.objects.filter(user=system_admin)) == [old]


def test_a_recovery_code_proves_the_second_factor_for_a_replacement(system_admin):
    codes = _enrol(_sign_in("sysadmin"))
    client = _sign_in("sysadmin")  # lost phone: verify with a recovery code ...
    client.post(reverse("two_factor_verify"), {"token": codes[0]})
    response = _replace(client, token=codes[1])  # ... and prove it again with another
    assert response.status_code == 302
    new = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("two_factor_replace"), {"step": "pair", "token": _code(new)})
    assert len(response.context["codes"]) == 10
    assert TOTPDevice.objects.get(confirmed=True) == new
    assert not StaticToken.objects.filter(token__in=codes).exists()


def test_an_identity_check_goes_stale(system_admin, monkeypatch):
    _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    client = _verified("sysadmin")
    _replace(client, token=_code(_next_step(old)))
    new = TOTPDevice.objects.get(confirmed=False)
    monkeypatch.setattr(twofactor, "REAUTH_SECONDS", -1)
    response = client.post(reverse("two_factor_replace"), {"step": "pair", "token": _code(new)})
    assert "Confirm it is you" in response.content.decode()
    assert TOTPDevice.objects.get(confirmed=True) == old


def test_setup_sends_a_verified_owner_to_the_two_factor_page(system_admin):
    _enrol(_sign_in("sysadmin"))
    client = _verified("sysadmin")
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 302 and response.url == reverse("two_factor_manage")
    page = client.get(reverse("two_factor_manage")).content.decode()
    assert "Replace authenticator" in page and "10 recovery codes left" in page


# --- New recovery codes ---------------------------------------------------------------------


def test_new_recovery_codes_need_the_password_and_a_current_code(system_admin, committed):
    codes = _enrol(_sign_in("sysadmin"))
    old = TOTPDevice.objects.get(confirmed=True)
    client = _verified("sysadmin")
    url = reverse("two_factor_recovery_codes")
    response = client.post(url, {"password": "not-my-password", "token": _code(_next_step(old))})
    assert "password or the code is not right" in response.content.decode()
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)
    mail.outbox.clear()
    with committed():
        response = client.post(url, {"password": PASSWORD, "token": _code(_next_step(old))})
    fresh = response.context["codes"]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(fresh)
    assert AuditEvent.objects.filter(action="two_factor.recovery_codes_renew").exists()
    (notice,) = _mails_to(system_admin)
    assert "recovery codes" in notice.subject.lower()


def test_the_two_factor_pages_are_behind_the_second_factor_for_everyone(tenant_a):
    """Two-factor is optional for customer people, but their factors are as well guarded."""
    eve = tenant_a["eve"]
    client = _sign_in(eve.username)
    _enrol(client)
    other = _sign_in(eve.username)
    for name in ("two_factor_setup", "two_factor_replace", "two_factor_recovery_codes"):
        response = other.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("two_factor_verify"))
