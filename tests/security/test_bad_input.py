"""Bad input on every form of the project: never a 500, never a half-written change.

The harness opens every page of tests/security/access.py as a persona allowed to see it, finds
each POST form in the HTML, and lets hypothesis fill its fields with hostile values: empty and
huge strings, control characters and other unicode, zero, negative and huge numbers, unknown
and foreign ids, and the same submission twice. After each submission the invariants that
must hold everywhere are checked.
"""

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db.models import Count, Sum
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .access import ACCESS, ANONYMOUS, CATALOG_ADMIN, CUSTOMER_ADMIN, END_USER, SYSTEM_ADMIN

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


@pytest.fixture
def world(db, tenant_a, tenant_b):
    from tests.accounts.factories import PeopleGroupFactory
    from tests.catalog.factories import ServiceFactory

    service = ServiceFactory(name="Planted service", category__name="Planted category")
    return {
        "a": tenant_a,
        "b": tenant_b,
        "group": PeopleGroupFactory(name="Planted"),
        "category": service.category,
        "service": service,
    }


@pytest.fixture
def personas(system_admin, catalog_admin, tenant_a):
    return {
        SYSTEM_ADMIN: system_admin,
        CATALOG_ADMIN: catalog_admin,
        CUSTOMER_ADMIN: tenant_a["admin"],
        END_USER: tenant_a["eve"],
    }


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
