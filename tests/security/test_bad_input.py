"""Bad input on every form and every query string of the project: never a 500, never a
half-written change.

The harness opens every page of tests/security/access.py as a persona allowed to see it, finds
each POST form in the HTML, and lets hypothesis fill its fields with hostile values: empty and
huge strings, control characters and other unicode, zero, negative and huge numbers, unknown
and foreign ids, and the same submission twice. After each submission the invariants that
must hold everywhere are checked.

Every GET URL gets the same treatment for its query string, as each persona that may open it:
every parameter the code reads (found in the source, in the filter forms and on the page
itself) is sent NUL bytes, unicode digits, huge numbers, far dates, forged keyset cursors,
very long strings and odd time zones.
"""

import base64
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django import forms
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django_filters import FilterSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .access import (
    ACCESS,
    ANONYMOUS,
    CATALOG_ADMIN,
    CUSTOMER_ADMIN,
    END_USER,
    SYSTEM_ADMIN,
)

# Who fills in a page's forms: the most powerful persona allowed to see it.
PREFERENCE = [CATALOG_ADMIN, SYSTEM_ADMIN, CUSTOMER_ADMIN, END_USER]
# Pages whose forms are not the product's own use cases (sign-in is throttled by django-axes).
SKIP = {
    "login",
    "logout",
    "password_reset_confirm",
    "password_reset_complete",
    "two_factor_setup",
    "two_factor_verify",
}

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "-0",
            "1e309",
            "NaN",
            "Infinity",
            "99999999999999999999999999",
            "0.001",
            "1.005",
            "12,5",
            "999999999",
            "-999999999",
            "2147483648",
            "\x00",
            "a\x00b",
            "\u202egnp.exe",
            "💥" * 50,
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "../../etc/passwd",
            "x" * 10_000,
            "\r\n",
            "true",
            "on",
            "None",
            "[]",
            "{}",
        ]
    ),
    st.text(max_size=40),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


class _Forms(HTMLParser):
    """POST forms of a page: their action and field names (with select options)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._current = {"action": a.get("action") or "", "fields": {}}
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "textarea", "select") and a.get("name"):
            if a.get("name") == "csrfmiddlewaretoken" or a.get("type") in ("submit", "button"):
                return
            self._current["fields"].setdefault(a["name"], [])
            if tag == "select":
                self._select = a["name"]
            elif a.get("value"):
                self._current["fields"][a["name"]].append(a["value"])
        elif tag == "option" and self._current is not None and self._select and a.get("value"):
            self._current["fields"][self._select].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def invariants_hold() -> None:
    """What must be true whatever was submitted."""
    from credits.models import CreditAccount
    from customers.models import Customer
    from msp_portal.models import MspMode

    for account in CreditAccount.objects.annotate(ledger=Sum("entries__amount")):
        assert account.balance == (account.ledger or Decimal("0")), (
            "balance drifted from its ledger"
        )
        assert not account.hard_limit or account.balance >= 0
    orphaned = Customer.objects.annotate(n=Count("administrators")).filter(
        n=0, needs_administrator=False
    )
    assert not orphaned.exists(), "a customer lost its last administrator without being flagged"
    assert MspMode.objects.filter(enabled=True).exists(), "MSP mode was switched off"


def _persona(access):
    for name in PREFERENCE:
        if name in access.allowed:
            return name
    return None


GET_PAGES = sorted(
    name
    for name, access in ACCESS.items()
    if access.method == "get" and not access.public and name not in SKIP
)


@pytest.mark.parametrize("url_name", GET_PAGES)
def test_hostile_input_never_breaks_a_form(client, world, personas, url_name):
    access = ACCESS[url_name]
    persona = _persona(access)
    assert persona not in (None, ANONYMOUS), f"no persona can fill in the forms of {url_name}"
    client.force_login(personas[persona])
    url = reverse(url_name, kwargs=access.kwargs(world))
    page = client.get(url)
    assert page.status_code in access.ok
    if page.streaming or not page["Content-Type"].startswith("text/html"):
        return  # an export: no form to fill in
    parser = _Forms()
    parser.feed(page.content.decode())
    forms = [
        f for f in parser.forms if not f["action"].startswith(("/logout", "/customers/switch"))
    ]
    for form in forms:
        if form["fields"]:
            _fuzz(client, form["action"] or url, form["fields"])


def _fuzz(client, target: str, fields: dict[str, list[str]]) -> None:
    """Post hostile values to one form, each twice, and check the invariants after each."""
    strategy = st.fixed_dictionaries(
        {
            name: st.one_of(HOSTILE, st.sampled_from(options or [""]))
            for name, options in fields.items()
        }
    )

    @settings(
        max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(values=strategy)
    def submit(values):
        first = client.post(target, values)
        assert first.status_code < 500, (target, values)
        again = client.post(target, values)  # a double click
        assert again.status_code < 500, (target, values)
        invariants_hold()

    submit()


# ---------------------------------------------------------------------------------------------
# Query strings: every GET parameter of every list, picker and export, as each persona.
# ---------------------------------------------------------------------------------------------

APPS = (
    "msp_portal",
    "accounts",
    "itsm_sync",
    "catalog",
    "customers",
    "credits",
    "entitlements",
    "approvals",
)
# request.GET.get("q"), request.GET.getlist("services"), "customer" in request.GET, and helpers
# handed the request or its query string with a parameter name: _pk(request, "user").
_READS = (
    r"GET(?:\.get|\.getlist)?\(\s*[\"'](\w+)[\"']",
    r"GET\[[\"'](\w+)[\"']\]",
    r"[\"'](\w+)[\"']\s+(?:not\s+)?in\s+(?:request\.)?GET",
    r"\(\s*request(?:\.GET)?\s*,\s*[\"'](\w+)[\"']",
)


def _source_parameters() -> set[str]:
    """Every query-string parameter the project's code reads by name."""
    root = Path(django_settings.BASE_DIR)
    names: set[str] = set()
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            if "migrations" not in path.parts:
                text = path.read_text()
                for pattern in _READS:
                    names.update(re.findall(pattern, text))
    return names


def _filter_form_parameters() -> set[str]:
    """The fields of every filter form and FilterSet (both bound to the query string)."""
    reverse("home")  # loads the URLconf, hence every view, form and FilterSet module
    names: set[str] = set()
    for root, fields in ((forms.Form, "base_fields"), (FilterSet, "base_filters")):
        seen: set[type] = set()
        pending = [root]
        while pending:
            cls = pending.pop()
            for sub in cls.__subclasses__():
                if sub not in seen:
                    seen.add(sub)
                    pending.append(sub)
                    if "Filter" in sub.__name__ and sub.__module__.split(".")[0] in APPS:
                        names.update(getattr(sub, fields))
    return names


class _Queries(HTMLParser):
    """Parameter names a page offers: fields of its GET forms and keys of its query links."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self._in_get_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_get_form = (a.get("method") or "get").lower() == "get"
        elif self._in_get_form and tag in ("input", "select", "textarea") and a.get("name"):
            self.names.add(a["name"])
        for key in ("href", "hx-get", "action"):
            value = a.get(key) or ""
            if "?" in value:
                self.names.update(re.findall(r"[?&;]([\w-]+)=", value.replace("&amp;", "&")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_get_form = False


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


FAR_DATES = ["9999-12-31", "0001-01-01", "10000-01-01", "2024-02-30", "1-1-1"]
ODD_MOMENTS = [
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2024-01-01T00:00:00+23:59",
    "2024-01-01T00:00:00-23:59",
    "2024-01-01T00:00:00+99:99",
    "2024-06-01T12:00:00Z",
    "9999-12-31T23:59:59.999999",
]
UNICODE_DIGITS = ["²", "١٢٣", "𝟙", "1²", "٣", "①", "७"]
HUGE_NUMBERS = ["99999999999999999999999", "9223372036854775808", "2147483648", "-1", "1e309"]
NONSENSE_CURSORS = [
    _cursor([None, None, None]),
    _cursor([None, None]),
    _cursor(["\x00", "\x00", "\x00"]),
    _cursor(["\x00", 1]),
    _cursor([ODD_MOMENTS[0], 1]),
    _cursor([ODD_MOMENTS[1], 1]),
    _cursor([ODD_MOMENTS[0], ODD_MOMENTS[1], 1]),
    _cursor([[], {}]),
    _cursor([True, False, True]),
    _cursor([2**70, 2**70]),
    _cursor([float("inf"), float("nan")]),
    _cursor(["x", "y", "z"]),
    _cursor({"after": 1}),
    base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    "%%%",
    "====",
    "A",
]
JSONISH = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["\x00", *ODD_MOMENTS, *FAR_DATES, *UNICODE_DIGITS, *HUGE_NUMBERS]),
    st.lists(st.none(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.none(), max_size=1),
)
CURSORS = st.one_of(
    st.sampled_from(NONSENSE_CURSORS),
    st.lists(JSONISH, min_size=1, max_size=4).map(_cursor),
    st.binary(max_size=24).map(lambda b: base64.urlsafe_b64encode(b).decode()),
)
GET_VALUES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "0",
    "NaN",
    "Infinity",
    "x" * 10_000,
    "💥" * 50,
    "\u202egnp.exe",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "on",
    "true",
    "[]",
    *FAR_DATES,
    *ODD_MOMENTS,
    *UNICODE_DIGITS,
    *HUGE_NUMBERS,
]
HOSTILE_GET_VALUE = st.one_of(
    st.sampled_from(GET_VALUES),
    CURSORS,
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.dates().map(str),
)
HOSTILE_GET = st.one_of(HOSTILE_GET_VALUE, st.lists(HOSTILE_GET_VALUE, min_size=2, max_size=3))
# A page is asked as a browser asks it, or by htmx for one of its parts.
HTMX = [
    {},
    {"HX-Request": "true"},
    {"HX-Request": "true", "HX-Target": "ledger"},
    {"HX-Request": "true", "HX-Target": "results", "HX-History-Restore-Request": "true"},
]
# Known hostile values each sent to every parameter at once, before hypothesis draws its own.
KNOWN = ["\x00", "²", "99999999999999999999999", "9999-12-31", NONSENSE_CURSORS[0],
         NONSENSE_CURSORS[4]]  # fmt: skip

ALL_GET = sorted(name for name, access in ACCESS.items() if access.method == "get")
SOURCE_PARAMETERS = _source_parameters()


def _visitors(access) -> list[str]:
    """Each persona that may open the URL (a public page: anonymous and one signed-in one)."""
    if access.public:
        return [ANONYMOUS, END_USER]
    return sorted(access.allowed - {ANONYMOUS})


def _get_answers(client, url: str, params: dict, headers: dict | None = None):
    """GET the URL, reading a streamed export to its end; any exception or 5xx fails the test.

    Each request runs in a savepoint so that a database error can't poison the next one.
    """
    try:
        with transaction.atomic():
            response = client.get(url, params, headers=headers or {})
            if response.streaming:
                b"".join(response.streaming_content)
    except Exception as error:
        raise AssertionError(f"GET {url} {params!r} raised {error!r}") from error
    assert response.status_code < 500, (url, params, response.status_code)
    return response


def _parameters(client, url: str) -> tuple[list[str], list[str]]:
    """The page's own parameters, and every parameter the project reads anywhere."""
    response = client.get(url)
    own = {"after", "q"}
    if not response.streaming and response["Content-Type"].startswith("text/html"):
        parser = _Queries()
        parser.feed(response.content.decode())
        own |= parser.names
    own.discard("csrfmiddlewaretoken")
    everything = own | SOURCE_PARAMETERS | _filter_form_parameters()
    return sorted(own), sorted(everything)


def test_the_fuzzer_knows_the_parameters_of_the_lists():
    """A sanity check of the source scan: it finds the parameters the lists are known to read."""
    assert {
        "after",
        "q",
        "company_q",
        "person_q",
        "service_q",
        "user_q",
        "company",
        "customer",
    } <= (SOURCE_PARAMETERS)
    assert {"date_from", "date_to", "request_id", "requester", "kind"} <= _filter_form_parameters()


@pytest.mark.parametrize("url_name", ALL_GET)
def test_hostile_query_strings_never_break_a_page(client, world, personas, url_name):
    """Known hostile values in every parameter at once, then hypothesis's own mixes."""
    access = ACCESS[url_name]
    url = reverse(url_name, kwargs=access.kwargs(world))
    visitors = _visitors(access)
    for persona in visitors:
        client.logout()
        if persona != ANONYMOUS:
            client.force_login(personas[persona])
        own, everything = _parameters(client, url)
        for value in KNOWN:
            _get_answers(client, url, dict.fromkeys(everything, value))
        names = st.one_of(st.sampled_from(own), st.sampled_from(everything))

        @settings(
            max_examples=max(2, 6 // len(visitors)),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(
            params=st.dictionaries(names, HOSTILE_GET, min_size=1, max_size=4),
            headers=st.sampled_from(HTMX),
        )
        def visit(params, headers):
            _get_answers(client, url, params, headers)

        visit()
