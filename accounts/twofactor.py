"""Two-factor sign-in for MSP staff: a TOTP app, plus ten single-use recovery codes."""

import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp_portal.audit import audit_record

from .models import User

RECOVERY_CODES = 10
# Pages a staff member may open before the second factor: the 2FA pages themselves and sign-out.
OPEN_PATHS = ("/two-factor/", "/logout/", "/static/", "/login/")


def two_factor_required(user: User) -> bool:
    """MSP staff (system and catalog administrators, superusers) sign in with a second factor."""
    return bool(
        settings.TWO_FACTOR_REQUIRED
        and user.is_authenticated
        and (user.is_staff or user.is_superuser)
    )


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


class TwoFactorMiddleware:
    """Send staff who have not passed the second factor in this session to set it up or verify it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            two_factor_required(user)
            and not user.is_verified()
            and not request.path.startswith(OPEN_PATHS)
        ):
            target = "two_factor_verify" if has_device(user) else "two_factor_setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)


def totp_device_pending(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator, created on first use, to be confirmed with a code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def two_factor_enrol(*, request: HttpRequest, token: str) -> list[str] | None:
    """Confirm the pending authenticator with a code from it; returns fresh recovery codes or None."""
    user = request.user
    device = totp_device_pending(user)
    if not device.verify_token(token.strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_renew(user=user)
    otp_login(request, device)
    audit_record(actor=user, action="two_factor.enrol", obj=user, after={"device": device.name})
    return codes


def recovery_codes_renew(*, user: User) -> list[str]:
    """Replace the user's recovery codes with ten new single-use ones."""
    static, _ = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    static.token_set.all().delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


def two_factor_verify(*, request: HttpRequest, token: str) -> bool:
    """Accept a code from the authenticator or one recovery code (which is then used up)."""
    device = match_token(request.user, token.strip())
    if device is None:
        return False
    otp_login(request, device)
    if isinstance(device, StaticDevice):
        audit_record(
            actor=request.user,
            action="two_factor.recovery_code_used",
            obj=request.user,
            message=f"{device.token_set.count()} recovery codes left.",
        )
    return True
