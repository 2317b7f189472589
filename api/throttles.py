"""Rate limits per token and per address, counted in the shared cache (Redis in production),
so every web process counts the same calls; a refusal says when to try again (Retry-After).

Each limit counts calls in fixed windows (a minute for "600/min"): one atomic increment of one
number per call. DRF's SimpleRateThrottle keeps the time of every call in the window as a list,
reads it and writes it back on every call (two round trips, and a pickled list of up to the
rate's count), and two concurrent calls read the same list, so one of them goes uncounted. A
fixed window lets a client spend one window's calls at its end and the next window's at the next
start; for limits meant to stop abuse, not to meter, that is the usual trade (GitHub's and
Stripe's API limits are windows too).
"""

import math

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


def window_count(key: str, seconds: int) -> int:
    """Add one to the count at key, which lives `seconds`, and return the new count.

    On Redis one round trip (SET NX with expiry, then INCR, pipelined), whatever else shares
    the cache; on another cache (locmem in the demo and tests) Django's add and incr.
    """
    shared = caches["default"]
    if isinstance(shared, RedisCache):
        full_key = shared.make_and_validate_key(key)
        # The cache's own Redis client: its servers, options and connection pool (Django's
        # RedisCache keeps it as _cache, since 4.0); the cache's API has no pipeline.
        client = shared._cache.get_client(full_key, write=True)
        pipeline = client.pipeline(transaction=False)
        pipeline.set(full_key, 0, ex=seconds, nx=True)
        pipeline.incr(full_key)
        return pipeline.execute()[1]
    shared.add(key, 0, seconds)
    try:
        return shared.incr(key)
    except ValueError:  # the window's key expired between add and incr
        shared.add(key, 1, seconds)
        return 1


class _WindowThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        # Read at each call, not at import, so a deployment (or a test) can change it.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        return window_count(f"{key}:{window}", self.duration) <= self.num_requests

    def wait(self) -> int:
        return max(1, math.ceil(self.wait_seconds))


class TokenThrottle(_WindowThrottle):
    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        # The digest, not the id: unique across databases sharing one cache.
        return f"api-throttle:token:{request.auth.digest[:24]}"


class AddressThrottle(_WindowThrottle):
    scope = "address"

    def get_cache_key(self, request, view) -> str:
        return f"api-throttle:address:{self.get_ident(request)}"
