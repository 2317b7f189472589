"""Burn-rate forecast and balance chart of a credit account: pure arithmetic, no queries.

The rate is the net use of the last WINDOW_DAYS (debits minus refunds) spread over the days
observed; grants and adjustments are decisions, not use, so they don't count. With too little
history the forecast says so instead of guessing.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

WINDOW_DAYS = 30
MIN_DEBITS = 5
MIN_DAYS = 3


@dataclass(frozen=True)
class BurnStats:
    """What the last WINDOW_DAYS of one account's ledger say about its use."""

    debits: int = 0
    days: int = 0
    net: Decimal = Decimal("0")  # credits used: debits minus refunds, positive when used
    first: date | None = None  # day of the earliest debit in the window


@dataclass(frozen=True)
class Forecast:
    """When, at the current rate, a balance reaches its alert threshold and zero."""

    enough_history: bool
    debits: int
    per_day: Decimal | None = None
    threshold_on: date | None = None
    zero_on: date | None = None
    below_threshold: bool = False
    below_zero: bool = False

    @property
    def next_date(self) -> date | None:
        """The next line the balance reaches: the threshold while above it, else zero."""
        if self.below_threshold or self.threshold_on is None:
            return self.zero_on
        return self.threshold_on

    @property
    def message(self) -> str:
        if not self.enough_history:
            plural = "" if self.debits == 1 else "s"
            return (
                f"Too little history to forecast ({self.debits} debit{plural} in the last "
                f"{WINDOW_DAYS} days)."
            )
        if self.per_day is None:
            return (
                f"Nothing was used up over the last {WINDOW_DAYS} days (refunds match debits): "
                "the balance is not going down."
            )
        rate = f"{self.per_day:.2f} credits a day"
        if self.below_zero:
            return f"The balance is already below zero and falls by about {rate}."
        zero = _day(self.zero_on)
        if self.below_threshold:
            return (
                f"The balance is already below the alert threshold. At the current rate "
                f"({rate}) it reaches zero on {zero}."
            )
        if self.threshold_on is not None:
            return (
                f"At the current rate ({rate}) the balance reaches the threshold on "
                f"{_day(self.threshold_on)} and zero on {zero}."
            )
        return f"At the current rate ({rate}) the balance reaches zero on {zero}."


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"


def _reached_on(*, today: date, above: Decimal, per_day: Decimal) -> date:
    # Counting today's use, the balance ends day k (today is day 0) at (k + 1) days of use
    # down, so it is first below the line on day floor(above / per_day).
    return today + timedelta(days=math.floor(above / per_day))


def forecast(
    *, balance: Decimal, threshold: Decimal | None, stats: BurnStats, today: date
) -> Forecast:
    """Forecast from the last WINDOW_DAYS of use; plainly refuses under MIN_DEBITS or MIN_DAYS."""
    below_zero = balance < 0
    below_threshold = threshold is not None and balance < threshold
    if stats.debits < MIN_DEBITS or stats.days < MIN_DAYS:
        return Forecast(
            enough_history=False,
            debits=stats.debits,
            below_threshold=below_threshold,
            below_zero=below_zero,
        )
    if stats.net <= 0:
        return Forecast(
            enough_history=True,
            debits=stats.debits,
            below_threshold=below_threshold,
            below_zero=below_zero,
        )
    # Spread the use over the days observed (an account that started a week ago burns in a
    # week what the window would otherwise dilute over a month).
    span = WINDOW_DAYS
    if stats.first is not None:
        span = max(1, min(WINDOW_DAYS, (today - stats.first).days + 1))
    per_day = (stats.net / span).quantize(Decimal("0.01")) or Decimal("0.01")
    threshold_on = None
    if threshold is not None and not below_threshold:
        threshold_on = _reached_on(today=today, above=balance - threshold, per_day=per_day)
    zero_on = None if below_zero else _reached_on(today=today, above=balance, per_day=per_day)
    return Forecast(
        enough_history=True,
        debits=stats.debits,
        per_day=per_day,
        threshold_on=threshold_on,
        zero_on=zero_on,
        below_threshold=below_threshold,
        below_zero=below_zero,
    )


def urgency(*, balance: Decimal, threshold: Decimal | None, outlook: Forecast) -> tuple:
    """Sort key of the catalog administrators' list: below zero, below threshold, soonest date."""
    if balance < 0:
        group = 0
    elif threshold is not None and balance < threshold:
        group = 1
    else:
        group = 2
    when = outlook.next_date
    return (group, when is None, when or date.max, balance)


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 180, 8


@dataclass(frozen=True)
class Chart:
    """An inline SVG line chart of balance_after, oldest to newest, in viewBox coordinates."""

    points: str
    zero_y: str
    threshold_y: str | None
    low: Decimal
    high: Decimal
    start: object
    end: object
    count: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


def balance_chart(entries, *, threshold: Decimal | None = None, now=None) -> Chart | None:
    """A step line of the balance over time, from the first entry given to `now`; None if empty.

    `entries` are (created_at, balance_after) pairs in chronological order. The balance holds
    its level between entries, so it is drawn as steps, and the last level runs on to `now`.
    """
    entries = list(entries)
    if not entries:
        return None
    values = [Decimal(b) for _, b in entries]
    lines = [Decimal("0")] + ([Decimal(threshold)] if threshold is not None else [])
    low, high = min(values + lines), max(values + lines)
    if high == low:
        high = low + 1
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    start = entries[0][0]
    end = max(now or entries[-1][0], entries[-1][0])
    span = (end - start).total_seconds()

    # Formatted here, not in the template, so no locale can put a comma in SVG coordinates.
    def y(value: Decimal) -> str:
        return f"{CHART_PAD + float((high - value) / (high - low)) * inner_h:.1f}"

    def x(when) -> str:
        share = (when - start).total_seconds() / span if span else 0
        return f"{CHART_PAD + share * inner_w:.1f}"

    coords = [f"{x(start)},{y(values[0])}"]
    for (when, _), before, value in zip(entries[1:], values, values[1:], strict=False):
        coords += [f"{x(when)},{y(before)}", f"{x(when)},{y(value)}"]
    coords.append(f"{CHART_WIDTH - CHART_PAD:.1f},{y(values[-1])}")
    return Chart(
        points=" ".join(coords),
        zero_y=y(Decimal("0")),
        threshold_y=y(Decimal(threshold)) if threshold is not None else None,
        low=min(values),
        high=max(values),
        start=start,
        end=end,
        count=len(values),
    )
