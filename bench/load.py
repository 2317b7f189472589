"""Signed-in users on gunicorn, one and fifty at a time (issue 13 item 11, DESIGN §5).

gunicorn serves the portal as docker-compose deploys it: `msp_portal.wsgi`, 3 workers of 16 threads, DEBUG
off, the manifest static storage after a collectstatic, Redis as the cache (so sessions are read
from it), Redis as the Celery broker, two-factor sign-in for staff, database connections kept
60 s (DB_CONN_MAX_AGE unset, its default), an access log; plain HTTP only (HTTPS_ONLY=false, no TLS proxy
in front). The one addition is a minimal view (bench/load_urls.py, reachable only under
bench/load_settings.py) that runs the whole middleware stack and nothing else: every page pays
that floor, so it is what the pages are measured against. (The sign-in page would be the
existing candidate, but it renders a form, and it redirects a signed-in visitor.)

The users sign in as a browser does: the sign-in form with its CSRF token, then for staff the
code of their authenticator app; each keeps its session cookie and the CSRF token of the page it
was shown. wrk (Debian's) sends their requests through bench/load.lua, on:
  the minimal view, the end-user catalog, a service page, a request submission (a POST of the
  service page's form with a fresh submission key each time, for a priced service, debiting the
  customer's credits), the same two for a service asking 20 questions of every kind, one of them
  shown only for an earlier answer (issue 15's target: its form renders and submits at the pace
  of the plain one; the submission answers all 20), and the customers list (catalog
  administrators);
each page three ways:
  1 user, each request sent as soon as the last answered: the page's own pace (p50);
  50 users at a brisk human pace (a pause of 1–3 s, 2 s on average, between their pages):
    the pace they get when many use it (p95, target ≤ 4× the 1-user p50);
  50 users, no pause: the most the server gives (requests/s, as a share of the minimal view's).
An error is any answer other than the page's success (200, or the 302 after a submission; a
trip back to sign in counts), a refused connection or a timeout; target 0.

The world: a customer with 600 people brought in as end users, a catalog of 500 services (200
assigned to the customer, offered through 8 marketplaces of every audience kind), 10 million
credits, 149 other customers, 50 catalog administrators; built once in its own PostgreSQL
database `bench_load` and kept (with the users' sessions) between runs. The service with 20
questions is added to a world built before it existed, once (world_build looks for it).
    python -m bench.load [--quick]
"""

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPCookieProcessor, Request, build_opener

from bench.common import row

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("load.lua")
STATE = Path(tempfile.gettempdir()) / "msp-portal-bench-load"
DBNAME = "bench_load"
REDIS = "redis://127.0.0.1:6379"
CACHE_DB, BROKER_DB = 12, 11
SECRET_KEY = "bench-load-only-secret-key-never-for-a-deployment-0123456789"
PASSWORD = "Load-bench-password-7"  # of the bench's own accounts, in the bench's own database
WORKERS = 3  # as docker-compose's web service
USERS = 50
THINK_MS = 2000  # a user's mean pause between pages under load: brisk for a person
P95_TARGET = 4  # × the 1-user p50 of the same page
SECONDS = {"single": 4, "paced": 10, "flat": 5}
SECONDS_QUICK = {"single": 2, "paced": 5, "flat": 3}
WORLD = {
    "people": 600,
    "services": 500,
    "assigned": 200,
    "customers": 150,
    "end_users": USERS,
    "catalog_admins": USERS,
}
MAIN_COMPANY = "BLOAD-MAIN"
QUESTIONS_SERVICE = "Load questionnaire"
QUESTIONS = 20
MINIMAL_PATH = "/bench/minimal/"


# ---------------------------------------------------------------------------------------------
# The world: built through the services, as staff would, in one transaction (all or nothing).
# ---------------------------------------------------------------------------------------------

ORGS = [
    ("Finance", ["Payroll", "Accounts", "Audit"]),
    ("Information Technology", ["Service Desk", "Networks", "Development"]),
    ("Sales", ["Inside Sales", "Field Sales", "Partners"]),
    ("Human Resources", ["Recruiting", "People Care", "Training"]),
    ("Operations", ["Logistics", "Facilities", "Procurement"]),
]
SITES = ["Amsterdam", "Berlin", "Lisbon", "Madrid", "Paris", "Warsaw"]


def world_build(
    *,
    people: int = WORLD["people"],
    services: int = WORLD["services"],
    assigned: int = WORLD["assigned"],
    customers: int = WORLD["customers"],
    end_users: int = WORLD["end_users"],
    catalog_admins: int = WORLD["catalog_admins"],
) -> dict:
    """Build the world once (Django set up on its database) and say who signs in where."""
    from django.db import transaction
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from credits.models import CreditAccount
    from credits.services import credit_grant
    from customers.models import Customer
    from customers.services import msp_enable

    msp_enable(actor=None, actor_label="bench/load")
    with transaction.atomic():
        if not Customer.objects.filter(company__entry_id=MAIN_COMPANY).exists():
            _world_create(
                people=people,
                services=services,
                assigned=assigned,
                customers=customers,
                end_users=end_users,
                catalog_admins=catalog_admins,
            )
    customer = Customer.objects.get(company__entry_id=MAIN_COMPANY)
    with transaction.atomic():
        asked = _questions_ensure(customer)
    account = CreditAccount.objects.get(customer=customer)
    if account.balance < 1_000_000:  # every submission spends 12.50
        credit_grant(
            actor=None,
            customer=customer,
            amount=10_000_000,
            reason="Load bench top-up",
            idempotency_key=f"load:top-up:{secrets.token_hex(8)}",
        )
    service = customer.assignments.select_related("service").get(service__name="Load laptop")
    admins = User.objects.filter(username__startswith="load-catadmin-").order_by("username")
    return {
        "end_users": list(
            User.objects.filter(username__startswith="load-user-")
            .order_by("username")
            .values_list("username", flat=True)
        ),
        "catalog_admins": [
            {"username": a.username, "totp_key": TOTPDevice.objects.get(user=a).key} for a in admins
        ],
        "password": PASSWORD,
        "catalog": reverse("portal:catalog"),
        "service": reverse("portal:service_detail", args=[service.service_id]),
        "submit": reverse("portal:request_create", args=[service.service_id]),
        "questions_service": reverse("portal:service_detail", args=[asked.pk]),
        "questions_submit": reverse("portal:request_create", args=[asked.pk]),
        "questions_body": _answers_body(asked),
        "customers": reverse("customers:customer_list"),
    }


# The kinds of question the questionnaire cycles through, with the answer the bench gives.
QUESTION_KINDS = [
    ("short_text", [], "Desk 4.12, second floor"),
    ("long_text", [], "Docking station at the desk.\nA second screen if there is one."),
    ("number", [], "2"),
    ("date", [], "2026-03-02"),
    ("single_choice", ["Windows", "macOS", "Linux"], "Linux"),
    ("multiple_choice", ["Keyboard", "Mouse", "Headset", "Webcam"], ["Mouse", "Headset"]),
    ("yes_no", [], "yes"),
    ("colleague", [], None),  # a colleague of the same customer: their account's id
]


def _questions_ensure(customer):
    """The service asking QUESTIONS questions of every kind, assigned to the main customer and
    offered to everyone there: made once, through the services a catalog administrator uses (a
    world built before it existed gains it on its next run). The last question is shown only
    when the first yes/no question is answered yes."""
    from decimal import Decimal

    from accounts.models import User
    from catalog.models import Category, ConditionOperator, Service, ServiceStatus
    from catalog.services import question_add
    from customers.services import customer_services_add
    from entitlements.models import AudienceKind
    from entitlements.services import (
        audience_rule_add,
        marketplace_create,
        marketplace_services_add,
    )

    found = Service.objects.filter(name=QUESTIONS_SERVICE).first()
    if found is not None:
        return found
    staff = User.objects.filter(username__startswith="load-catadmin-").order_by("username")[0]
    admin = customer.administrators.select_related("user").order_by("id")[0].user
    service = Service.objects.create(
        name=QUESTIONS_SERVICE,
        description="A laptop configured to the answers of a 20-question form.",
        category=Category.objects.order_by("id")[0],
        status=ServiceStatus.PUBLISHED,
        price=Decimal("12.50"),
    )
    customer_services_add(actor=staff, customer=customer, services=[service])
    market = marketplace_create(actor=admin, customer=customer, name="Questionnaires")
    marketplace_services_add(actor=admin, marketplace=market, services=[service])
    audience_rule_add(actor=admin, marketplace=market, kind=AudienceKind.EVERYONE)
    asked = []
    for i in range(QUESTIONS):
        kind, choices, _ = QUESTION_KINDS[i % len(QUESTION_KINDS)]
        condition = {}
        if i == QUESTIONS - 1:
            condition = {
                "condition_question": next(q for q in asked if q.kind == "yes_no"),
                "condition_operator": ConditionOperator.IS,
                "condition_value": "yes",
            }
        asked.append(
            question_add(
                actor=staff,
                service=service,
                kind=kind,
                label=f"Question {i + 1} ({kind.replace('_', ' ')})",
                help_text="Asked by the load bench.",
                required=True,
                choices=choices or None,
                **condition,
            )
        )
    return service


def _answers_body(service) -> str:
    """The request form's fields answering every question of service (urlencoded; the Lua script
    adds the submission key and the CSRF token)."""
    from accounts.models import User

    colleague = User.objects.filter(username__startswith="load-person-").order_by(
        "username"
    ).first() or User.objects.get(username="load-custadmin")
    fields: list[tuple[str, str]] = [("quantity", "1"), ("justification", "Load bench")]
    for question in service.questions.order_by("position"):
        answer = next(a for k, _, a in QUESTION_KINDS if k == question.kind)
        if question.kind == "colleague":
            answer = str(colleague.pk)
        for value in answer if isinstance(answer, list) else [answer]:
            fields.append((f"q_{question.pk}", value))
    return urlencode(fields)


def _world_create(*, people, services, assigned, customers, end_users, catalog_admins) -> None:
    from decimal import Decimal

    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from accounts.roles import CATALOG_ADMIN
    from accounts.services import user_role_grant
    from catalog.models import Category, Service, ServiceStatus
    from credits.services import credit_grant
    from customers.services import customer_add, end_user_filter_save
    from entitlements.models import AudienceKind
    from entitlements.services import (
        audience_rule_add,
        marketplace_create,
        marketplace_services_add,
    )
    from itsm_sync.models import Company, CompanyType, Person, RecordStatus

    now = timezone.now()
    # One hash for every bench account, made by the deployed hasher: signing in costs what it costs.
    password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())

    def company(entry_id: str, name: str, kind=CompanyType.CUSTOMER) -> Company:
        return Company.objects.create(
            entry_id=entry_id,
            name=name,
            company_type=kind,
            status=RecordStatus.ENABLED,
            last_modified=now,
        )

    def person(company: Company, n: int, login: str, org: int, dept: int) -> Person:
        first, last = f"First{n % 97}", f"Last{n % 101:03d}"
        return Person(
            person_id=f"{company.entry_id}-P{n:05d}",
            remedy_login_id=login,
            first_name=first,
            last_name=last,
            email=f"{login}@load.example",
            company=company,
            organization=ORGS[org % len(ORGS)][0],
            department=ORGS[org % len(ORGS)][1][dept % 3],
            region="Europe",
            site_group="Central",
            site=SITES[n % len(SITES)],
            client_type="Office-Based Employee",
            vip=n % 50 == 0,
            profile_status=RecordStatus.ENABLED,
            last_modified=now,
        )

    provider = company("BLOAD-PROVIDER", "Load Bench Provider", CompanyType.SERVICE_PROVIDER)
    staff = User.objects.bulk_create(
        User(
            username=f"load-catadmin-{i:02d}",
            first_name="Catalog",
            last_name=f"Admin {i:02d}",
            email=f"load-catadmin-{i:02d}@provider.example",
            company=provider,
            password=password,
        )
        for i in range(catalog_admins)
    )
    for user in staff:
        user_role_grant(actor=None, user=user, role=CATALOG_ADMIN)
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    actor = staff[0]

    categories = Category.objects.bulk_create(
        Category(name=f"Load category {c:02d}", description="Services of the load bench.")
        for c in range(20)
    )
    catalog = [
        Service(
            name="Load laptop",
            description="A standard business laptop with docking station.",
            category=categories[0],
            status=ServiceStatus.PUBLISHED,
            price=Decimal("12.50"),
        )
    ]
    catalog += [
        Service(
            name=f"Load service {i:04d}",
            description=f"Service {i} of the load bench, described in a sentence or two.",
            category=categories[i % len(categories)],
            status=ServiceStatus.PUBLISHED,
            price=Decimal(i % 7 * 5),
            min_quantity=1 if i % 3 == 0 else None,
            max_quantity=10 if i % 3 == 0 else None,
        )
        for i in range(1, services)
    ]
    catalog = Service.objects.bulk_create(catalog)
    offered = catalog[:assigned]

    main = company(MAIN_COMPANY, "Load Bench Customer")
    admin_person = person(main, 0, "load-custadmin", 0, 0)
    admin_person.save()
    Person.objects.bulk_create(
        person(
            main,
            n,
            f"load-user-{n - 1:03d}" if n <= end_users else f"load-person-{n:04d}",
            n // 3,
            n // 7,
        )
        for n in range(1, people)
    )
    customer = customer_add(
        actor=actor,
        company=main,
        administrators=[admin_person],
        services=offered,
        credit_management=True,
        alert_threshold=Decimal(1000),
    )
    end_user_filter_save(actor=actor, customer=customer, name="Everyone", criteria={})
    admin = customer.administrators.get().user
    named = list(User.objects.filter(username__startswith="load-user-").order_by("username"))
    markets = [
        ("Standard", offered[0:40], [{"kind": AudienceKind.EVERYONE}]),
        ("Everyday extras", offered[100:120], [{"kind": AudienceKind.EVERYONE}]),
        (
            "Finance tools",
            offered[30:70],
            [{"kind": AudienceKind.GROUP, "organization": "Finance"}],
        ),
        (
            "IT kit",
            offered[60:100],
            [{"kind": AudienceKind.GROUP, "organization": "Information Technology"}],
        ),
        (
            "Field sales",
            offered[90:130],
            [{"kind": AudienceKind.GROUP, "organization": "Sales", "department": "Field Sales"}],
        ),
        (
            "Western sites",
            offered[120:160],
            [{"kind": AudienceKind.FILTER, "criteria": {"site": ["Lisbon", "Madrid", "Paris"]}}],
        ),
        (
            "People teams",
            offered[150:190],
            [
                {
                    "kind": AudienceKind.FILTER,
                    "criteria": {"organization": ["Human Resources", "Operations"]},
                }
            ],
        ),
        (
            "Early adopters",
            offered[170:200],
            [{"kind": AudienceKind.USER, "user": u} for u in named[::5]],
        ),
    ]
    for name, chosen, rules in markets:
        if not chosen or not rules:  # a small world (the test's) has fewer services and users
            continue
        market = marketplace_create(actor=admin, customer=customer, name=name)
        marketplace_services_add(actor=admin, marketplace=market, services=list(chosen))
        for rule in rules:
            audience_rule_add(actor=admin, marketplace=market, **rule)
    credit_grant(
        actor=actor,
        customer=customer,
        amount=Decimal(10_000_000),
        reason="Load bench opening balance",
        idempotency_key="load:opening",
    )
    User.objects.filter(username__startswith="load-user-").update(password=password)

    for c in range(1, customers):
        other = company(f"BLOAD-C{c:04d}", f"Load Customer {c:04d}")
        admin_person = person(other, 0, f"load-c{c:04d}-admin", c, c)
        admin_person.save()
        customer_add(
            actor=actor,
            company=other,
            administrators=[admin_person],
            services=offered[c % 190 : c % 190 + 10],
            credit_management=c % 3 == 0,
        )


def _world_main() -> None:
    """`python -m bench.load --world`: set up the bench database, build the world, print the plan."""
    from bench.common import django_setup

    django_setup(DBNAME)
    print("WORLD " + json.dumps(world_build()))


# ---------------------------------------------------------------------------------------------
# gunicorn as deployed
# docker-compose.yml's web service: gunicorn.conf.py (threaded workers; why, there). With 3 sync
# workers, 50 paced users waited behind each other's connections that were open but had sent
# nothing yet (p95 1.6 s for the minimal view at 3 % of its throughput).
GUNICORN_CONFIG = ["--config", str(ROOT / "gunicorn.conf.py")]
# ---------------------------------------------------------------------------------------------


def database_url(dbname: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    return base.rsplit("/", 1)[0] + f"/{dbname}"


def deployed_env(database: str, redis: str = REDIS) -> dict:
    """docker-compose's environment of the web service, with plain HTTP and bench/load's URLs."""
    kept = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    }
    return {
        **kept,
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database,
        "CACHE_URL": f"{redis}/{CACHE_DB}",
        "CELERY_BROKER_URL": f"{redis}/{BROKER_DB}",
        "DEPLOYMENT_MODE": "onprem",
        "HTTPS_ONLY": "false",
        "EMAIL_URL": "consolemail://",
        "STATIC_ROOT": str(STATE / "static"),
        "STATIC_MANIFEST": "true",
        "WHITENOISE_USE_FINDERS": "false",
        "TWO_FACTOR_REQUIRED": "true",
    }


def collectstatic(env: dict) -> subprocess.Popen:
    """docker-compose's collectstatic, into the bench's own STATIC_ROOT (started, not waited for)."""
    STATE.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One bench/load (or its test) at a time builds static files or serves on the Redis dbs."""
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _redis_flush(url: str, *dbs: int) -> None:
    import redis

    for db in dbs:
        try:
            redis.Redis.from_url(f"{url}/{db}").flushdb()
        except redis.ConnectionError as error:
            raise SystemExit(
                f"bench/load needs Redis at {url} (as deployed): start it with "
                "`redis-server --daemonize yes` and run again."
            ) from error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(database: str, *, redis: str = REDIS, workers: int = WORKERS) -> Iterator[str]:
    """gunicorn as docker-compose runs it, on a free local port; yields its base URL."""
    env = deployed_env(database, redis)
    with _locked("serving.lock"):
        static = collectstatic(env)
        output = static.communicate()[0]
        if static.returncode != 0:
            raise RuntimeError(f"collectstatic failed:\n{output[-3000:]}")
        _redis_flush(redis, CACHE_DB, BROKER_DB)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = STATE / "gunicorn.log"  # kept until the next run, to read after an error
        with open(log, "w") as out:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "msp_portal.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    *GUNICORN_CONFIG,
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_until_up(server, base, log)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            _redis_flush(redis, BROKER_DB)  # nothing should be queued; nothing is left behind


def _wait_until_up(server: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped:\n{log.read_text()[-3000:]}")
        try:
            if Browser(base).open(MINIMAL_PATH)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within 90 s:\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------------------------
# Signing in as a browser does
# ---------------------------------------------------------------------------------------------


class _Form(HTMLParser):
    """The fields of the first POST form of a page, as a browser would send them."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self._inside = self._done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self._done and (attrs.get("method") or "").lower() == "post":
            self._inside, self.action = True, attrs.get("action") or ""
        elif tag == "input" and self._inside and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self._inside:
            self._inside, self._done = False, True


def _form(page: str) -> _Form:
    form = _Form()
    form.feed(page)
    return form


class Browser:
    """Cookies kept and redirects followed, as a browser does; a form posts with its Origin."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar))

    def open(
        self, path: str, form: dict | None = None, headers: dict | None = None
    ) -> tuple[int, str, str]:
        """(status, path of the final answer, body)"""
        data = urlencode(form).encode() if form is not None else None
        extra = {"Origin": self.base} if form is not None else {}
        request = Request(self.base + path, data=data, headers={**extra, **(headers or {})})
        try:
            with self.opener.open(request, timeout=120) as response:
                return response.status, _path(response.url), response.read().decode()
        except HTTPError as error:
            return error.code, _path(error.url), error.read().decode(errors="replace")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def totp(key_hex: str, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows (RFC 6238: 30 s steps, HMAC-SHA1)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class SignInFailed(RuntimeError):
    pass


def sign_in(base: str, username: str, password: str, landing: str, totp_key: str = "") -> dict:
    """Sign in through the sign-in page (and the code page for staff); then open landing.

    Returns the user's cookie header and the CSRF token of the landing page's first form.
    """
    browser = Browser(base)
    where, page = "/login/", browser.open("/login/")[2]
    for _ in range(3):  # the e-mail first, then the password, as the page asks
        form = _form(page)
        if "username" not in form.fields:
            break
        fields = {**form.fields, "username": username}
        if "password" in form.fields:
            fields["password"] = password
        _, where, page = browser.open(form.action or where, fields)
        if not where.startswith("/login/"):
            break
    for _ in range(2):  # a code used already in this 30 s step is refused: wait for the next
        if not where.startswith("/two-factor/verify/"):
            break
        form = _form(page)
        _, where, page = browser.open(where, {**form.fields, "token": totp(totp_key)})
        if where.startswith("/two-factor/verify/"):
            time.sleep(30 - time.time() % 30 + 0.5)
    status, where, page = browser.open(landing)
    if status != 200 or where != landing:
        raise SignInFailed(
            f"{username} could not open {landing} after signing in: {status} {where}"
        )
    return {"username": username, "cookie": browser.cookie_header(), "token": _csrf(page)}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not found:
        raise SignInFailed("the page has no form with a CSRF token")
    return found.group(1)


def still_signed_in(base: str, session: dict, landing: str) -> bool:
    status, where, _ = Browser(base).open(landing, headers={"Cookie": session["cookie"]})
    return status == 200 and where == landing


def sessions_for(base: str, plan: dict, kept: dict | None = None) -> dict[str, list[dict]]:
    """A session for every user of the plan: one kept from an earlier run while it still opens
    its landing page, else a new sign-in. Signing in runs the deployed password hasher, about
    half a second of a core each, so sessions are kept between runs."""
    kept = kept or {}
    wanted = [(u, plan["service"], "") for u in plan["end_users"]] + [
        (a["username"], plan["customers"], a["totp_key"]) for a in plan["catalog_admins"]
    ]

    def one(item: tuple[str, str, str]) -> dict:
        username, landing, key = item
        session = kept.get(username)
        if session and still_signed_in(base, session, landing):
            return session
        return sign_in(base, username, plan["password"], landing, key)

    with ThreadPoolExecutor(max_workers=WORKERS + 1) as pool:
        sessions = {s["username"]: s for s in pool.map(one, wanted)}
    return {
        "end_user": [sessions[u] for u in plan["end_users"]],
        "catalog_admin": [sessions[a["username"]] for a in plan["catalog_admins"]],
    }


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------


def wrk_path() -> str:
    """wrk from Debian, installed the way .ci/run installs packages when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("bench/load needs wrk: `sudo apt-get install -y wrk`, then run again.")
    print("installing wrk (apt-get install wrk)…", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL
    )
    return shutil.which("wrk") or "wrk"


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    who: str  # whose sessions: "end_user" or "catalog_admin"
    method: str = "GET"
    expect: int = 200
    body: str = ""


def pages(plan: dict) -> list[Page]:
    return [
        Page("minimal view", MINIMAL_PATH, "end_user"),
        Page("end-user catalog", plan["catalog"], "end_user"),
        Page("service page", plan["service"], "end_user"),
        Page(
            "request submission",
            plan["submit"],
            "end_user",
            method="POST",
            expect=302,
            body="quantity=1&justification=Load+bench",
        ),
        Page(f"service page, {QUESTIONS} questions", plan["questions_service"], "end_user"),
        Page(
            f"request submission, {QUESTIONS} questions",
            plan["questions_submit"],
            "end_user",
            method="POST",
            expect=302,
            body=plan["questions_body"],
        ),
        Page("customers list", plan["customers"], "catalog_admin"),
    ]


def wrk(base: str, page: Page, users: list[dict], *, seconds: float, think_ms: int = 0) -> dict:
    """One wrk run: len(users) connections, one user each at a time, taking turns."""
    STATE.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=STATE, suffix=".tsv", delete=False) as file:
        file.writelines(f"{u['cookie']}\t{u['token']}\n" for u in users)
    env = {
        **os.environ,
        "LOAD_SESSIONS": file.name,
        "LOAD_METHOD": page.method,
        "LOAD_PATH": page.path,
        "LOAD_EXPECT": str(page.expect),
        "LOAD_BODY": page.body,
        "LOAD_ORIGIN": base,
        "LOAD_THINK_MS": str(think_ms),
        "LOAD_NONCE": secrets.token_hex(4),
    }
    command = [wrk_path(), "-t", "1", "-c", str(len(users)), "-d", f"{seconds}s"]
    command += ["--timeout", "30s", "-s", str(LUA), base + page.path]
    try:
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 90
        )
    finally:
        os.unlink(file.name)
    line = next((x for x in result.stdout.splitlines() if x.startswith("LOAD ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    stats = json.loads(line[len("LOAD ") :])
    socket_errors = sum(stats[k] for k in ("connect", "read", "write", "timeout"))
    stats["errors"] = stats["wrong_status"] + socket_errors
    stats["rps"] = stats["requests"] / stats["seconds"] if stats["seconds"] else 0.0
    return stats


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def _world() -> dict:
    """Build (or find) the world in its database, in a child process: the benches before this one
    may have set Django up on another database."""
    signature = json.dumps({"db": DBNAME, **WORLD}, sort_keys=True)
    STATE.mkdir(parents=True, exist_ok=True)
    mark = STATE / "world.json"
    if mark.exists() and mark.read_text() != signature:
        _drop_database()
        (STATE / "sessions.json").unlink(missing_ok=True)
    env = {**os.environ, "EMAIL_URL": "dummymail://", "LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", "--world"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WORLD ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"building the world failed:\n{result.stdout}\n{result.stderr}")
    mark.write_text(signature)
    return json.loads(line[len("WORLD ") :])


def _drop_database() -> None:
    import psycopg2

    conn = psycopg2.connect(database_url("postgres"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DBNAME} WITH (FORCE)")
    conn.close()


def _warm_up(base: str, sessions: dict[str, list[dict]], plan: dict) -> None:
    """Before anything is timed, every worker has imported and compiled what the pages use, and
    every thread a run may use has its database connection: a server in use keeps them (for
    DB_CONN_MAX_AGE), one just started opens them on its first requests, which made the first
    paced run (the minimal view's) twice as slow at p95 as the same run again."""
    for page in pages(plan):
        if page.method == "POST":
            continue  # its form is the service page's, warmed up there
        for _ in range(2 * WORKERS):
            Browser(base).open(page.path, headers={"Cookie": sessions[page.who][0]["cookie"]})
    minimal = pages(plan)[0]
    wrk(base, minimal, sessions[minimal.who][:USERS], seconds=2)
    drain(base)


def measure(base: str, plan: dict, sessions: dict, seconds: dict) -> dict[str, dict]:
    """Every page three ways; the pages take turns within each way, so a busy moment of the
    machine falls on a page and its reference alike."""
    results: dict[str, dict] = {p.label: {} for p in pages(plan)}
    for mode in ("single", "paced", "flat"):
        for page in pages(plan):
            users = sessions[page.who][:1] if mode == "single" else sessions[page.who][:USERS]
            think = THINK_MS if mode == "paced" else 0
            results[page.label][mode] = wrk(
                base, page, users, seconds=seconds[mode], think_ms=think
            )
            drain(base)
    return results


def drain(base: str) -> None:
    """Wait for gunicorn to finish what a run left queued: wrk stops waiting when its time is
    up, but requests already sent are still served, and would slow the next run down. Requests
    are taken in order, so once one per worker is answered, nothing older is left."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda _: Browser(base).open(MINIMAL_PATH), range(WORKERS)))


def rows_of(results: dict[str, dict], load: tuple[float, float]) -> list[dict]:
    minimal = results["minimal view"]
    rows = []
    for label, runs in results.items():
        single, paced, flat = runs["single"], runs["paced"], runs["flat"]
        is_minimal = label == "minimal view"
        errors = sum(r["errors"] for r in runs.values())
        requests = sum(r["requests"] for r in runs.values())
        p95_ratio = paced["p95_ms"] / single["p50_ms"] if single["p50_ms"] else None
        rows += [
            row(
                f"{label}: 1 user, p50",
                single["p50_ms"],
                "ms",
                target="(reference)" if is_minimal else "(× minimal view)",
                reference=None if is_minimal else minimal["single"]["p50_ms"],
                ratio=None if is_minimal else single["p50_ms"] / minimal["single"]["p50_ms"],
            ),
            row(
                f"{label}: {USERS} users, p95",
                paced["p95_ms"],
                "ms",
                target=f"≤ {P95_TARGET}× 1-user p50",
                reference=single["p50_ms"],
                ratio=p95_ratio,
                ok=p95_ratio is not None and p95_ratio <= P95_TARGET,
            ),
            row(
                f"{label}: errors, all runs",
                errors,
                "errors",
                target="0",
                reference=requests,
                ok=errors == 0,
            ),
            row(
                f"{label}: {USERS} users flat out, req/s",
                flat["rps"],
                "req/s",
                target="(reference)" if is_minimal else "(share of minimal)",
                reference=None if is_minimal else minimal["flat"]["rps"],
                ratio=None if is_minimal else flat["rps"] / minimal["flat"]["rps"],
            ),
        ]
        rows[-1]["runs"] = runs
    rows.append(
        row(
            "machine load average (1 min), start / end",
            load[0],
            "",
            target="(context)",
            reference=load[1],
        )
    )
    return rows


def run(quick: bool = False) -> list[dict]:
    seconds = SECONDS_QUICK if quick else SECONDS
    wrk_path()
    started = time.perf_counter()
    plan = _world()
    print(f"[load] world ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    load_start = os.getloadavg()[0]
    with serving(database_url(DBNAME)) as base:
        kept_file = STATE / "sessions.json"
        kept = json.loads(kept_file.read_text()) if kept_file.exists() else {}
        started = time.perf_counter()
        sessions = sessions_for(base, plan, kept)
        kept_file.write_text(json.dumps({s["username"]: s for v in sessions.values() for s in v}))
        kept_file.chmod(0o600)
        print(f"[load] signed in in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        _warm_up(base, sessions, plan)
        results = measure(base, plan, sessions, seconds)
    return rows_of(results, (load_start, os.getloadavg()[0]))


if __name__ == "__main__":
    if "--world" in sys.argv:
        _world_main()
    else:
        for r in run(quick="--quick" in sys.argv):
            print({k: v for k, v in r.items() if k != "runs"})
