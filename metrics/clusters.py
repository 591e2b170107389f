"""The per-customer sums behind the cluster-robust paradox intervals (metrics.paradox.Cell).

NPS: one cell per customer and stratum of the matching (tenure band at the response, segment,
plan) for the recovered and never-failed groups at as_of, over the NPS's responses.
CSAT: one cell per customer for rated tickets solved in the NPS's window (as_of - 365 days,
as_of] and not reopened: failures ("csat_recovered") and other tickets ("csat_ordinary").
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from data_contracts.options import CURRENT_DEFINITIONS
from data_contracts.recovery_rules import NEVER_FAILED, RECOVERED, is_put_right_sql
from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS
from metrics.dimensions import DIMENSIONS, shown
from metrics.facts import Scope, has_history, nps_facts, ticket_facts
from metrics.paradox import MATCH_ON, Cell
from metrics.params import MetricParams, TimePoints
from metrics.queries import cluster_sums_select
from metrics.slices import SliceRequest, date_range, validate

CSAT_RECOVERED, CSAT_ORDINARY = (
    PARADOX_DELTAS["csat_delta"].minuend,
    PARADOX_DELTAS["csat_delta"].subtrahend,
)
# The NPS KPIs of the paradox by the recovery group they measure.
NPS_BY_GROUP = {
    KPI_CATALOG[name].measure.group: name
    for delta in PARADOX_DELTAS.values()
    if delta.unit == "nps"
    for name in (delta.minuend, delta.subtrahend)
}


def _cells(rows, strata: int) -> list[tuple[str, Cell]]:
    dims = [DIMENSIONS[name] for name in MATCH_ON][:strata]
    found = []
    for row in rows:
        m = row._mapping
        stratum = tuple(shown(dim, m[f"d{i}"]) for i, dim in enumerate(dims))
        found.append((m["name"], Cell(m["cluster"], stratum, int(m["n"]), float(m["total"]))))
    return found


def nps_cells(conn: sa.Connection, points: TimePoints, params: MetricParams, scope: Scope):
    """(KPI name, cell) per responding customer and stratum of ``scope.dims``."""
    facts = nps_facts(points, params, replace(scope, columns=frozenset({"nps_points"})))
    group = facts.c.recovery_group
    name = sa.case(*((group == g, n) for g, n in NPS_BY_GROUP.items())).label("name")
    keys = [name, *(facts.c[f"d{i}"] for i in range(len(scope.dims)))]
    query = cluster_sums_select(facts, facts.c.nps_points, facts.c.n_customer, keys).where(
        group.in_((RECOVERED, NEVER_FAILED))
    )
    return _cells(conn.execute(query), len(scope.dims))


def csat_cells(conn: sa.Connection, points: TimePoints, params: MetricParams, scope: Scope):
    """(name, cell) per customer: CSAT (1 good, 0 bad) of rated, not reopened tickets solved
    in (as_of - 365 days, as_of], failures as csat_recovered and the others as csat_ordinary."""
    facts = ticket_facts(points, params, scope=scope)
    f = facts.c
    solved = sa.and_(f.ep_solved_at > points.nps_start, f.ep_solved_at <= points.as_of)
    name = sa.case((f.is_failure == 1.0, CSAT_RECOVERED), else_=CSAT_ORDINARY).label("name")
    # Not reopened by the recovered rule that leaves CSAT out (whatever the definitions): the
    # comparison is of CSAT itself, so it cannot select on it.
    not_reopened = is_put_right_sql(f.t_reopens, f.t_csat, CURRENT_DEFINITIONS)
    query = cluster_sums_select(facts, f.is_csat_good, f.ep_customer, [name]).where(
        solved, not_reopened
    )
    return _cells(conn.execute(query), 0)


def paradox_cells(
    conn: sa.Connection, as_of, params: MetricParams, request: SliceRequest
) -> dict[str, list[Cell]]:
    """Cells of the paradox's clustered comparisons under ``request``'s filters and dates, by
    name (nps_recovered, nps_never_failed, csat_recovered, csat_ordinary). A ticket filter
    leaves the NPS without cells (as it leaves the NPS KPIs without a value)."""
    _, _, filters = validate(replace(request, kpis=(), by=(), grain=None))
    as_of, since = date_range(as_of, params, request)
    points = TimePoints.at(as_of, params)
    scope = Scope(filters=filters, since=since, history=has_history(conn))
    found = csat_cells(conn, points, params, scope)
    if all(dim.level == "customer" for dim, _ in filters):
        dims = tuple(DIMENSIONS[name] for name in MATCH_ON)
        found += nps_cells(conn, points, params, replace(scope, dims=dims))
    cells: dict[str, list[Cell]] = {
        n: [] for n in (*NPS_BY_GROUP.values(), CSAT_RECOVERED, CSAT_ORDINARY)
    }
    for name, cell in found:
        cells[name].append(cell)
    return cells
