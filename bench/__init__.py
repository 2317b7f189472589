"""Benchmarks of MSP Portal: `make bench` runs them all and writes bench/results/latest.json."""

import os

# The benchmarks drive the portal through Django's test client over plain HTTP, never serve it.
for _name, _value in {
    "DJANGO_SETTINGS_MODULE": "msp_portal.settings",
    "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key-0123456789",
    "HTTPS_ONLY": "false",
    "STATIC_MANIFEST": "false",
    "WHITENOISE_USE_FINDERS": "true",
    "TWO_FACTOR_REQUIRED": "false",
    # As deployed (docker-compose): Redis is the cache, and sessions are read from it.
    "CACHE_URL": "redis://127.0.0.1:6379/15",
}.items():
    os.environ.setdefault(_name, _value)
