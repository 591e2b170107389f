"""Time helpers on int64 Unix seconds: the business-hours clock and the weekly rhythm.

Business hours are Mon-Fri 09:00-17:00 UTC (the support team's schedule). The business clock
counts only seconds inside those hours, so adding business seconds to a ticket raised on a
Saturday lands on Monday morning or later.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from turnaround.generate import settings

DAY = 86_400
WEEK = 7 * DAY
MINUTE = 60
_MONDAY = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())  # a Monday, 00:00 UTC
_OPEN = 9 * 3600
_BUSINESS_DAY = 8 * 3600
_BUSINESS_WEEK = 5 * _BUSINESS_DAY

END = int(settings.END_AT.timestamp())
START = END + 1 - settings.HISTORY_DAYS * DAY


def day_and_second(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(week number, weekday 0=Monday, second of the day) of each timestamp."""
    week, rest = np.divmod(t - _MONDAY, WEEK)
    weekday, second = np.divmod(rest, DAY)
    return week, weekday, second


def to_business(t: np.ndarray) -> np.ndarray:
    """Business seconds elapsed since a fixed Monday; constant outside business hours."""
    week, weekday, second = day_and_second(t)
    within = np.where(weekday < 5, np.clip(second - _OPEN, 0, _BUSINESS_DAY), 0)
    return week * _BUSINESS_WEEK + np.minimum(weekday, 5) * _BUSINESS_DAY + within


def from_business(b: np.ndarray) -> np.ndarray:
    """The earliest moment at which the business clock reads ``b`` (always in hours)."""
    week, rest = np.divmod(b, _BUSINESS_WEEK)
    weekday, second = np.divmod(rest, _BUSINESS_DAY)
    return _MONDAY + week * WEEK + weekday * DAY + _OPEN + second


def add_business(t: np.ndarray, business_seconds: np.ndarray) -> np.ndarray:
    return from_business(to_business(t) + business_seconds)


def _hour_of_week_weight() -> np.ndarray:
    hourly = np.asarray(settings.HOURLY_WEIGHT)
    days = [hourly if d < 5 else hourly * settings.WEEKEND_FACTOR for d in range(7)]
    weight = np.concatenate(days)
    return weight / weight.max()


HOUR_OF_WEEK_WEIGHT = _hour_of_week_weight()
MEAN_ACCEPTANCE = float(HOUR_OF_WEEK_WEIGHT.mean())


def rhythm_weight(t: np.ndarray) -> np.ndarray:
    """Relative ticket arrival rate at each moment, 1 at the busiest hour of the week."""
    _, weekday, second = day_and_second(t)
    return HOUR_OF_WEEK_WEIGHT[weekday * 24 + second // 3600]
