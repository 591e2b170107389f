"""The shared filters: the request a selection makes, and the period before it."""

import datetime as dt

import pytest

from dashboard.filters import Selection, default_range, period_of
from metrics import SliceRequest

WHERE = (("channel", ("chat",)),)


def test_a_selection_asks_for_its_range_and_filters():
    sel = Selection(dt.date(2026, 10, 2), dt.date(2026, 10, 31), "week", WHERE)
    assert sel.days == 30
    assert sel.request() == SliceRequest(
        where=WHERE, start=dt.date(2026, 10, 2), end=dt.date(2026, 10, 31)
    )
    assert sel.request(kpis=("nps",), by=("plan",), grain="month").by == ("plan",)


def test_the_previous_period_is_as_long_and_ends_the_day_before():
    sel = Selection(dt.date(2026, 10, 2), dt.date(2026, 10, 31), "week", WHERE)
    before = sel.previous()
    assert (before.start, before.end) == (dt.date(2026, 9, 2), dt.date(2026, 10, 1))
    assert before.days == sel.days and before.where == WHERE


def test_a_trend_shows_the_grains_default_periods_up_to_the_ranges_end():
    sel = Selection(dt.date(2026, 10, 2), dt.date(2026, 10, 31), "week", WHERE)
    trend = sel.trend_request(("nps",))
    # 26 ISO weeks ending with the week of 31 Oct 2026 (which starts Monday 26 Oct).
    assert trend.start == dt.date(2026, 10, 26) - dt.timedelta(weeks=25)
    assert (trend.end, trend.grain, trend.where) == (dt.date(2026, 10, 31), "week", WHERE)
    long = Selection(dt.date(2020, 1, 1), dt.date(2026, 10, 31), "month", ())
    assert long.trend_request(("nps",)).start == dt.date(2020, 1, 1)  # the longer range wins


def test_default_range_and_a_clicked_period():
    assert default_range(dt.date(2026, 10, 31)) == (dt.date(2026, 10, 2), dt.date(2026, 10, 31))
    assert period_of(dt.date(2026, 10, 26), "week") == (dt.date(2026, 10, 26), dt.date(2026, 11, 1))
    assert period_of(dt.date(2026, 10, 1), "quarter") == (
        dt.date(2026, 10, 1),
        dt.date(2026, 12, 31),
    )


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        # as-of day Sat 31 Oct 2026: 7 days with it are 25 to 31 Oct
        ("last 7 days", (dt.date(2026, 10, 25), dt.date(2026, 10, 31))),
        ("last 30 days", (dt.date(2026, 10, 2), dt.date(2026, 10, 31))),
        ("last 90 days", (dt.date(2026, 8, 3), dt.date(2026, 10, 31))),
        ("quarter to date", (dt.date(2026, 10, 1), dt.date(2026, 10, 31))),
        ("year to date", (dt.date(2026, 1, 1), dt.date(2026, 10, 31))),
    ],
)
def test_quick_ranges_end_on_the_as_of_day(preset, expected):
    from dashboard.filters import preset_range

    assert preset_range(preset, dt.date(2026, 10, 31)) == expected


def test_the_same_period_a_year_earlier():
    from dashboard.filters import Selection, year_earlier

    assert year_earlier(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    sel = Selection(dt.date(2026, 10, 2), dt.date(2026, 10, 31), "week", (), "last_year")
    earlier = sel.compared()
    assert (earlier.start, earlier.end) == (dt.date(2025, 10, 2), dt.date(2025, 10, 31))
    assert (
        Selection(dt.date(1900, 3, 1), dt.date(1900, 3, 5), "week", (), "last_year").compared()
        is None
    )
