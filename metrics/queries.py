"""Build the SQL for a set of measures over their fact sets, and read the answers back.

One query per fact set: every measure on that fact set is one aggregate column of it, so
compute_kpis runs a handful of queries whatever the number of KPIs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, Select, Subquery

from metrics.catalog import KPI_CATALOG, Measure
from metrics.episodes import episode_facts
from metrics.facts import FACT_SETS, NO_SCOPE, Scope, ticket_facts
from metrics.params import MetricParams, TimePoints
from warehouse.dialect import quantile_cont


@dataclass(frozen=True)
class Estimate:
    """A measure's value; for a mean, also the count and mean square behind it (for its CI)."""

    value: float | None
    count: int | None = None
    mean_square: float | None = None

    @property
    def variance(self) -> float | None:
        """Population variance of the values averaged (p(1 - p) for a 0/1 flag)."""
        if self.value is None or self.mean_square is None:
            return None
        return max(self.mean_square - self.value**2, 0.0)


def _value(facts: Subquery, measure: Measure) -> ColumnElement:
    value = facts.c[measure.column]
    if measure.group is not None:
        value = sa.case((facts.c.recovery_group == measure.group, value))
    return value


def quantile_sets(measures: Mapping[str, Measure]) -> dict[tuple, list[tuple[str, float]]]:
    """Quantile measures by the values they order ((column, group) -> [(name, q)]): one
    sort gives every quantile of the same values (median and p90 of TTA in one pass)."""
    found: dict[tuple, list[tuple[str, float]]] = {}
    for name, measure in measures.items():
        if measure.aggregate == "quantile":
            found.setdefault((measure.column, measure.group), []).append((name, measure.q))
    return found


def _quantile_label(key: tuple) -> str:
    column, group = key
    return f"{column}__{group or 'all'}__quantiles"


def _aggregates(facts: Subquery, name: str, measure: Measure) -> list[ColumnElement]:
    value = _value(facts, measure)
    if measure.aggregate == "count":
        return [sa.func.count(value).label(name)]
    return [
        sa.func.avg(value).label(name),
        sa.func.count(value).label(f"{name}__count"),
        sa.func.avg(value * value).label(f"{name}__mean_square"),
    ]


def measures_select(
    facts: Subquery,
    measures: Mapping[str, Measure],
    by: ColumnElement | Sequence[ColumnElement] | None = None,
) -> Select:
    """One row (one per ``by`` value, or combination of values) with every measure
    aggregated over ``facts``."""
    columns = [
        col
        for name, measure in measures.items()
        if measure.aggregate != "quantile"
        for col in _aggregates(facts, name, measure)
    ]
    for key, wanted in quantile_sets(measures).items():
        value = _value(facts, measures[wanted[0][0]])
        label = _quantile_label(key)
        columns.append(quantile_cont(value, [q for _, q in wanted]).label(label))
        columns.append(sa.func.count(value).label(f"{label}__count"))
    if by is None:
        return sa.select(*columns).select_from(facts)
    keys = [by] if isinstance(by, ColumnElement) else list(by)
    if not keys:
        return sa.select(*columns).select_from(facts)
    return sa.select(*keys, *columns).group_by(*keys).order_by(*keys)


def read_estimates(row: Mapping, measures: Mapping[str, Measure]) -> dict[str, Estimate]:
    """The Estimate of every measure from a row of ``measures_select``."""
    estimates = {}
    for key, wanted in quantile_sets(measures).items():
        label = _quantile_label(key)
        values, count = row[label], int(row[f"{label}__count"])
        for i, (name, _) in enumerate(wanted):
            estimates[name] = Estimate(_float(values[i]) if values else None, count)
    for name, measure in measures.items():
        if measure.aggregate == "quantile":
            continue
        value = _float(row[name])
        if measure.aggregate == "count":
            count = int(row[name] or 0)
            estimates[name] = Estimate(count, count)
        else:
            count = int(row[f"{name}__count"])
            estimates[name] = Estimate(value, count, _float(row[f"{name}__mean_square"]))
    return estimates


def _float(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def by_fact_set(measures: Mapping[str, Measure]) -> dict[str, dict[str, Measure]]:
    """Measures grouped by the fact set they aggregate."""
    grouped: dict[str, dict[str, Measure]] = defaultdict(dict)
    for name, measure in measures.items():
        grouped[measure.facts][name] = measure
    return dict(grouped)


# The recovery KPIs' columns: under ``count`` episodes or customers they are measured on
# failure episodes instead of tickets.
RECOVERY_COLUMNS = frozenset({"is_recovered", "recovery_minutes", "is_recovered_in_window"})


def routed(measures: Mapping[str, Measure], params: MetricParams) -> dict[str, Measure]:
    """``measures`` with the recovery KPIs moved to the episode facts when params.count asks."""
    if params.count == "tickets":
        return dict(measures)
    return {
        name: replace(m, facts="episodes")
        if m.facts == "tickets" and m.column in RECOVERY_COLUMNS
        else m
        for name, m in measures.items()
    }


def measure_queries(
    measures: Mapping[str, Measure],
    points: TimePoints,
    params: MetricParams,
    scope: Scope = NO_SCOPE,
) -> dict[str, tuple[Select, dict[str, Measure]]]:
    """Per fact set: the query computing its measures (one row per dimension values and
    period of ``scope``), and those measures."""
    queries = {}
    for facts, group in by_fact_set(routed(measures, params)).items():
        asked = replace(scope, columns=frozenset(m.column for m in group.values()))
        subquery = FACTS[facts](points, params, asked)
        keys = [subquery.c[f"d{i}"] for i in range(len(scope.dims))]
        if scope.grain:
            keys.append(subquery.c.period_start)
        queries[facts] = (measures_select(subquery, group, keys), group)
    return queries


def kpi_queries(
    points: TimePoints, params: MetricParams
) -> dict[str, tuple[Select, dict[str, Measure]]]:
    """The queries behind compute_kpis (one per fact set)."""
    return measure_queries({k.name: k.measure for k in KPI_CATALOG.values()}, points, params)


CUSTOMER_FACT_SETS = ("retention", "attrition", "nps")
FACTS = {**FACT_SETS, "episodes": episode_facts}


TREND_MEASURES = {
    "tta_median_minutes": KPI_CATALOG["tta_median_minutes"].measure,
    "tta_p90_minutes": KPI_CATALOG["tta_p90_minutes"].measure,
    "one_touch_rate": KPI_CATALOG["one_touch_rate"].measure,
}


def weekly_trends_query(
    points: TimePoints, params: MetricParams, since: dt.datetime, scope: Scope = NO_SCOPE
) -> Select:
    """One row per ISO week with tickets created in [since, as_of]: week_start,
    tickets_created and the trend measures, each measured at as_of."""
    facts = ticket_facts(points, params, since=since, scope=scope)
    query = measures_select(facts, TREND_MEASURES, by=facts.c.week_start)
    return query.add_columns(sa.func.count().label("tickets_created"))


def cluster_sums_select(
    facts: Subquery, value: ColumnElement, cluster: ColumnElement, keys: Sequence[ColumnElement]
) -> Select:
    """One row per ``keys`` values and cluster (a customer) with a non-null ``value``: n (its
    values) and total (their sum), for cluster-robust intervals (metrics.paradox.Cell)."""
    return (
        sa.select(
            *keys,
            cluster.label("cluster"),
            sa.func.count(value).label("n"),
            sa.func.sum(value).label("total"),
        )
        .select_from(facts)
        .where(value.is_not(None))
        .group_by(*keys, cluster)
        .order_by(*keys, cluster)
    )
