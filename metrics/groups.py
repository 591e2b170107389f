"""recovery_groups: retention and NPS per customer recovery group, for the paradox panel."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from data_contracts.options import BEFORE_2026_12
from metrics.as_of import resolve_as_of
from metrics.catalog import RECOVERY_GROUPS, Measure
from metrics.facts import Scope, has_history, nps_facts
from metrics.paradox import Z_95, Cell, Group, clustered_mean, nps_interval, rate_interval
from metrics.params import MetricParams, TimePoints
from metrics.queries import Estimate, cluster_sums_select, measure_queries, read_estimates

GROUPS_SCHEMA = {
    "group": pl.String(),
    "customers_at_t0": pl.Int64(),
    "retention": pl.Float64(),
    "retention_ci_low": pl.Float64(),
    "retention_ci_high": pl.Float64(),
    "nps_responses": pl.Int64(),
    "nps": pl.Float64(),
    "nps_ci_low": pl.Float64(),
    "nps_ci_high": pl.Float64(),
}


def group_measures() -> dict[str, Measure]:
    """Retention (groups at t0) and NPS (groups at as_of) of every recovery group."""
    measures = {}
    for group in RECOVERY_GROUPS:
        measures[f"retention_{group}"] = Measure("retention", "share", "is_retained", group=group)
        measures[f"nps_{group}"] = Measure("nps", "mean", "nps_points", group=group)
    return measures


def recovery_groups(engine: sa.Engine, params: MetricParams = MetricParams()) -> pl.DataFrame:  # noqa: B008
    """One row per recovery group (recovered, never_failed, unrecovered, in_recovery).

    customers_at_t0 and retention* describe customers active at t0 = as_of - H by their
    group at t0; nps_responses and nps* the last 365 days' responses by the responder's
    group at as_of (a recovered customer's responses only once their last failure was
    solved). Intervals are 95%: Wilson for retention; for NPS the Wald interval on the
    cluster-robust variance (a customer's responses one cluster; definitions "2026-11":
    Rocks's adjusted Wald), see metrics.paradox; values are None without data (an NPS
    interval also with a single customer).
    """
    estimates: dict[str, Estimate] = {}
    cells: dict[str, list[Cell]] = {}  # per group, per customer: their NPS responses
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is not None:
            points = TimePoints.at(as_of, params)
            scope = Scope(history=has_history(conn))
            queries = measure_queries(group_measures(), points, params, scope)
            for query, measures in queries.values():
                estimates |= read_estimates(conn.execute(query).one()._mapping, measures)
            if params.definitions not in BEFORE_2026_12:
                facts = nps_facts(points, params, scope)
                query = cluster_sums_select(
                    facts, facts.c.nps_points, facts.c.n_customer, [facts.c.recovery_group]
                )
                for row in conn.execute(query):
                    cells.setdefault(row.recovery_group, []).append(
                        Cell(row.cluster, (), int(row.n), float(row.total))
                    )
    rows = []
    for group in RECOVERY_GROUPS:
        retention = estimates.get(f"retention_{group}", Estimate(None, 0))
        nps = estimates.get(f"nps_{group}", Estimate(None, 0))
        retention_low, retention_high = rate_interval(Group.of(retention, "ratio"))
        nps_group = Group.of(nps, "nps")
        nps_low, nps_high = nps_interval(nps_group) if nps_group.n else (None, None)
        if params.definitions not in BEFORE_2026_12:
            nps_low, nps_high = _clustered_interval(cells.get(group, []))
        rows.append(
            {
                "group": group,
                "customers_at_t0": retention.count,
                "retention": retention.value,
                "retention_ci_low": retention_low,
                "retention_ci_high": retention_high,
                "nps_responses": nps.count,
                "nps": nps.value,
                "nps_ci_low": nps_low,
                "nps_ci_high": nps_high,
            }
        )
    return pl.DataFrame(rows, schema=GROUPS_SCHEMA)


def _clustered_interval(cells: list[Cell]) -> tuple[float | None, float | None]:
    """The Wald interval of a group's NPS on its cluster-robust variance, within -100..100."""
    mean, variance, _, _ = clustered_mean(cells)
    if mean is None or variance is None:
        return None, None
    margin = Z_95 * variance**0.5
    return max(mean - margin, -100.0), min(mean + margin, 100.0)
