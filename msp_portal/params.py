"""What a browser (or anyone else) sends in a query string or a form, made safe to use.

Every view reads its parameters through these helpers, so each kind of crafted input is
handled in one place:

- ids: ASCII digits only, within a bigint (`'²'.isdigit()` is true and `int('١٢')` is 12);
- search text: control characters dropped (PostgreSQL refuses NUL in a string), trimmed,
  capped;
- days of a filter: within a range whose every midnight, and the day after, exist in any time
  zone (`9999-12-31` + 1 day overflows), refused with a message saying what to pick.
"""

import re
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from .forms import PortalForm

# [0-9], not \d: \d matches every script's digits.
_ID = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1  # PostgreSQL bigint
SEARCH_MAX = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_id(value: object) -> int | None:
    """An id sent by a browser: ASCII digits within a bigint, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= MAX_ID else None


def id_param(params: QueryDict, name: str) -> int | None:
    """The id in params[name] (a query string or posted data), or None when absent or not one."""
    return parse_id(params.get(name, ""))


def id_list_param(params: QueryDict, name: str) -> list[int]:
    """Every id among the values of params[name]; the others are left out."""
    return [i for i in map(parse_id, params.getlist(name)) if i is not None]


def clean_text(value: str, *, max_length: int = SEARCH_MAX) -> str:
    """Text to search by: control characters (NUL among them) read as spaces, trimmed, capped."""
    return _CONTROL.sub(" ", value).strip()[:max_length]


def search_param(params: QueryDict, name: str, *, max_length: int = SEARCH_MAX) -> str:
    """The search text in params[name] ("" when absent), safe to hand to the database."""
    return clean_text(params.get(name, ""), max_length=max_length)


def value_param(params: QueryDict, name: str, *, max_length: int = SEARCH_MAX) -> str:
    """A value to match exactly (a stored name offered as an option): NUL bytes, which no
    stored value holds, are dropped; nothing else changes but the length cap."""
    return params.get(name, "").replace("\x00", "")[:max_length]


# ---------------------------------------------------------------------------------------------
# Days of a filter: one field, one form, one query helper for every date range of the project.
# ---------------------------------------------------------------------------------------------

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


class DayField(forms.DateField):
    """A day to filter by, between FIRST_DAY and LAST_DAY."""

    widget = forms.DateInput(
        attrs={
            "type": "date",
            "class": "form-control",
            "min": FIRST_DAY.isoformat(),
            "max": LAST_DAY.isoformat(),
        },
        format="%Y-%m-%d",
    )

    def validate(self, value):
        super().validate(value)
        if value and not FIRST_DAY <= value <= LAST_DAY:
            raise forms.ValidationError(
                f"Pick a day between {FIRST_DAY:%Y-%m-%d} and {LAST_DAY:%Y-%m-%d}, or clear it.",
                code="out_of_range",
            )


class DateRangeForm(PortalForm):
    """Filters with a day range (date_from … date_to, both included); subclasses add the rest.

    A field with an error filters nothing and says why; the other filters still apply.
    """

    date_from = DayField(label="From", required=False)
    date_to = DayField(label="To", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_to < date_from:
            self.add_error(
                "date_to",
                "The end date is before the start date: pick a later one, or clear it.",
            )
        return cleaned

    def filters(self) -> dict:
        """The valid, non-empty filters; invalid fields are dropped, the others still apply."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def day_start(day: date) -> datetime:
    """Midnight at the start of day, in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def on_days(field: str, *, date_from: date | None = None, date_to: date | None = None) -> Q:
    """Rows whose datetime field falls on date_from … date_to (both included, either open).

    Half-open ranges on the field itself, so its index serves them. A day past LAST_DAY (a
    caller that skipped DayField) only loses the bound that would overflow.
    """
    condition = Q()
    if date_from:
        condition &= Q(**{f"{field}__gte": day_start(max(date_from, FIRST_DAY))})
    if date_to and date_to <= LAST_DAY:
        condition &= Q(**{f"{field}__lt": day_start(date_to + timedelta(days=1))})
    return condition
