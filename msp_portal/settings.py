"""The one settings module, driven by the environment (see .env.example for every variable)."""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY in the environment "
            "(see .env.example), or DEBUG=true for a local demo."
        )
    SECRET_KEY = "insecure-demo-key-only-for-debug-mode-never-use-in-production-0123456789"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# onprem: the system administrator switches MSP mode on; saas: they file a request an operator fulfils.
DEPLOYMENT_MODE = env.str("DEPLOYMENT_MODE", default="onprem")
if DEPLOYMENT_MODE not in {"onprem", "saas"}:
    raise ImproperlyConfigured(
        f"DEPLOYMENT_MODE must be 'onprem' or 'saas', not {DEPLOYMENT_MODE!r}."
    )

INSTALLED_APPS = [
    # django.contrib.admin with the portal's site: its password change is audited (T3).
    "accounts.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "template_partials",
    "django_filters",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Customers' own identity providers (I1): allauth's OpenID Connect and SAML providers, the
    # apps built per customer from sso.IdentityProvider rows (sso/adapter.py), never a signup.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "msp_portal",
    "itsm_sync",
    "accounts",
    "catalog",
    "customers",
    "credits",
    "entitlements",
    # Approval steps of requests, decided in the portal or from signed e-mail links (R3).
    "approvals",
    # Approved requests as ITSM work orders or incidents; status and notes back (R4).
    "fulfilment",
    "sso",
    # The JSON API (DESIGN.md §8) over every app's services and selectors, and its schema.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    # Signed webhooks (A2): endpoints, the outbox of deliveries, and their sending.
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Facts asked by several layers while serving one request are read once (msp_portal/memo.py).
    "msp_portal.memo.RequestMemoMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.sessions.EndedAccountSessionMiddleware",
    # A signed-in person's pages and exports are never kept by a browser or a shared cache.
    "msp_portal.middleware.NoStoreWhenSignedInMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.twofactor.TwoFactorMiddleware",
    "msp_portal.tenancy.ActingAsMiddleware",
    # Axes must come last so it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "msp_portal.urls"

# The JSON API (api/): personal bearer tokens only, problem details (RFC 9457) for every error,
# keyset pages, and rate limits kept in the shared cache (Redis in production) per token and
# per address.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.TokenPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Per token here; per address in api.base.ApiView, before the token is looked up.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.TokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_RATE_PER_TOKEN", default="600/min"),
        "address": env.str("API_RATE_PER_ADDRESS", default="1200/min"),
    },
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MSP Portal API",
    "DESCRIPTION": "Everything a person does in the portal, with a personal token that carries "
    "its owner's roles and scope (DESIGN.md §8). Send `Authorization: Bearer <token>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RequestStatus": "entitlements.models.RequestStatus.choices",
        "SyncStatus": "itsm_sync.models.SyncStatus.choices",
        "SyncKind": "itsm_sync.models.SyncKind.choices",
        "EntryKind": "credits.models.EntryKind.choices",
        "QuestionKind": "catalog.models.QuestionKind.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.problems.document_problems",
    ],
}
WSGI_APPLICATION = "msp_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "msp_portal.context_processors.portal",
            ],
        },
    },
]

# SQLite is for the zero-setup demo only; production and the test suite use PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'demo.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A connection is kept between requests (bench/load: a new one per request doubled the cost of
# the cheapest page) and checked before reuse, so a restarted PostgreSQL costs no failed request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The busiest queries (each page's user, the customers list) run as prepared statements
# (msp_portal/fast_sql.py). A pooler in transaction mode (PgBouncer's default) hands each
# statement to any server connection, where they may not exist: switch them off behind one, as
# Django's DISABLE_SERVER_SIDE_CURSORS is.
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.PortalBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Two-factor sign-in (TOTP, with recovery codes) for MSP staff: system and catalog administrators.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=True)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="MSP Portal")

# Sign-in through a customer's identity provider (I1, sso/): allauth does the protocols, the
# portal decides who may come in (sso.adapter). Secrets of OpenID Connect clients are kept
# encrypted in the database with a key derived from SSO_SECRET_KEY (SECRET_KEY when unset).
SOCIALACCOUNT_ADAPTER = "sso.adapter.PortalSocialAccountAdapter"
ACCOUNT_ADAPTER = "sso.adapter.PortalAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = False
SSO_SECRET_KEY = env.str("SSO_SECRET_KEY", default="") or SECRET_KEY
# How long discovery and metadata downloads may take, in seconds.
SSO_FETCH_TIMEOUT = env.float("SSO_FETCH_TIMEOUT", default=5.0)
# The provider's own OpenID Connect identity provider for MSP staff (off while no issuer is set):
# staff whose e-mail is in one of its domains sign in there, and two-factor is then its business.
SSO_STAFF_PROVIDER = {
    "issuer": env.str("SSO_STAFF_PROVIDER_ISSUER", default=""),
    "client_id": env.str("SSO_STAFF_PROVIDER_CLIENT_ID", default=""),
    "secret": env.str("SSO_STAFF_PROVIDER_SECRET", default=""),
    "scopes": env.str("SSO_STAFF_PROVIDER_SCOPES", default="openid email profile"),
    "domains": env.list("SSO_STAFF_PROVIDER_DOMAINS", default=[]),
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (accounts.throttle): a username at one address waits AXES_COOLOFF_TIME after
# AXES_FAILURE_LIMIT failures; the address itself waits once sign-ins of
# AXES_ADDRESS_USERNAME_LIMIT different usernames failed from it (password spraying).
AXES_HANDLER = "accounts.throttle.LoginThrottle"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_USERNAME_LIMIT = env.int("AXES_ADDRESS_USERNAME_LIMIT", default=8)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
# Behind a reverse proxy every request comes from the proxy's address: name how many proxies
# (each appending to X-Forwarded-For) stand in front, so throttling sees the client's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_address"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: console in the demo, SMTP (EMAIL_URL) in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Absolute address of the portal, for links in e-mails (invitations, alerts).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="MSP Portal <portal@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers. HTTPS_ONLY (on whenever DEBUG is off) makes cookies secure and redirects
# plain HTTP; put the portal behind a TLS-terminating proxy that sets X-Forwarded-Proto.
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
# No inline script or style anywhere: every script and stylesheet is a file under static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Celery: without a broker (the demo) tasks run eagerly in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks never reach a broker; naming the in-memory one keeps kombu from warning
    # "No hostname was supplied" about the AMQP default on every command.
    CELERY_BROKER_URL = "memory://localhost/"
# An eager task's error is raised where it was sent (the tests see every follow-up's failure).
# The demo turns it off (Makefile): there, as with a worker, a follow-up that fails after the
# user's change has committed is logged, and the user is not shown an error for a saved change.
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# The visibility timeout must outlast the hard limit, or Redis hands a running task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
CELERY_TIMEZONE = TIME_ZONE

# ITSM sync (S1–S3): schedules, retries of transient source failures, and run history.
# The source itself is configured by ITSM_URL, ITSM_USER, ITSM_PASSWORD, ITSM_PAGE_SIZE, ...,
# read by itsm_sync.sources.SourceConfig.from_env().
# C1: the MSP's own company (its staff's), never a customer. Empty: the Service Provider
# company the staff (accounts holding an MSP role) belong to.
MSP_PROVIDER_COMPANY = env("MSP_PROVIDER_COMPANY", default="")
ITSM_SYNC_INCREMENTAL_MINUTES = env.int("ITSM_SYNC_INCREMENTAL_MINUTES", default=10)
ITSM_SYNC_FULL_HOUR = env.int("ITSM_SYNC_FULL_HOUR", default=2)
ITSM_SYNC_TASK_RETRIES = env.int("ITSM_SYNC_TASK_RETRIES", default=3)
ITSM_SYNC_RETRY_BACKOFF_SECONDS = env.float("ITSM_SYNC_RETRY_BACKOFF_SECONDS", default=30.0)
ITSM_SYNC_HISTORY_DAYS = env.int("ITSM_SYNC_HISTORY_DAYS", default=90)
# Without PostgreSQL's advisory locks a run's claim is taken over once its heartbeat is this old.
ITSM_SYNC_LOCK_STALE_SECONDS = env.int(
    "ITSM_SYNC_LOCK_STALE_SECONDS", default=CELERY_TASK_TIME_LIMIT * 2
)

# A full run through Celery goes in steps: each task pauses the run after the first page that
# ends past this many seconds (well inside the soft time limit) and hands it to a new task.
ITSM_SYNC_STEP_SECONDS = env.float(
    "ITSM_SYNC_STEP_SECONDS", default=CELERY_TASK_SOFT_TIME_LIMIT * 0.8
)
# A paused run whose next step has not begun for this long is closed as interrupted by the
# next run of its kind; until then that run is refused as "already running".
ITSM_SYNC_PAUSE_STALE_SECONDS = env.int("ITSM_SYNC_PAUSE_STALE_SECONDS", default=3600)

# Webhooks (A2): a delivery is tried WEBHOOK_MAX_ATTEMPTS times, waiting WEBHOOK_RETRY_BASE_SECONDS
# after the first failure and twice as long after each next one (at most WEBHOOK_RETRY_MAX_SECONDS);
# each POST waits WEBHOOK_TIMEOUT_SECONDS for an answer.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Deliveries never go to local, private or reserved addresses (an endpoint must not reach inside
# the MSP's network) unless this is on, for receivers inside it.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
# The delivery log keeps finished deliveries this many days (the sweep drops older ones).
WEBHOOK_LOG_DAYS = env.int("WEBHOOK_LOG_DAYS", default=30)
# The sweep leaves a due delivery this long to its own queued task before enqueueing another, and
# takes an attempt still "sending" after WEBHOOK_STALE_SENDING_SECONDS as cut off by a stopped worker.
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=60.0)
WEBHOOK_STALE_SENDING_SECONDS = env.float(
    "WEBHOOK_STALE_SENDING_SECONDS", default=WEBHOOK_TIMEOUT_SECONDS * 3 + 60
)

# Fulfilment in the ITSM (R4, fulfilment/). The ticket field carrying the portal's reference to its
# request: SRID is the field Remedy itself links a work order or incident to the service request
# that made it (the SRM request id), searchable on both forms and left alone by technicians, so a
# lookup by it finds the one ticket an earlier, unanswered attempt made; set another field here
# where an MSP uses SRID for its own Service Request Management.
FULFILMENT_REFERENCE_FIELD = env.str("FULFILMENT_REFERENCE_FIELD", default="SRID")
# Written before the request's number; it names this portal among others writing to one ITSM.
FULFILMENT_REFERENCE_PREFIX = env.str("FULFILMENT_REFERENCE_PREFIX", default="MSP-PORTAL-")
# A push the ITSM did not take is tried FULFILMENT_MAX_ATTEMPTS times, waiting
# FULFILMENT_BACKOFF_SECONDS, then twice as long each time; then it is stuck (the Fulfilment page).
FULFILMENT_MAX_ATTEMPTS = env.int("FULFILMENT_MAX_ATTEMPTS", default=5)
FULFILMENT_BACKOFF_SECONDS = env.float("FULFILMENT_BACKOFF_SECONDS", default=30.0)
# A worker holds a push this long for one attempt; one that died lets go when it passes.
FULFILMENT_PUSH_LEASE_SECONDS = env.int("FULFILMENT_PUSH_LEASE_SECONDS", default=120)
# One push task sends up to this many due pushes (claimed together, one ITSM session).
FULFILMENT_PUSH_BATCH = env.int("FULFILMENT_PUSH_BATCH", default=20)
# ... sent this many at a time, each thread its own ITSM session.
FULFILMENT_PUSH_THREADS = env.int("FULFILMENT_PUSH_THREADS", default=4)
# How often status and public notes are read back (a change shows within one interval).
FULFILMENT_POLL_SECONDS = env.float("FULFILMENT_POLL_SECONDS", default=30.0)
# Without ITSM_URL, tickets go to the AR simulator started in-process on this port (its technician
# console at /__sim/console): `make run` sets it; 0 (the default) wants ITSM_URL.
FULFILMENT_DEMO_SIMULATOR_PORT = env.int("FULFILMENT_DEMO_SIMULATOR_PORT", default=0)

# Approvals (R3, approvals/): e-mailed approve/reject links expire after this many days (the
# e-mail says so); a step left waiting this many days is reminded once per interval (0: never).
APPROVAL_LINK_MAX_AGE_DAYS = env.int("APPROVAL_LINK_MAX_AGE_DAYS", default=7)
APPROVAL_REMINDER_DAYS = env.int("APPROVAL_REMINDER_DAYS", default=3)

# Every periodic job, in one place.
CELERY_BEAT_SCHEDULE = {
    # M3: find and neutralise external users or collaboration groups that slipped in after
    # MSP mode was switched on (raw SQL, a sync, a restored backup).
    "msp-compliance": {
        "task": "customers.msp_compliance",
        "schedule": env.float("MSP_COMPLIANCE_INTERVAL_SECONDS", default=900.0),
    },
    # S1: incremental ITSM sync, companies then people, every ITSM_SYNC_INCREMENTAL_MINUTES.
    "itsm-sync-incremental": {
        "task": "itsm_sync.sync_all",
        "schedule": ITSM_SYNC_INCREMENTAL_MINUTES * 60.0,
        "kwargs": {"full": False},
        "options": {"expires": ITSM_SYNC_INCREMENTAL_MINUTES * 60.0},
    },
    # S1/S3: nightly full reconcile at ITSM_SYNC_FULL_HOUR:00 (TIME_ZONE); guarded deactivations.
    "itsm-sync-full": {
        "task": "itsm_sync.sync_all",
        "schedule": crontab(hour=ITSM_SYNC_FULL_HOUR, minute=0),
        "kwargs": {"full": True},
        "options": {"expires": 3600.0},
    },
    # K2: nightly check that every credit balance equals the sum of its ledger.
    "credits-reconcile": {
        "task": "credits.reconcile",
        "schedule": crontab(hour=env.int("CREDITS_RECONCILE_HOUR", default=3), minute=30),
    },
    # A2: webhook deliveries whose retry is due, or whose send was lost, are sent again.
    "webhooks-sweep": {
        "task": "webhooks.sweep",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # R4: pushes whose retry is due are sent again; ticket status and public notes are read back.
    "fulfilment-poll": {
        "task": "fulfilment.poll",
        "schedule": FULFILMENT_POLL_SECONDS,
        "options": {"expires": FULFILMENT_POLL_SECONDS},
    },
    # R3: approvers of steps waiting longer than APPROVAL_REMINDER_DAYS are reminded (once per
    # interval per step, however often this runs).
    "approvals-remind": {
        "task": "approvals.remind",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Follow-up tasks kept while the broker was unreachable (msp_portal.outbox): send them again.
    "flush-pending-tasks": {
        "task": "msp_portal.flush_pending_tasks",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}

CACHES = {
    "default": (
        env.cache("CACHE_URL")
        if env.str("CACHE_URL", default="")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# With a cache every process shares (Redis, Memcached, the database) sessions are read from it
# and written through to the database: one query less on every request. A per-process or
# per-host cache (locmem, file) would let one process keep a session another has ended, so
# then they stay in the database alone.
SHARED_CACHES = (
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django.core.cache.backends.db.DatabaseCache",
)
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHES["default"]["BACKEND"] in SHARED_CACHES
    else "django.contrib.sessions.backends.db"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
if CELERY_TASK_ALWAYS_EAGER:
    # In-process tasks (the demo) would log "Task … succeeded" after every follow-up step; a
    # worker keeps those lines.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
