"""compute_kpis: every catalog KPI and the recovery paradox at one point in time."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS
from metrics.facts import latest_timestamp_query
from metrics.paradox import EMPTY_DELTA, paradox_delta
from metrics.params import MetricParams, TimePoints, to_naive_utc
from metrics.queries import Estimate, kpi_queries, read_estimates


def resolve_as_of(conn: sa.Connection, params: MetricParams) -> dt.datetime | None:
    """``params.as_of`` (naive UTC), else the latest timestamp in the warehouse, else None."""
    if params.as_of is not None:
        return to_naive_utc(params.as_of)
    latest = [ts for ts in conn.execute(latest_timestamp_query()).one() if ts is not None]
    return max(latest, default=None)


def isoformat_utc(ts: dt.datetime | None) -> str | None:
    """``2024-05-01T12:00:00Z`` for a naive UTC datetime."""
    return None if ts is None else ts.isoformat() + "Z"


def compute_kpis(engine: sa.Engine, params: MetricParams = MetricParams()) -> dict:  # noqa: B008
    """The ``turnaround metrics --json`` object of PRODUCT.md.

    ``{"as_of": ISO string or None, "kpis": {name: float or None},
    "paradox": {name: {"value", "ci_low", "ci_high", "verdict"}}}``: rates are fractions,
    NPS in [-100, 100], None where there is no data. An empty warehouse (and no as_of given)
    gives as_of None and every value None.
    """
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return {
                "as_of": None,
                "kpis": dict.fromkeys(KPI_CATALOG),
                "paradox": {name: dict(EMPTY_DELTA) for name in PARADOX_DELTAS},
            }
        points = TimePoints.at(as_of, params)
        estimates: dict[str, Estimate] = {}
        for query, measures in kpi_queries(points, params).values():
            estimates |= read_estimates(conn.execute(query).one()._mapping, measures)
    return {
        "as_of": isoformat_utc(as_of),
        "kpis": {name: estimates[name].value for name in KPI_CATALOG},
        "paradox": {
            name: paradox_delta(delta, estimates) for name, delta in PARADOX_DELTAS.items()
        },
    }
