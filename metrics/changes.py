"""compute_changes: KPIs' change between two periods with its 95% interval (metrics.intervals),
and whether it is beyond noise; the Overview's tiles colour only those.

A side is a ``SliceRequest``: without a grain, its date range measured at its end (as
compute_kpis measures it); with a grain, the first period of its range measured at its end
(as compute_slice's trend measures each period). Each side's KPI values are the ones those
functions give; the interval needs each side's units besides: a rate's share and n, an NPS's
per-customer sums (metrics.clusters' cells), a median's or p90's values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from data_contracts.times import isoformat_utc
from metrics.as_of import resolve_as_of
from metrics.catalog import KPI_CATALOG, Measure
from metrics.intervals import (
    METHODS,
    NO_INTERVAL,
    Interval,
    beyond_noise,
    mean_change,
    quantile_change,
    rate_change,
)
from metrics.paradox import Cell
from metrics.params import MetricParams
from metrics.queries import (
    CUSTOMER_FACT_SETS,
    FACTS,
    Estimate,
    cluster_sums_select,
    measure_queries,
    read_estimates,
    routed,
)
from metrics.slices import SliceRequest, plan_slice


@dataclass
class Side:
    """One side's KPI estimates, the values behind its quantiles and the cells of its means."""

    start: dt.date | None = None
    end: dt.datetime | None = None
    estimates: dict[str, Estimate] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)
    cells: dict[str, list[Cell]] = field(default_factory=dict)


def _period_day(column) -> sa.ColumnElement:
    return sa.cast(column, sa.Date())


def _side(conn: sa.Connection, as_of: dt.datetime, params: MetricParams, request: SliceRequest):
    planned = plan_slice(conn, as_of, params, request)
    scope, period = planned.scope, None
    if request.grain:
        if not planned.spans:
            return Side()
        first = planned.spans[0]
        period = first.first_day
        # only this period's measuring point: the customer facts of no other are read
        scope = replace(scope, windows=scope.windows[:1])
        side = Side(period, min(first.end, planned.as_of))
    else:
        side = Side(request.start, planned.as_of)
    ticket_level = any(dim.level == "ticket" for dim in scope.used())
    measures = routed({name: KPI_CATALOG[name].measure for name in planned.names}, params)
    measures = {
        name: m
        for name, m in measures.items()
        if not (ticket_level and m.facts in CUSTOMER_FACT_SETS)  # null there, as in a slice
    }
    for query, measured in measure_queries(measures, planned.points, params, scope).values():
        for row in conn.execute(query):
            found = row._mapping
            if period is None or _as_day(found["period_start"]) == period:
                side.estimates |= read_estimates(found, measured)
    for name, measure in measures.items():
        if measure.aggregate == "quantile":
            side.values[name] = _values(conn, planned, params, scope, measure, period)
        elif measure.facts == "nps":
            side.cells[name] = _cells(conn, planned, params, scope, measure, period)
    return side


def _as_day(value) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


def _facts(planned, params, scope, measure: Measure):
    facts = FACTS[measure.facts](
        planned.points, params, replace(scope, columns=frozenset({measure.column}))
    )
    value = facts.c[measure.column]
    if measure.group is not None:
        value = sa.case((facts.c.recovery_group == measure.group, value))
    return facts, value


def _values(conn, planned, params, scope, measure: Measure, period) -> list[float]:
    facts, value = _facts(planned, params, scope, measure)
    query = sa.select(value).select_from(facts).where(value.is_not(None))
    if period is not None:
        query = query.where(_period_day(facts.c.period_start) == period)
    return [float(v) for (v,) in conn.execute(query)]


def _cells(conn, planned, params, scope, measure: Measure, period) -> list[Cell]:
    facts, value = _facts(planned, params, scope, measure)
    query = cluster_sums_select(facts, value, facts.c.n_customer, [])
    if period is not None:
        query = query.where(_period_day(facts.c.period_start) == period)
    return [
        Cell(r._mapping["cluster"], (), int(r._mapping["n"]), float(r._mapping["total"]))
        for r in conn.execute(query)
    ]


def change_interval(name: str, now: Side, before: Side) -> Interval:
    """The 95% interval of KPI ``name``'s change from ``before`` to ``now``, by its unit."""
    kpi = KPI_CATALOG[name]
    first, second = now.estimates.get(name), before.estimates.get(name)
    if first is None or second is None or first.value is None or second.value is None:
        return NO_INTERVAL
    if kpi.measure.aggregate == "quantile":
        return quantile_change(now.values.get(name, []), before.values.get(name, []), kpi.measure.q)
    if kpi.unit == "nps":
        return mean_change(now.cells.get(name, []), before.cells.get(name, []))
    if kpi.unit == "ratio":
        return rate_change((first.value, first.count or 0), (second.value, second.count or 0))
    return NO_INTERVAL  # counts: no interval, never coloured


def units(name: str, side: Side) -> int:
    """The units behind a side's value: customers for an NPS (its clusters), else its n."""
    if name in side.cells:
        return len({cell.cluster for cell in side.cells[name]})
    estimate = side.estimates.get(name)
    return int(estimate.count or 0) if estimate is not None and estimate.value is not None else 0


def method(name: str) -> str | None:
    """The interval method of KPI ``name``'s change (None for counts)."""
    kpi = KPI_CATALOG[name]
    if kpi.measure.aggregate == "quantile":
        return METHODS["minutes"]
    return METHODS.get(kpi.unit)


def compute_changes(
    engine: sa.Engine,
    params: MetricParams,
    now: SliceRequest,
    before: SliceRequest,
) -> dict:
    """Each of ``now.kpis`` from ``before`` to ``now`` (sides as the module says).

    ``{"as_of", "periods": {"now"|"before": {"start", "measured_at"}}, "min_group_size",
    "changes": {kpi: {"now", "before", "change", "ci_low", "ci_high", "method",
    "n": {"now", "before"}, "units": {"now", "before"}, "clear"}}}``: ``clear`` when the
    interval excludes zero and both sides have at least min_group_size units (customers for
    an NPS, else the KPI's n); values None where a side has none.
    """
    result: dict = {"as_of": None, "periods": {}, "min_group_size": params.min_group_size}
    result["changes"] = {}
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return result
        sides = {
            "now": _side(conn, as_of, params, now),
            "before": _side(conn, as_of, params, replace(before, kpis=now.kpis)),
        }
    result["as_of"] = isoformat_utc(as_of)
    for key, side in sides.items():
        result["periods"][key] = {
            "start": None if side.start is None else side.start.isoformat(),
            "measured_at": isoformat_utc(side.end),
        }
    for name in dict.fromkeys(now.kpis):
        values = {k: s.estimates.get(name, Estimate(None)).value for k, s in sides.items()}
        low, high = change_interval(name, sides["now"], sides["before"])
        sizes = {k: units(name, s) for k, s in sides.items()}
        change = None
        if values["now"] is not None and values["before"] is not None:
            change = values["now"] - values["before"]
        result["changes"][name] = {
            "now": values["now"],
            "before": values["before"],
            "change": change,
            "ci_low": low,
            "ci_high": high,
            "method": method(name),
            "n": {k: s.estimates.get(name, Estimate(None, 0)).count for k, s in sides.items()},
            "units": sizes,
            "clear": beyond_noise((low, high)) and min(sizes.values()) >= params.min_group_size,
        }
    return result
