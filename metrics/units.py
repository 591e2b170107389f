"""The units behind a KPI's n: exactly the tickets, customers, responses or episodes that a
KPI of ``compute_kpis`` or ``compute_slice`` aggregates, each with the value it contributes.

Built on the same fact sets and the same Scope as the KPI (metrics.slices.plan_slice): a
unit is listed when the KPI's measure column is not NULL in its fact row (and, for a
measure of one recovery group, when the row is in that group), so the list has n rows and
the KPI recomputed from the listed values (the median or p90 by linear interpolation, the
mean of 0/1 flags, NPS points or counts) is the KPI. With a grain, the units of one period
(``period``) are those of that period's row, measured as the slice measures it (ticket KPIs
at as_of, customer KPIs at the period's end). Without a KPI, the list is every ticket of
the slice (the units of ``ticket_volume``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, Subquery

from data_contracts.times import isoformat_utc
from metrics.api import kpi_estimates
from metrics.as_of import resolve_as_of
from metrics.catalog import KPI_CATALOG, Measure
from metrics.dimensions import DIMENSIONS
from metrics.params import MetricParams, TimePoints
from metrics.periods import floor
from metrics.queries import FACTS, Estimate, _value, routed
from metrics.slices import SliceError, SliceRequest, plan_slice, slice_estimates

# The dimensions each ticket row shows, by the names of metrics.dimensions.
ROW_DIMENSIONS = ("channel", "group", "priority", "type", "failure_tag", "product_area")
CUSTOMER_DIMENSIONS = ("segment", "plan", "region")
RECOVERY_STATUSES = ("recovered", "not recovered", "in recovery", "not a failure")
# The KPI listed when none is named: every ticket of the slice.
EVERY_TICKET = "ticket_volume"
EXPORT_CHUNK = 50_000
MAX_PAGE_SIZE = 1000
# A customer's outcome in words, by the flag a customer KPI averages: (when 1, when 0).
OUTCOMES = {
    "is_retained": ("retained", "churned"),
    "is_churned": ("churned", "stayed"),
    "is_churned_month": ("churned", "stayed"),
    "is_churned_mtd": ("churned", "stayed"),
    "has_failure": ("had a failure", "no failure"),
}


@dataclass(frozen=True)
class UnitList:
    """How the units of one kind are listed: the JSON key, the columns in order, the
    columns a list may be sorted by (the first is the default), the columns a search
    looks in, and the columns that order ties."""

    key: str
    columns: tuple[str, ...]
    sorts: tuple[str, ...]
    search: tuple[str, ...]
    ties: tuple[str, ...]


TICKETS = UnitList(
    "tickets",
    (
        "source",
        "ticket_id",
        "customer_id",
        "created_at",
        "recovery_status",
        "status",
        *ROW_DIMENSIONS,
        "tta_minutes",
        "resolution_minutes",
        "agent_replies",
        "reopens",
        "csat",
        "value",
    ),
    (
        "created_at",
        "tta_minutes",
        "resolution_minutes",
        "agent_replies",
        "customer_id",
        "ticket_id",
        "channel",
        "recovery_status",
        "value",
    ),
    ("ticket_id", "customer_id"),
    ("source", "ticket_id"),
)
EPISODES = UnitList(
    "episodes",
    ("source", "ticket_id", "customer_id", "created_at", "tickets", *ROW_DIMENSIONS, "value"),
    ("created_at", "customer_id", "ticket_id", "tickets", "value"),
    ("ticket_id", "customer_id"),
    ("source", "ticket_id"),
)
CUSTOMERS = UnitList(
    "customers",
    ("customer_id", "recovery_group", *CUSTOMER_DIMENSIONS, "churned_at", "outcome", "value"),
    ("customer_id", "recovery_group", "churned_at", "value"),
    ("customer_id",),
    ("customer_id",),
)
RESPONSES = UnitList(
    "responses",
    ("response_id", "customer_id", "responded_at", "score", "recovery_group", "value"),
    ("responded_at", "score", "customer_id", "response_id", "value"),
    ("response_id", "customer_id"),
    ("response_id",),
)
UNIT_LISTS = {
    "tickets": TICKETS,
    "episodes": EPISODES,
    "retention": CUSTOMERS,
    "attrition": CUSTOMERS,
    "nps": RESPONSES,
}


def unit_list(kpi: str | None, params: MetricParams = MetricParams()) -> UnitList:  # noqa: B008
    """How the units of ``kpi`` (None: every ticket) are listed under ``params.count``."""
    return UNIT_LISTS[_measure(kpi or EVERY_TICKET, params).facts]


def _measure(kpi: str, params: MetricParams) -> Measure:
    if kpi not in KPI_CATALOG:
        raise SliceError(f"unknown KPI {kpi!r}; known: {', '.join(KPI_CATALOG)}")
    return routed({kpi: KPI_CATALOG[kpi].measure}, params)[kpi]


def _status(f) -> ColumnElement[str]:
    return sa.case(
        (f.is_failure == 0.0, "not a failure"),
        (f.is_recovered == 1.0, "recovered"),
        (f.is_recovered == 0.0, "not recovered"),
        else_="in recovery",
    )


def _dims(names: tuple[str, ...], f) -> list[ColumnElement]:
    return [f[f"d{i}"].label(name) for i, name in enumerate(names)]


def _columns(facts: str, f, value: ColumnElement) -> list[ColumnElement]:
    """The listed columns of a fact row (in UnitList order but for ``outcome``)."""
    if facts == "tickets":
        return [
            f.ep_source.label("source"),
            f.ep_ticket.label("ticket_id"),
            f.ep_customer.label("customer_id"),
            f.ep_created.label("created_at"),
            _status(f).label("recovery_status"),
            f.t_status.label("status"),
            *_dims(ROW_DIMENSIONS, f),
            f.tta_minutes,
            f.resolution_minutes,
            f.ep_replies.label("agent_replies"),
            f.t_reopens.label("reopens"),
            f.t_csat.label("csat"),
            value.label("value"),
        ]
    if facts == "episodes":
        return [
            f.ep_source.label("source"),
            f.ep_ticket.label("ticket_id"),
            f.ep_customer.label("customer_id"),
            f.ep_created.label("created_at"),
            f.ep_tickets.label("tickets"),
            *_dims(ROW_DIMENSIONS, f),
            value.label("value"),
        ]
    if facts == "nps":
        return [
            f.n_response.label("response_id"),
            f.n_customer.label("customer_id"),
            f.n_responded_at.label("responded_at"),
            f.n_score.label("score"),
            f.recovery_group,
            value.label("value"),
        ]
    dims = _dims((*CUSTOMER_DIMENSIONS, "recovery_group"), f)
    if facts == "retention":  # the group at t0 the KPI reads, not the dimension's
        return [
            f.r_customer.label("customer_id"),
            f.recovery_group,
            *dims[:-1],
            f.r_churned_at.label("churned_at"),
            value.label("value"),
        ]
    return [  # attrition: the recovery group at the year's start, as --by recovery_group
        f.a_customer.label("customer_id"),
        dims[-1],
        *dims[:-1],
        f.a_churned_at.label("churned_at"),
        value.label("value"),
    ]


def _shown_dims(facts: str) -> tuple[str, ...]:
    if facts in ("tickets", "episodes"):
        return ROW_DIMENSIONS
    if facts == "nps":
        return ()
    return (*CUSTOMER_DIMENSIONS, "recovery_group")


@dataclass(frozen=True)
class _Listed:
    kpi: str | None
    measure: Measure
    units: UnitList
    as_of: dt.datetime
    estimate: Estimate
    rows: Subquery


def _check_period(request: SliceRequest, period: dt.date | None) -> None:
    if (period is None) != (request.grain is None):
        raise SliceError("--period and --grain go together: the period starting START of grain G")
    if period is not None and floor(period, request.grain) != period:
        raise SliceError(
            f"--period {period} is not the first day of a {request.grain} "
            f"(that {request.grain} starts {floor(period, request.grain)})"
        )


def _listed(
    conn: sa.Connection,
    params: MetricParams,
    request: SliceRequest,
    kpi: str | None,
    period: dt.date | None,
) -> _Listed | None:
    """The KPI's estimate and its units as a subquery (one row per unit); None for an
    empty warehouse. SliceError for a request that cannot be listed."""
    name = kpi or EVERY_TICKET
    measure = _measure(name, params)
    _check_period(request, period)
    asked = replace(request, kpis=(name,), by=())
    as_of = resolve_as_of(conn, params)
    if as_of is None:
        return None
    if period is not None:
        as_of, rows, notes = slice_estimates(conn, as_of, params, asked)
        found = [row for row in rows if row.period_start == period]
        if not found:
            first = rows[0].period_start if rows else None
            last = rows[-1].period_start if rows else None
            raise SliceError(
                f"--period {period} is not a {request.grain} of the range"
                + (f" ({first} to {last})" if rows else " (it has no periods)")
            )
        estimate = found[0].estimates[name]
    else:
        as_of, estimates, notes, _ = kpi_estimates(conn, as_of, params, asked)
        estimate = estimates[name]
    if name in notes:
        raise SliceError(notes[name])
    scope = plan_slice(conn, as_of, params, asked).scope
    shown = _shown_dims(measure.facts)
    scope = replace(
        scope,
        dims=tuple(DIMENSIONS[d] for d in shown),
        columns=frozenset({measure.column}),
    )
    facts = FACTS[measure.facts](TimePoints.at(as_of, params), params, scope)
    value = _value(facts, measure)
    conditions = [value.is_not(None)]
    if period is not None:
        conditions.append(facts.c.period_start == period)
    rows = sa.select(*_columns(measure.facts, facts.c, value)).where(*conditions).subquery("units")
    return _Listed(kpi, measure, UNIT_LISTS[measure.facts], as_of, estimate, rows)


def _conditions(listed: _Listed, search: str | None, status: tuple[str, ...]) -> list:
    rows, conditions = listed.rows, []
    if search and search.strip():
        text = search.strip()
        conditions.append(
            sa.or_(*(rows.c[col].icontains(text, autoescape=True) for col in listed.units.search))
        )
    if status:
        if listed.units is not TICKETS:
            raise SliceError(f"a recovery status narrows tickets, not {listed.units.key}")
        unknown = [s for s in status if s not in RECOVERY_STATUSES]
        if unknown:
            raise SliceError(
                f"recovery status {unknown[0]!r} is not one of {', '.join(RECOVERY_STATUSES)}"
            )
        conditions.append(rows.c.recovery_status.in_(status))
    return conditions


def _ordering(listed: _Listed, sort: str | None, descending: bool) -> list:
    units, rows = listed.units, listed.rows
    sort = sort or units.sorts[0]
    if sort not in units.sorts:
        raise SliceError(f"sort {units.key} by one of {', '.join(units.sorts)}, not {sort!r}")
    key = rows.c[sort]
    key = key.desc().nulls_last() if descending else key.asc().nulls_last()
    return [key, *(rows.c[col] for col in units.ties)]


def _row(listed: _Listed, row) -> dict[str, Any]:
    found = dict(row)
    outcome = OUTCOMES.get(listed.measure.column)
    if outcome is not None:
        found["outcome"] = None if found["value"] is None else outcome[found["value"] != 1.0]
    return {col: found[col] for col in listed.units.columns}


def kpi_units(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
    kpi: str | None = None,
    period: dt.date | None = None,
    *,
    search: str | None = None,
    status: tuple[str, ...] = (),
    sort: str | None = None,
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> dict[str, Any]:
    """``{"kpi", "unit", "as_of", "filters", "period_start", "n", "value", "total", "offset",
    <unit>: [{column: value}]}``: the units counted in ``kpi``'s n (None: every ticket) for
    ``request``'s filters and date range (``period``: the period of ``request.grain``
    starting then), with n and value as ``turnaround metrics`` gives them for the same
    arguments. ``total`` counts the units whose ids contain ``search`` (and, for tickets,
    whose recovery status is in ``status``); ``limit`` of them (None: all) from ``offset``
    (past the end: the last page), sorted by ``sort`` (default: the list's first sort), ties
    in id order. SliceError for arguments that cannot be listed."""
    if limit is not None and limit < 1:
        raise SliceError(f"--limit must be at least 1, not {limit}")
    units = unit_list(kpi, params)
    result: dict[str, Any] = {
        "kpi": kpi,
        "unit": units.key,
        "as_of": None,
        "filters": request.filters(),
        "period_start": None if period is None else period.isoformat(),
        "grain": request.grain,
        "n": 0,
        "value": None,
        "total": 0,
        "offset": 0,
        units.key: [],
    }
    with engine.connect() as conn:
        listed = _listed(conn, params, request, kpi, period)
        if listed is None:
            return result
        conditions = _conditions(listed, search, status)
        ordering = _ordering(listed, sort, descending)
        rows = listed.rows
        total = conn.execute(
            sa.select(sa.func.count()).select_from(rows).where(*conditions)
        ).scalar_one()
        query = sa.select(rows).where(*conditions).order_by(*ordering)
        if limit is not None:
            if offset >= total:  # past the end: the last page
                offset = (total - 1) // limit * limit if total else 0
            offset = max(0, offset)
            query = query.offset(offset).limit(limit)
        else:
            offset = 0
        found = [_row(listed, row) for row in conn.execute(query).mappings()]
    result |= {
        "as_of": isoformat_utc(listed.as_of),
        "n": listed.estimate.count or 0,
        "value": None if kpi is None else listed.estimate.value,
        "total": total,
        "offset": offset,
        units.key: found,
    }
    return result


def units_export(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
    kpi: str | None = None,
    period: dt.date | None = None,
    *,
    search: str | None = None,
    status: tuple[str, ...] = (),
    sort: str | None = None,
    descending: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """Every row ``kpi_units`` would page through, in chunks (for a CSV download)."""
    with engine.connect() as conn:
        listed = _listed(conn, params, request, kpi, period)
        if listed is None:
            return
        conditions = _conditions(listed, search, status)
        query = sa.select(listed.rows).where(*conditions)
        query = query.order_by(*_ordering(listed, sort, descending))
        result = conn.execution_options(yield_per=EXPORT_CHUNK).execute(query).mappings()
        for chunk in result.partitions(EXPORT_CHUNK):
            yield [_row(listed, row) for row in chunk]
