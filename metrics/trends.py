"""weekly_trends: ticket KPIs per ISO week, for the executive trend charts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from metrics.as_of import resolve_as_of
from metrics.facts import Scope, has_history
from metrics.maturity import is_complete, maturity_days
from metrics.params import MetricParams, TimePoints
from metrics.queries import TREND_MEASURES, read_estimates, weekly_trends_query

TRENDS_SCHEMA = {
    "week_start": pl.Date(),
    "tickets_created": pl.Int64(),
    "tta_median_minutes": pl.Float64(),
    "tta_p90_minutes": pl.Float64(),
    "one_touch_rate": pl.Float64(),
    "complete": pl.Boolean(),
}


def week_starts(as_of: dt.datetime, weeks: int) -> list[dt.date]:
    """The Mondays of the ``weeks`` ISO weeks up to and including as_of's week."""
    last = as_of.date() - dt.timedelta(days=as_of.weekday())
    return [last - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def weekly_trends(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    weeks: int = 26,
) -> pl.DataFrame:
    """One row per ISO week (oldest first) of the ``weeks`` weeks up to as_of.

    Grain: tickets created in the week (up to as_of), measured at as_of: TTA of those
    acknowledged by as_of, one-touch rate of those solved by as_of. A week without tickets
    has tickets_created 0 and None values; an empty warehouse gives no rows. ``complete``:
    the week ended at least the maturity (metrics.maturity) before as_of; a change between
    weeks is read between complete weeks only.
    """
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None or weeks < 1:
            return pl.DataFrame(schema=TRENDS_SCHEMA)
        starts = week_starts(as_of, weeks)
        since = dt.datetime.combine(starts[0], dt.time())
        scope = Scope(history=has_history(conn))
        query = weekly_trends_query(TimePoints.at(as_of, params), params, since, scope)
        found = {}
        for row in conn.execute(query):
            estimates = read_estimates(row._mapping, TREND_MEASURES)
            week = (
                row.week_start.date() if isinstance(row.week_start, dt.datetime) else row.week_start
            )
            found[week] = {"tickets_created": row.tickets_created} | {
                name: estimate.value for name, estimate in estimates.items()
            }
        days = maturity_days(conn, as_of, params)
    empty = {"tickets_created": 0} | dict.fromkeys(TREND_MEASURES)
    rows = [
        {"week_start": week}
        | found.get(week, empty)
        | {"complete": is_complete(_week_end(week), as_of, days)}
        for week in starts
    ]
    return pl.DataFrame(rows, schema=TRENDS_SCHEMA)


def _week_end(week: dt.date) -> dt.datetime:
    """The first instant after the ISO week starting ``week`` (UTC, as the weeks here)."""
    return dt.datetime.combine(week + dt.timedelta(weeks=1), dt.time())
