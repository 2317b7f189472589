"""Two-factor sign-in for MSP staff: a TOTP app, plus ten single-use recovery codes.

A password alone never changes a factor. Pairing an authenticator is open only to someone who
has none yet; replacing it, or making new recovery codes, asks for the password and a current
code again, in a session that has already passed the second factor. The old authenticator
keeps working until the new one is confirmed. Each of these changes, and each use of a
recovery code, is audited and mailed to the owner.
"""

import logging
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp_portal.audit import audit_record
from msp_portal.errors import DomainError

from .models import User
from .services import account_owner_tell

logger = logging.getLogger(__name__)

RECOVERY_CODES = 10
RECOVERY_DEVICE = "Recovery codes"
# Pages a staff member may open before the second factor: pairing a first authenticator (the
# page itself refuses anyone who has one), the code prompt, and signing in and out.
OPEN_PATHS = ("/two-factor/setup/", "/two-factor/verify/", "/logout/", "/static/", "/login/")
# How long a confirmed identity (password + current code) allows pairing a new authenticator.
REAUTH_SECONDS = 600
REAUTH_SESSION_KEY = "two_factor_reauth"
# Set by a sign-in through the provider's own identity provider (sso/): two-factor was its
# business there, so the portal asks for no second code in that session.
IDP_SESSION_KEY = "two_factor_by_identity_provider"


class TwoFactorRefused(DomainError):
    """A change of factor that the session has not earned."""


def two_factor_required(user: User) -> bool:
    """MSP staff (system and catalog administrators, superusers) sign in with a second factor."""
    return bool(
        settings.TWO_FACTOR_REQUIRED
        and user.is_authenticated
        and (user.is_staff or user.is_superuser)
    )


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def session_verified(request: HttpRequest) -> bool:
    """Whether this session has passed the second factor (django-otp's OTPMiddleware)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


class TwoFactorMiddleware:
    """Send staff who have not passed the second factor in this session to set it up or verify it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            two_factor_required(user)
            and not user.is_verified()
            and not request.session.get(IDP_SESSION_KEY)
            and not request.path.startswith(OPEN_PATHS)
        ):
            target = "two_factor_verify" if has_device(user) else "two_factor_setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


def authenticator(user: User) -> TOTPDevice | None:
    """The user's paired authenticator app, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def is_recovery_code(device) -> bool:
    return isinstance(device, StaticDevice)


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE).count()


def _lock(user: User) -> User:
    """Serialise factor changes of one person: two tabs can't both pair a device."""
    return User.objects.select_for_update().get(pk=user.pk)


def totp_device_pending(user: User) -> TOTPDevice:
    """The unconfirmed authenticator of someone who has none yet, to be confirmed with a code."""
    if has_device(user):
        raise TwoFactorRefused(
            "You already have an authenticator. To move to a new phone, replace it from "
            "Two-factor sign-in, with your password and a current code."
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _recovery_codes_new(user: User) -> list[str]:
    """Ten new single-use recovery codes on a new device: sessions verified by an old code end."""
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_enrol(*, request: HttpRequest, token: str) -> list[str] | None:
    """Pair a first authenticator, confirmed with a code from it; returns fresh recovery codes,
    or None for a wrong code. Refused to anyone who has an authenticator already."""
    user = _lock(request.user)
    device = totp_device_pending(user)
    if not device.verify_token(token.strip()):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_new(user)
    otp_login(request, device)
    audit_record(actor=user, action="two_factor.enrol", obj=user, after={"device": device.name})
    account_owner_tell(
        user=user,
        subject="two-factor sign-in is on",
        what="An authenticator app was paired with your MSP Portal account, and ten recovery codes "
        "were made for it.",
    )
    return codes


def _match(user: User, token: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts this code: digits go to the app, anything else to the recovery
    codes, so a recovery code never counts as a wrong guess against the app (which would
    throttle it)."""
    token = token.strip()
    kind = TOTPDevice if token.isascii() and token.isdigit() else StaticDevice
    with transaction.atomic():
        for device in kind.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(token):
                return device
    return None


def _identity_confirmed(request: HttpRequest, *, password: str, token: str) -> bool:
    """The password again (counted by the sign-in throttle), then a current code of the user's."""
    user = request.user
    if authenticate(request, username=user.get_username(), password=password) is None:
        return False
    device = _match(user, token)
    if device is None:
        return False
    if isinstance(device, StaticDevice):
        _recovery_code_used(user, device)
    return True


def _require_verified(request: HttpRequest) -> None:
    if not session_verified(request) or not has_device(request.user):
        raise TwoFactorRefused("Sign in with your current code first.")


def two_factor_replace_begin(*, request: HttpRequest, password: str, token: str) -> bool:
    """Confirm who is asking (password and a current code, in a verified session) and prepare a
    new authenticator to pair; returns False when the password or the code is wrong."""
    _require_verified(request)
    with transaction.atomic():
        user = _lock(request.user)
        if not _identity_confirmed(request, password=password, token=token):
            return False
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    request.session[REAUTH_SESSION_KEY] = {"device": device.pk, "at": time.time()}
    return True


def two_factor_replace_pending(request: HttpRequest) -> TOTPDevice | None:
    """The new authenticator this session confirmed its identity for, while that is fresh."""
    claim = request.session.get(REAUTH_SESSION_KEY)
    if not claim or time.time() - claim.get("at", 0) > REAUTH_SECONDS:
        return None
    return TOTPDevice.objects.filter(
        pk=claim.get("device"), user=request.user, confirmed=False
    ).first()


def two_factor_replace_cancel(*, request: HttpRequest) -> None:
    """Drop a half-done replacement: the new app is forgotten, the old one stays."""
    request.session.pop(REAUTH_SESSION_KEY, None)
    TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()


@transaction.atomic
def two_factor_replace(*, request: HttpRequest, token: str) -> list[str] | None:
    """Swap the authenticator for the new one once a code from it confirms the pairing; returns
    fresh recovery codes, or None for a wrong code. The old one works until this moment."""
    _require_verified(request)
    user = _lock(request.user)
    device = two_factor_replace_pending(request)
    if device is None:
        raise TwoFactorRefused(
            "Confirm it is you again: type your password and a current code, then scan the new "
            "code within ten minutes."
        )
    if not device.verify_token(token.strip()):
        return None
    old = list(TOTPDevice.objects.filter(user=user, confirmed=True).values_list("pk", flat=True))
    TOTPDevice.objects.filter(pk__in=old).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_new(user)
    otp_login(request, device)
    request.session.pop(REAUTH_SESSION_KEY, None)
    audit_record(
        actor=user,
        action="two_factor.replace",
        obj=user,
        before={"devices": old},
        after={"devices": [device.pk]},
        message="Authenticator replaced; new recovery codes made; other sessions must verify again.",
    )
    account_owner_tell(
        user=user,
        subject="your authenticator was replaced",
        what="The authenticator app of your MSP Portal account was replaced by a new one. The old "
        "app's codes and your old recovery codes no longer work.",
    )
    return codes


@transaction.atomic
def recovery_codes_renew(*, request: HttpRequest, password: str, token: str) -> list[str] | None:
    """Replace the recovery codes after the password and a current code, in a verified session;
    returns the new codes, or None when the password or the code is wrong."""
    _require_verified(request)
    user = _lock(request.user)
    if not _identity_confirmed(request, password=password, token=token):
        return None
    static = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE).first()
    if static is None:
        static = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
    static.token_set.all().delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    audit_record(actor=user, action="two_factor.recovery_codes_renew", obj=user)
    account_owner_tell(
        user=user,
        subject="new recovery codes",
        what="New recovery codes were made for your MSP Portal account; the old ones no longer work.",
    )
    return codes


def _recovery_code_used(user: User, device: StaticDevice) -> None:
    left = device.token_set.count()
    audit_record(
        actor=user,
        action="two_factor.recovery_code_used",
        obj=user,
        message=f"{left} recovery codes left.",
    )
    account_owner_tell(
        user=user,
        subject="a recovery code was used",
        what=f"One of your recovery codes was used for your MSP Portal account: {left} recovery "
        "codes left. If you lost your phone, replace your authenticator under Two-factor "
        "sign-in.",
    )


def two_factor_verify(*, request: HttpRequest, token: str) -> StaticDevice | TOTPDevice | None:
    """Accept a code from the authenticator or one recovery code (which is then used up);
    returns the device that accepted it."""
    device = _match(request.user, token)
    if device is None:
        return None
    otp_login(request, device)
    if isinstance(device, StaticDevice):
        _recovery_code_used(request.user, device)
    return device
