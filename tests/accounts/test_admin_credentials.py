"""Credentials in the Django admin: changing one's own asks for the current one; a factor is never
added or edited there, only removed from another person (audited, and the owner is told).

The admin's set-password page sets a password without asking for the old one: right for an
administrator resetting someone else's (audited, owner mailed), wrong for one's own account,
which goes to the password change that asks for the current password. django-otp's device
admins would let a superuser pair a new authenticator for themselves with no code at all; here
they are read-only, and deleting another person's device is the audited reset that makes them
pair a new one at their next sign-in (/two-factor/ replaces one's own, with the current code).
"""

from base64 import b32encode

import pytest
from django.core import mail
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp_portal.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "An-entirely-new-pass-phrase-77"


@pytest.fixture
def root(db):
    """A superuser: the one person the admin lets do anything."""
    return UserFactory(username="root", is_superuser=True, is_staff=True, company=None)


@pytest.fixture
def root_client(client, root):
    client.force_login(root)
    return client


@pytest.fixture
def colleague(db):
    return UserFactory(username="colleague", is_staff=True)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Owners are mailed once the change commits: run what a request leaves to then."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _password_url(user) -> str:
    return reverse("admin:auth_user_password_change", args=[user.pk])


def _mails_to(user) -> list:
    return [m for m in mail.outbox if user.email in m.to]


def _set_password(client, user):
    return client.post(
        _password_url(user),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set-password": "1"},
    )


class TestOwnPassword:
    def test_the_set_password_page_of_ones_own_account_sends_to_the_one_that_asks_for_it(
        self, root_client, root
    ):
        response = root_client.get(_password_url(root), follow=True)
        assert response.redirect_chain[-1][0] == reverse("admin:password_change")
        assert "old_password" in response.context["form"].fields
        assert "asks for your current password" in response.content.decode()

    def test_posting_a_new_password_there_changes_nothing(self, root_client, root):
        response = _set_password(root_client, root)
        assert response.status_code == 302
        assert response.url == reverse("admin:password_change")
        root.refresh_from_db()
        assert root.check_password(PASSWORD)
        assert not root.check_password(NEW_PASSWORD)

    def test_the_password_change_it_sends_to_refuses_a_wrong_current_password(
        self, root_client, root
    ):
        root_client.post(
            reverse("admin:password_change"),
            {
                "old_password": "not-my-password",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        root.refresh_from_db()
        assert root.check_password(PASSWORD)


class TestSomeoneElsesPassword:
    def test_an_administrator_sets_it_audited_without_the_hash(
        self, root_client, root, colleague, committed
    ):
        old_hash = colleague.password
        with committed():
            response = _set_password(root_client, colleague)
        assert response.status_code == 302
        colleague.refresh_from_db()
        assert colleague.check_password(NEW_PASSWORD)
        event = AuditEvent.objects.get(action="user.password_set")
        assert event.actor == root
        assert (event.object_type, event.object_id) == ("accounts.user", str(colleague.pk))
        assert event.before and event.after
        trail = f"{event.before} {event.after} {event.message}"
        assert old_hash not in trail and colleague.password not in trail

    def test_the_owner_is_mailed(self, root_client, colleague, committed):
        with committed():
            _set_password(root_client, colleague)
        (notice,) = _mails_to(colleague)
        assert "password" in notice.subject
        assert "root" in notice.body

    def test_a_refused_form_writes_nothing(self, root_client, colleague, committed):
        with committed():
            root_client.post(
                _password_url(colleague),
                {"password1": NEW_PASSWORD, "password2": "something else", "set-password": "1"},
            )
        assert not AuditEvent.objects.filter(action="user.password_set").exists()
        assert not _mails_to(colleague)


def _totp(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def _recovery(user) -> StaticDevice:
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=device, token="abc123-def456")
    return device


DEVICES = {"totp": ("otp_totp_totpdevice", _totp), "static": ("otp_static_staticdevice", _recovery)}


@pytest.mark.parametrize("kind", sorted(DEVICES))
class TestDevices:
    def test_no_device_can_be_added_in_the_admin(self, root_client, kind):
        name, _ = DEVICES[kind]
        assert root_client.get(reverse(f"admin:{name}_add")).status_code == 403
        before = TOTPDevice.objects.count() + StaticDevice.objects.count()
        root_client.post(reverse(f"admin:{name}_add"), {"user": "1", "name": "Mine"})
        assert TOTPDevice.objects.count() + StaticDevice.objects.count() == before

    def test_a_device_can_not_be_edited_in_the_admin(self, root_client, root, kind):
        name, make = DEVICES[kind]
        device = make(root)
        url = reverse(f"admin:{name}_change", args=[device.pk])
        response = root_client.post(url, {"user": root.pk, "name": "Renamed", "confirmed": "on"})
        assert response.status_code == 403
        device.refresh_from_db()
        assert device.name != "Renamed"

    def test_the_page_shows_no_secret(self, root_client, colleague, kind):
        name, make = DEVICES[kind]
        device = make(colleague)
        response = root_client.get(reverse(f"admin:{name}_change", args=[device.pk]))
        assert response.status_code == 200
        secret = device.key if kind == "totp" else "abc123-def456"
        assert secret not in response.content.decode()

    def test_ones_own_device_can_not_be_deleted_here(self, root_client, root, kind):
        name, make = DEVICES[kind]
        device = make(root)
        url = reverse(f"admin:{name}_delete", args=[device.pk])
        assert root_client.get(url).status_code == 403
        assert root_client.post(url, {"post": "yes"}).status_code == 403
        assert type(device).objects.filter(pk=device.pk).exists()

    def test_ones_own_device_can_not_be_deleted_among_others(
        self, root_client, root, colleague, kind
    ):
        name, make = DEVICES[kind]
        own, other = make(root), make(colleague)
        response = root_client.post(
            reverse(f"admin:{name}_changelist"),
            {"action": "delete_selected", "_selected_action": [own.pk, other.pk], "post": "yes"},
        )
        assert response.status_code == 403
        assert type(own).objects.filter(pk__in=[own.pk, other.pk]).count() == 2

    def test_another_persons_device_is_reset_audited_and_its_owner_mailed(
        self, root_client, root, colleague, committed, kind
    ):
        name, make = DEVICES[kind]
        device = make(colleague)
        with committed():
            response = root_client.post(
                reverse(f"admin:{name}_delete", args=[device.pk]), {"post": "yes"}
            )
        assert response.status_code == 302
        assert not type(device).objects.filter(pk=device.pk).exists()
        event = AuditEvent.objects.get(action="two_factor.reset")
        assert event.actor == root
        assert (event.object_type, event.object_id) == ("accounts.user", str(colleague.pk))
        assert event.before == {"device": device.name}
        (notice,) = _mails_to(colleague)
        assert "root" in notice.body

    def test_devices_of_others_are_reset_together_from_the_list(
        self, root_client, colleague, committed, kind
    ):
        name, make = DEVICES[kind]
        second = UserFactory(username="second", is_staff=True)
        devices = [make(colleague), make(second)]
        with committed():
            root_client.post(
                reverse(f"admin:{name}_changelist"),
                {
                    "action": "delete_selected",
                    "_selected_action": [d.pk for d in devices],
                    "post": "yes",
                },
            )
        assert not type(devices[0]).objects.filter(pk__in=[d.pk for d in devices]).exists()
        assert AuditEvent.objects.filter(action="two_factor.reset").count() == 2
        assert len(_mails_to(colleague)) == len(_mails_to(second)) == 1


def test_the_admin_offers_no_qr_code_of_anyones_authenticator(root_client, colleague):
    """django-otp's admin shows a device's pairing code (its secret) to any superuser."""
    device = _totp(colleague)
    for name in ("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode"):
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[device.pk])
    for page in ("config", "qrcode"):
        response = root_client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{page}/", follow=True)
        assert response["Content-Type"].startswith("text/html")
        content = response.content.decode()
        assert device.key not in content and b32encode(device.bin_key).decode() not in content


def test_changing_ones_own_password_with_the_current_one_is_audited_and_mailed(
    root_client, root, committed
):
    with committed():
        response = root_client.post(
            reverse("admin:password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    assert response.status_code == 302
    root.refresh_from_db()
    assert root.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="user.password_change")
    assert event.actor_id == root.pk and NEW_PASSWORD not in str(event.after)
    assert any("password was changed" in m.subject for m in _mails_to(root))


def test_choosing_a_password_from_an_emailed_link_is_audited(client, colleague, committed):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(colleague.pk))
    token = default_token_generator.make_token(colleague)
    page = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    with committed():
        client.post(
            page.redirect_chain[-1][0],
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    colleague.refresh_from_db()
    assert colleague.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="user.password_change", actor=colleague).exists()
    assert any("password was changed" in m.subject for m in _mails_to(colleague))
