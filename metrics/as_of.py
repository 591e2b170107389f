"""The instant metrics are measured at: resolved from the parameters or the warehouse (written
as ISO text by data_contracts.times.isoformat_utc).

Every computation (compute_kpis, compute_slice, the cohorts, survival, recovery, the
hindsight note, the ticket list) starts from here, so they all agree on the default as_of.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from data_contracts.times import to_naive_utc
from metrics.facts import latest_timestamp_query
from metrics.params import MetricParams


def resolve_as_of(conn: sa.Connection, params: MetricParams) -> dt.datetime | None:
    """``params.as_of`` (naive UTC), else the latest timestamp in the warehouse, else None."""
    if params.as_of is not None:
        return to_naive_utc(params.as_of)
    latest = [ts for ts in conn.execute(latest_timestamp_query()).one() if ts is not None]
    return max(latest, default=None)
