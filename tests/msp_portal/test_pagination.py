"""Keyset pages: the cursors the module writes turn the page; anything else is the first page."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from msp_portal.models import AuditEvent
from msp_portal.pagination import keyset_page

pytestmark = pytest.mark.django_db

NEWEST = ("-at", "-id")
BY_TEXT = ("action", "object_repr", "id")


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.fixture
def events():
    now = timezone.now()
    return [
        AuditEvent.objects.create(action=f"a{i}", object_repr=f"o{i}", at=now - timedelta(hours=i))
        for i in range(5)
    ]


def test_the_cursor_of_a_page_turns_to_the_next(events):
    first = keyset_page(AuditEvent.objects.all(), ordering=NEWEST, size=2)
    second = keyset_page(
        AuditEvent.objects.all(), ordering=NEWEST, cursor=first.next_cursor, size=2
    )
    assert first.rows == events[:2] and second.rows == events[2:4]
    assert not second.is_first


def test_the_same_moment_written_in_another_time_zone_turns_the_same_page(events):
    moment = events[1].at.astimezone(timezone.get_fixed_timezone(14 * 60))
    cursor = _cursor([moment.isoformat(), events[1].pk])
    page = keyset_page(AuditEvent.objects.all(), ordering=NEWEST, cursor=cursor, size=2)
    assert page.rows == events[2:4]


@pytest.mark.parametrize(
    "values",
    [
        [None, None],
        [None, 1],
        ["\x00", 1],
        [True, 1],
        [[], {}],
        [{"a": 1}, 1],
        ["2024-01-01T00:00:00+00:00", 2**70],
        ["2024-01-01T00:00:00+00:00", -(2**70)],
        ["2024-01-01T00:00:00+00:00", 1.5e300],
        ["2024-01-01T00:00:00+00:00", float("inf")],
        ["2024-01-01T00:00:00+00:00", float("nan")],
        ["9999-12-31T23:59:59-12:00", 1],
        ["0001-01-01T00:00:00+14:00", 1],
        ["2024-01-01T00:00:00+99:99", 1],
        ["2024-02-30T00:00:00+00:00", 1],
        ["not a moment", 1],
        ["2024-01-01T00:00:00+00:00"],
        ["2024-01-01T00:00:00+00:00", 1, 2],
        [],
    ],
    ids=repr,
)
def test_a_cursor_no_row_could_have_written_answers_the_first_page(events, values):
    page = keyset_page(AuditEvent.objects.all(), ordering=NEWEST, cursor=_cursor(values), size=2)
    assert page.is_first and page.rows == events[:2]


@pytest.mark.parametrize(
    "values",
    [[None, None, None], ["a1", "\x00", 1], ["a1", "o1", None], ["a1", "o1", "²"], [1, 2, []]],
    ids=repr,
)
def test_a_forged_cursor_of_a_list_by_name_answers_the_first_page(events, values):
    page = keyset_page(AuditEvent.objects.all(), ordering=BY_TEXT, cursor=_cursor(values))
    assert page.is_first and len(page.rows) == 5


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "====",
        "A",
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        _cursor({"after": 1}),
        _cursor("text"),
        _cursor(None),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        "x" * 10_000,
    ],
    ids=lambda c: repr(c[:20]),
)
def test_a_cursor_that_is_not_a_list_answers_the_first_page(events, cursor):
    page = keyset_page(AuditEvent.objects.all(), ordering=NEWEST, cursor=cursor, size=2)
    assert page.is_first and page.rows == events[:2]


def test_a_text_key_may_be_any_text_without_a_nul(events):
    """A list by name takes any name as a cursor: it is a place in the alphabet, not a forgery."""
    page = keyset_page(AuditEvent.objects.all(), ordering=BY_TEXT, cursor=_cursor(["a2", "", 0]))
    assert not page.is_first and page.rows == events[2:]
