"""compute_kpis: every catalog KPI and the recovery paradox at one point in time."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlalchemy as sa

from data_contracts.times import isoformat_utc
from metrics.as_of import resolve_as_of
from metrics.catalog import KPI_CATALOG
from metrics.clusters import paradox_cells
from metrics.dimensions import DIMENSIONS
from metrics.hindsight import hindsight
from metrics.live import tickets
from metrics.paradox import MATCH_ON, Cell, paradox, paradox_inputs, segment_paradox
from metrics.params import MetricParams, TimePoints
from metrics.periods import local_date
from metrics.queries import Estimate
from metrics.slices import SlicedRow, SliceRequest, slice_estimates
from warehouse.schema import nps_responses

# Fact sets whose KPIs are all shares or means: pooled from the strata.
POOLED_FACTS = ("retention", "nps")


def pooled_by(rows: list[SlicedRow], index: int) -> list[tuple[object, dict[str, Estimate]]]:
    """Rows pooled by their ``index``-th dimension value: means and shares of the rows
    combined exactly (n-weighted means and mean squares), in value order."""
    parts: dict[object, list[dict[str, Estimate]]] = {}
    for row in rows:
        parts.setdefault(row.values[index], []).append(row.estimates)
    ordered = sorted(parts, key=lambda v: (v is None, str(v) if v is not None else ""))
    return [(value, _pool(parts[value], list(parts[value][0]))) for value in ordered]


def _pool(parts: list[dict[str, Estimate]], names: list[str]) -> dict[str, Estimate]:
    """The estimates of ``names`` over all ``parts`` pooled (no part: no value, n 0)."""
    pooled = {}
    for name in names:
        counted = [p[name] for p in parts if p[name].value is not None and p[name].count]
        n = sum(e.count for e in counted)
        if not n:
            pooled[name] = Estimate(None, 0)
            continue
        value = sum(e.value * e.count for e in counted) / n
        square = sum((e.mean_square or 0.0) * e.count for e in counted) / n
        pooled[name] = Estimate(value, n, square)
    return pooled


def kpi_estimates(
    conn: sa.Connection, as_of: dt.datetime, params: MetricParams, request: SliceRequest
) -> tuple[dt.datetime, dict[str, Estimate], dict[str, str], list[SlicedRow]]:
    """The measuring instant, the estimate of every KPI of ``request`` (one slice: filters
    and a date range, no dimensions or grain) as ``compute_kpis`` reports it, notes on KPIs
    left null, and the paradox's matching strata (empty when nothing was pooled)."""
    # Retention and NPS are computed once, per stratum of the paradox's matching; the
    # company-wide values pool the strata (exact for their shares and means). Under a
    # ticket filter they have no value: nothing to split.
    pooled = [n for n in request.kpis if KPI_CATALOG[n].measure.facts in POOLED_FACTS]
    if not all(DIMENSIONS[name].level == "customer" for name, _ in request.where):
        pooled = []
    rest = tuple(n for n in request.kpis if n not in pooled)
    estimates: dict[str, Estimate] = {}
    notes: dict[str, str] = {}
    rows: list[SlicedRow] = []
    if rest:
        as_of, found, notes = slice_estimates(conn, as_of, params, replace(request, kpis=rest))
        estimates = dict(found[0].estimates)
    if pooled:
        matching = replace(request, kpis=tuple(pooled), by=MATCH_ON)
        as_of, rows, _ = slice_estimates(conn, as_of, params, matching, len(MATCH_ON))
        estimates |= _pool([row.estimates for row in rows], pooled)
    return as_of, estimates, notes, rows


def compute_kpis(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
) -> dict:
    """The ``turnaround metrics --json`` object (docs/contract.md, JSON output).

    ``{"as_of": ISO string or None, "kpis": {name: float or None},
    "paradox": {name: {"value", "ci_low", "ci_high", "verdict", "n", "method", "matched"},
    "primary": name, "primary_comparison": "matched"},
    "paradox_by_segment": [{"segment", "nps_delta", "retention_delta"}],
    "hindsight": {...} (metrics.hindsight; None when empty),
    "n": {name: the tickets, customers or responses behind each KPI}}``: rates are
    fractions, NPS in [-100, 100], None where there is no data (metrics.paradox gives the
    methods). An empty warehouse (and no as_of given) gives as_of None and every value
    None. ``request.kpis`` keeps only those KPIs (the paradox is always there). A
    ``request`` with filters or a date range (not dimensions or a grain: that is
    compute_slice) narrows every KPI and the paradox, and adds ``"filters"``, and
    ``"notes"`` on KPIs it leaves null.
    """
    if request.sliced:
        raise ValueError("compute_kpis computes one slice: use compute_slice for --by or --grain")
    names = list(dict.fromkeys(request.kpis)) or list(KPI_CATALOG)
    inputs = tuple(paradox_inputs())
    computed = replace(request, kpis=tuple(dict.fromkeys([*names, *inputs])))
    estimates: dict[str, Estimate] = {}
    notes: dict[str, str] = {}
    strata: list[dict[str, Estimate]] = []
    segments: list[tuple[str | None, dict[str, Estimate]]] = []
    cells: dict[str, list[Cell]] = {}
    known: dict | None = None
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is not None:
            as_of, estimates, notes, rows = kpi_estimates(conn, as_of, params, computed)
            if rows:
                strata = [row.estimates for row in rows]
                segment = MATCH_ON.index("segment")  # each segment: its strata pooled
                segments = pooled_by(rows, segment)
            # Per customer: the sums behind the cluster-robust intervals.
            cells = paradox_cells(conn, as_of, params, request)
            notes = {name: note for name, note in notes.items() if name in names}
            known = hindsight(conn, TimePoints.at(as_of, params), params)
    size = params.min_group_size
    result = {
        "as_of": isoformat_utc(as_of),
        "kpis": {name: estimates[name].value if estimates else None for name in names},
        "n": {name: estimates[name].count if estimates else None for name in names},
        "paradox": paradox(estimates, strata, size, cells, params.definitions),
        "paradox_by_segment": [
            segment_paradox(segment, found, cells, size, params.definitions)
            for segment, found in segments
        ],
        "hindsight": known,
    }
    if params.count != "tickets":  # what the recovery KPIs counted, when not tickets
        result["count"] = {
            "recovery_kpis": params.count,
            "episode_window_days": params.episode_window_days,
        }
    if request.narrowed:
        result["filters"] = request.filters()
        if notes:
            result["notes"] = notes
    return result


def data_days(engine: sa.Engine, params: MetricParams = MetricParams()) -> dict:  # noqa: B008
    """``{"first": day, "last": day}``: the first and last local days (reporting time zone,
    ISO text) on which a ticket was created or an NPS response given, up to as_of: the days a
    range can select (both None in a warehouse without either)."""
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return {"first": None, "last": None}
        found = []
        for column in (tickets.c.created_at, nps_responses.c.responded_at):
            query = sa.select(sa.func.min(column), sa.func.max(column)).where(column <= as_of)
            found += [ts for ts in conn.execute(query).one() if ts is not None]
    days = [local_date(ts, params.reporting_timezone) for ts in found]
    return {
        "first": min(days).isoformat() if days else None,
        "last": max(days).isoformat() if days else None,
    }


def data_as_of(engine: sa.Engine, params: MetricParams = MetricParams()) -> str | None:  # noqa: B008
    """The instant metrics are measured at (``params.as_of``, else the warehouse's latest
    timestamp) as ISO text, or None for an empty warehouse."""
    with engine.connect() as conn:
        return isoformat_utc(resolve_as_of(conn, params))
