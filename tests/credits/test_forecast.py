"""The burn-rate forecast and the balance chart, from fixed data (no database)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from credits.forecast import BurnStats, balance_chart, forecast, urgency

TODAY = date(2025, 3, 1)


def _stats(net, debits=10, days=10, first=date(2025, 2, 1)) -> BurnStats:
    return BurnStats(debits=debits, days=days, net=Decimal(net), first=first)


def test_it_dates_the_threshold_and_zero_from_the_daily_burn():
    # 300 used over the 29 days since 1 Feb: 10.34 a day.
    outlook = forecast(
        balance=Decimal("100"), threshold=Decimal("50"), stats=_stats("300"), today=TODAY
    )
    assert outlook.enough_history and outlook.per_day == Decimal("10.34")
    # 50 above the threshold lasts 4 full days of use; it is below on the 5th.
    assert outlook.threshold_on == date(2025, 3, 5)
    assert outlook.zero_on == date(2025, 3, 10)
    assert outlook.message == (
        "At the current rate (10.34 credits a day) the balance reaches the threshold on "
        "05 Mar 2025 and zero on 10 Mar 2025."
    )


def test_a_whole_window_of_history_spreads_over_thirty_days():
    outlook = forecast(
        balance=Decimal("90"),
        threshold=None,
        stats=_stats("300", first=date(2025, 1, 20)),
        today=TODAY,
    )
    assert outlook.per_day == Decimal("10.00")
    assert outlook.threshold_on is None and outlook.zero_on == date(2025, 3, 10)
    assert "reaches zero on 10 Mar 2025" in outlook.message


@pytest.mark.parametrize(("debits", "days"), [(4, 4), (20, 2), (0, 0)])
def test_too_little_history_is_said_plainly(debits, days):
    outlook = forecast(
        balance=Decimal("100"),
        threshold=Decimal("10"),
        stats=_stats("50", debits=debits, days=days),
        today=TODAY,
    )
    assert not outlook.enough_history
    assert outlook.threshold_on is None and outlook.zero_on is None
    noun = "debit" if debits == 1 else "debits"
    assert outlook.message == (
        f"Too little history to forecast ({debits} {noun} in the last 30 days)."
    )


def test_refunds_that_cancel_the_debits_mean_no_burn():
    outlook = forecast(balance=Decimal("5"), threshold=None, stats=_stats("0"), today=TODAY)
    assert outlook.enough_history and outlook.per_day is None and outlook.zero_on is None
    assert "not going down" in outlook.message


def test_below_the_threshold_it_dates_only_zero():
    outlook = forecast(
        balance=Decimal("20"), threshold=Decimal("50"), stats=_stats("290"), today=TODAY
    )
    assert outlook.below_threshold and outlook.threshold_on is None
    assert outlook.zero_on == date(2025, 3, 3) and outlook.next_date == outlook.zero_on
    assert outlook.message.startswith("The balance is already below the alert threshold.")


def test_below_zero_it_says_so_with_the_rate():
    outlook = forecast(balance=Decimal("-3"), threshold=None, stats=_stats("290"), today=TODAY)
    assert outlook.below_zero and outlook.zero_on is None
    assert (
        outlook.message
        == "The balance is already below zero and falls by about 10.00 credits a day."
    )


def test_urgency_puts_below_zero_first_then_below_threshold_then_the_soonest_date():
    def key(balance, threshold, net):
        stats = _stats(net) if net else BurnStats()
        b, t = Decimal(balance), Decimal(threshold) if threshold else None
        return urgency(
            balance=b,
            threshold=t,
            outlook=forecast(balance=b, threshold=t, stats=stats, today=TODAY),
        )

    rows = {
        "no history": key("500", None, None),
        "slow": key("500", "10", "29"),
        "fast": key("500", "10", "2900"),
        "below threshold": key("5", "10", None),
        "below zero": key("-1", None, None),
    }
    assert sorted(rows, key=rows.get) == [
        "below zero",
        "below threshold",
        "fast",
        "slow",
        "no history",
    ]


def test_the_chart_draws_steps_over_time_with_zero_and_threshold_lines():
    t = datetime(2025, 3, 1, 9)
    chart = balance_chart(
        [
            (t, Decimal("30")),
            (t + timedelta(hours=1), Decimal("10")),
            (t + timedelta(hours=3), Decimal("-10")),
        ],
        threshold=Decimal("15"),
        now=t + timedelta(hours=4),
    )
    assert chart.count == 3 and chart.low == -10 and chart.high == 30
    assert chart.start == t and chart.end == t + timedelta(hours=4)
    # 624 wide for 4 hours, 164 high for 40 credits (30 at the top, -10 at the bottom).
    assert chart.points == ("8.0,8.0 164.0,8.0 164.0,90.0 476.0,90.0 476.0,172.0 632.0,172.0")
    assert chart.zero_y == "131.0" and chart.threshold_y == "69.5"


def test_one_entry_runs_flat_to_now_and_no_entry_is_no_chart():
    t = datetime(2025, 3, 1, 9)
    assert balance_chart([(t, Decimal("30"))], now=t).points == "8.0,8.0 632.0,8.0"
    assert balance_chart([(t, Decimal("30"))], now=t + timedelta(days=1)).points == (
        "8.0,8.0 632.0,8.0"
    )
    assert balance_chart([]) is None
