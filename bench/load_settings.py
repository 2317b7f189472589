"""Settings of the gunicorn that bench/load drives: the deployed settings, plus one minimal view.

Nothing else differs from msp_portal.settings; the environment (DEBUG off, the manifest static
storage, Redis, two-factor sign-in for staff) is set by bench/load.py as docker-compose sets it.
"""

from msp_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
