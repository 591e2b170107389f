"""When a period is complete: long enough after its end that the tickets created in it have
been answered and solved (docs/metrics.md, "Periods").

A period is complete when ``period_end + maturity_days <= as_of``. ``maturity_days`` is
``[metrics] maturity_days`` when set, else the time by which 90% of the failures solved in
the year before as_of were solved (their p90 of ``solved_at - created_at``, in whole days
rounded up), computed in the warehouse.
"""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa

from metrics.facts import is_failure
from metrics.live import tickets
from metrics.params import MetricParams
from warehouse.dialect import minutes_between, quantile_cont

# With no failure solved in the year before as_of there is nothing to learn the time from:
# two weeks, twice the episode window, long enough for most tickets to be answered and solved.
DEFAULT_MATURITY_DAYS = 14
MATURITY_QUANTILE = 0.9
MATURITY_LOOKBACK = dt.timedelta(days=365)
MINUTES_PER_DAY = 24 * 60


def resolution_p90_query(as_of: dt.datetime, params: MetricParams) -> sa.Select:
    """The p90 (linear interpolation) of ``solved_at - created_at`` in minutes over failure
    tickets solved in (as_of - 365 days, as_of], each ticket's stored (current) row."""
    t = tickets.c
    minutes = minutes_between(t.created_at, t.solved_at)
    return sa.select(quantile_cont(minutes, [MATURITY_QUANTILE])).where(
        is_failure(params.failure_tags),
        t.solved_at.is_not(None),
        t.solved_at > as_of - MATURITY_LOOKBACK,
        t.solved_at <= as_of,
        t.created_at <= t.solved_at,
    )


def maturity_days(conn: sa.Connection, as_of: dt.datetime, params: MetricParams) -> float:
    """``params.maturity_days`` when given, else the p90 of the failures' resolution times
    of the year before ``as_of`` in whole days (rounded up), else DEFAULT_MATURITY_DAYS."""
    if params.maturity_days is not None:
        return params.maturity_days
    found = conn.execute(resolution_p90_query(as_of, params)).scalar()
    if not found or found[0] is None:
        return DEFAULT_MATURITY_DAYS
    return math.ceil(float(found[0]) / MINUTES_PER_DAY)


def is_complete(period_end: dt.datetime, as_of: dt.datetime, days: float) -> bool:
    """Whether the period ending at ``period_end`` (exclusive, naive UTC) is complete at
    ``as_of``: ``period_end + days <= as_of``. The period holding as_of never is."""
    return period_end + dt.timedelta(days=days) <= as_of
