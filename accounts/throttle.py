"""Sign-in throttling on django-axes: a username at one address, and an address spraying many.

django-axes compares one failure count with one limit. Two limits are needed here: a username
tried from one address is locked after AXES_FAILURE_LIMIT failures (guessing one password), and
the address itself once sign-ins of AXES_ADDRESS_USERNAME_LIMIT different usernames failed from
it (one password tried on many accounts, which never reaches a per-username limit). Counting
usernames rather than failures keeps a shared office address with a few typos open.
"""

from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

ACCOUNT = "account"
ADDRESS = "address"


def client_address(request: HttpRequest) -> str | None:
    """The client's address: behind TRUSTED_PROXY_COUNT proxies, the one the outermost saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        # Each trusted proxy appends the address it received from; anything further left was
        # written by the client and can be forged.
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR")


class LoginThrottle(AxesDatabaseHandler):
    """Lock a username at an address after AXES_FAILURE_LIMIT failures, and an address after
    failed sign-ins of AXES_ADDRESS_USERNAME_LIMIT usernames, each for AXES_COOLOFF_TIME."""

    def _recent(self, request: HttpRequest):
        return AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )

    def _counts(self, request: HttpRequest, credentials: dict | None) -> tuple[int, int]:
        """(failures of this username at this address, usernames failed at this address)."""
        recent = self._recent(request)
        username = get_client_username(request, credentials)
        pair = recent.filter(username=username).aggregate(n=Sum("failures_since_start"))["n"]
        return pair or 0, recent.values("username").distinct().count()

    def lockout_scope(self, request: HttpRequest, credentials: dict | None = None) -> str | None:
        """What is locked for this attempt: the account at this address, the address, or nothing."""
        pair, usernames = self._counts(request, credentials)
        if usernames >= settings.AXES_ADDRESS_USERNAME_LIMIT:
            return ADDRESS
        if pair >= get_failure_limit(request, credentials):
            return ACCOUNT
        return None

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # Axes locks when this reaches AXES_FAILURE_LIMIT: a locked address counts as at least that.
        pair, usernames = self._counts(request, credentials)
        if usernames >= settings.AXES_ADDRESS_USERNAME_LIMIT:
            return max(pair, get_failure_limit(request, credentials))
        return pair

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        # A successful sign-in clears its own username's failures only: clearing the address's
        # would let a sprayer reset the count by signing into an account of their own.
        count, _ = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            username=get_client_username(request, credentials),
        ).delete()
        return count


def _duration(span: timedelta | None) -> str:
    minutes = round(span.total_seconds() / 60) if span else 15
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The locked-out page (AXES_LOCKOUT_CALLABLE): says what is locked, for how long, what to do."""
    scope = LoginThrottle().lockout_scope(request, credentials) or ACCOUNT
    response = TemplateResponse(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        {"scope": scope, "cooloff": _duration(get_cool_off(request))},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    return response.render()
