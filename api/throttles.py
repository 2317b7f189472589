"""Rate limits per token and per address, counted in the shared cache (Redis in production),
so every web process counts the same calls; a refusal says when to try again (Retry-After)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self) -> str:
        # Read at each call, not at import, so a deployment (or a test) can change it.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]


class TokenThrottle(_SettingsRate):
    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        # The digest, not the id: unique across databases sharing one cache.
        return f"api-throttle:token:{request.auth.digest[:24]}"


class AddressThrottle(_SettingsRate):
    scope = "address"

    def get_cache_key(self, request, view) -> str:
        return f"api-throttle:address:{self.get_ident(request)}"
