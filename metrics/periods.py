"""Calendar periods (day, ISO week, month, quarter) in the reporting time zone.

The range of a slice and the customer KPIs' measuring points are computed here, in Python
with the IANA time zone database, and passed to the warehouse as bound instants (naive
UTC). Tickets and responses are put in their period by the warehouse itself
(warehouse.dialect.local_period_start).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from data_contracts.options import GRAINS
from data_contracts.times import to_naive_utc
from metrics.business_hours import zone

MICROSECOND = dt.timedelta(microseconds=1)
# Periods shown when no --from is given: the last 30 days, 26 weeks, 12 months, 8 quarters.
DEFAULT_PERIODS: dict[str, int] = {"day": 30, "week": 26, "month": 12, "quarter": 8}


def floor(day: dt.date, grain: str) -> dt.date:
    """The first day of ``day``'s period."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")


def shift(start: dt.date, grain: str, n: int = 1) -> dt.date:
    """The start of the period ``n`` periods after the one starting at ``start``."""
    if grain == "day":
        return start + dt.timedelta(days=n)
    if grain == "week":
        return start + dt.timedelta(weeks=n)
    months = {"month": 1, "quarter": 3}[grain] * n
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    """Local midnight starting ``day`` in ``tz`` as a naive UTC datetime."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone(tz))
    return to_naive_utc(local)


def local_date(ts: dt.datetime, tz: str) -> dt.date:
    """The local calendar date in ``tz`` of the naive UTC datetime ``ts``."""
    return ts.replace(tzinfo=dt.UTC).astimezone(zone(tz)).date()


@dataclass(frozen=True)
class Period:
    """One period: its first local day, and the naive UTC instants it spans [start, end)."""

    first_day: dt.date
    start: dt.datetime
    end: dt.datetime


def periods(first_day: dt.date, last_day: dt.date, grain: str, tz: str) -> list[Period]:
    """Every period from the one holding ``first_day`` to the one holding ``last_day``."""
    found = []
    day = floor(first_day, grain)
    while day <= last_day:
        following = shift(day, grain)
        found.append(Period(day, local_midnight(day, tz), local_midnight(following, tz)))
        day = following
    return found
