"""Parameters as browsers send them: ids, search text and days, made safe in one place."""

from datetime import date, datetime, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from msp_portal.params import (
    FIRST_DAY,
    LAST_DAY,
    MAX_ID,
    DateRangeForm,
    clean_text,
    id_list_param,
    id_param,
    on_days,
    parse_id,
    search_param,
    value_param,
)


@pytest.mark.parametrize(
    "value,expected",
    [("0", 0), ("7", 7), ("0012", 12), (str(MAX_ID), MAX_ID), (42, 42)],
)
def test_an_id_is_ascii_digits(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "²",  # '²'.isdigit() is true, int('²') fails
        "١٢",  # int('١٢') is 12: still not an id a page wrote
        "𝟙",
        "1²",
        "①",
        "",
        " 1",
        "1 ",
        "1\n",
        "-1",
        "+1",
        "1.0",
        "1e3",
        "0x1",
        "1_000",
        str(MAX_ID + 1),
        "9" * 40,
        -1,
        True,
        None,
        1.0,
        ["1"],
    ],
    ids=repr,
)
def test_anything_else_is_no_id(value):
    assert parse_id(value) is None


def test_ids_from_a_query_string_keep_only_ids():
    params = QueryDict("services=3&services=²&services=&services=9&customer=١")
    assert id_list_param(params, "services") == [3, 9]
    assert id_param(params, "customer") is None
    assert id_param(params, "absent") is None


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("\x00", ""),
        ("Acme\x00", "Acme"),
        ("Ac\x00me", "Ac me"),
        ("  Acme Corp \t", "Acme Corp"),
        ("a\r\nb", "a  b"),
        ("\x7f\x9f", ""),
        ("Zoë 💥", "Zoë 💥"),
    ],
    ids=repr,
)
def test_search_text_loses_its_control_characters(raw, clean):
    assert clean_text(raw) == clean


def test_search_text_is_capped():
    assert search_param(QueryDict(f"q={'x' * 500}"), "q") == "x" * 100
    assert search_param(QueryDict(""), "q") == ""


def test_an_exact_value_only_loses_its_nul_bytes():
    assert value_param(QueryDict("organization=%20Fin%00ance%20"), "organization") == " Finance "


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"])
def test_a_day_outside_the_range_is_a_form_error_that_says_what_to_pick(day):
    form = DateRangeForm({"date_to": day})
    assert form.filters() == {}
    assert form.errors["date_to"] == ["Pick a day between 1900-01-01 and 2999-12-31, or clear it."]


def test_the_first_and_last_days_are_fine():
    form = DateRangeForm({"date_from": "1900-01-01", "date_to": "2999-12-31"})
    assert form.filters() == {"date_from": FIRST_DAY, "date_to": LAST_DAY}


def test_an_end_before_the_start_drops_the_end_and_says_so():
    form = DateRangeForm({"date_from": "2024-05-02", "date_to": "2024-05-01"})
    assert form.filters() == {"date_from": date(2024, 5, 2)}
    assert "before the start date" in form.errors["date_to"][0]


def test_the_date_inputs_tell_the_browser_the_range():
    html = str(DateRangeForm()["date_to"])
    assert 'min="1900-01-01"' in html and 'max="2999-12-31"' in html


@pytest.mark.django_db
def test_on_days_takes_whole_days_in_the_current_time_zone(settings):
    from msp_portal.models import AuditEvent

    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: the local day starts the day before
    with timezone.override("Pacific/Kiritimati"):
        day = date(2024, 5, 1)
        inside = timezone.make_aware(datetime(2024, 5, 1, 0, 0))
        outside = inside + timedelta(days=1)
        for moment in (inside - timedelta(seconds=1), inside, outside - timedelta(seconds=1)):
            AuditEvent.objects.create(action="t", at=moment, object_repr=str(moment))
        AuditEvent.objects.create(action="t", at=outside, object_repr="next day")
        found = AuditEvent.objects.filter(on_days("at", date_from=day, date_to=day))
        assert found.count() == 2


@pytest.mark.django_db
def test_on_days_never_overflows_even_when_a_caller_skips_the_form():
    from msp_portal.models import AuditEvent

    AuditEvent.objects.create(action="t")
    condition = on_days("at", date_from=date.min, date_to=date.max)
    assert AuditEvent.objects.filter(condition).count() == 1
