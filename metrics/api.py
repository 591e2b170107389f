"""compute_kpis: every catalog KPI and the recovery paradox at one point in time."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlalchemy as sa

from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS
from metrics.facts import latest_timestamp_query
from metrics.paradox import EMPTY_DELTA, paradox_delta
from metrics.params import MetricParams, to_naive_utc
from metrics.queries import Estimate
from metrics.slices import SliceRequest, slice_estimates


def resolve_as_of(conn: sa.Connection, params: MetricParams) -> dt.datetime | None:
    """``params.as_of`` (naive UTC), else the latest timestamp in the warehouse, else None."""
    if params.as_of is not None:
        return to_naive_utc(params.as_of)
    latest = [ts for ts in conn.execute(latest_timestamp_query()).one() if ts is not None]
    return max(latest, default=None)


def isoformat_utc(ts: dt.datetime | None) -> str | None:
    """``2024-05-01T12:00:00Z`` for a naive UTC datetime."""
    return None if ts is None else ts.isoformat() + "Z"


def compute_kpis(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
) -> dict:
    """The ``turnaround metrics --json`` object of PRODUCT.md.

    ``{"as_of": ISO string or None, "kpis": {name: float or None},
    "paradox": {name: {"value", "ci_low", "ci_high", "verdict"}}}``: rates are fractions,
    NPS in [-100, 100], None where there is no data. An empty warehouse (and no as_of given)
    gives as_of None and every value None. ``request.kpis`` keeps only those KPIs (the
    paradox is always there). A ``request`` with filters or a date range (not
    dimensions or a grain: that is compute_slice) narrows every KPI and adds ``"filters"``,
    and ``"notes"`` on KPIs it leaves null.
    """
    if request.sliced:
        raise ValueError("compute_kpis computes one slice: use compute_slice for --by or --grain")
    names = list(dict.fromkeys(request.kpis)) or list(KPI_CATALOG)
    paradox_inputs = [n for d in PARADOX_DELTAS.values() for n in (d.minuend, d.subtrahend)]
    computed = replace(request, kpis=tuple(dict.fromkeys([*names, *paradox_inputs])))
    estimates: dict[str, Estimate] = {}
    notes: dict[str, str] = {}
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is not None:
            as_of, rows, notes = slice_estimates(conn, as_of, params, computed)
            estimates = dict(rows[0].estimates)
            notes = {name: note for name, note in notes.items() if name in names}
    result = {
        "as_of": isoformat_utc(as_of),
        "kpis": {name: estimates[name].value if estimates else None for name in names},
        "paradox": {
            name: paradox_delta(delta, estimates) if estimates else dict(EMPTY_DELTA)
            for name, delta in PARADOX_DELTAS.items()
        },
    }
    if request.narrowed:
        result["filters"] = request.filters()
        if notes:
            result["notes"] = notes
    return result
