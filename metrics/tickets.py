"""The tickets behind a number: one row per ticket of a slice, and one customer's history.

A KPI of ``compute_kpis`` or ``compute_slice`` counts the tickets of ``ticket_facts`` under
the request's filters and date range; ``ticket_page`` lists exactly those tickets (searched,
sorted and paginated in the warehouse), so a ticket list's rows add up to the KPI's n. Each
row carries its recovery status at as_of:

- ``not a failure``: no failure tag and not an incident or problem;
- ``recovered``: a solved failure that was put right (not reopened; under 2026-11 also CSAT
  not bad);
- ``not recovered``: a solved failure that was not put right;
- ``in recovery``: a failure not solved by as_of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, Subquery

from data_contracts.times import isoformat_utc
from metrics.as_of import resolve_as_of
from metrics.dimensions import DIMENSIONS
from metrics.facts import Scope, has_history, ticket_facts
from metrics.params import MetricParams, TimePoints
from metrics.slices import SliceRequest, date_range, validate
from warehouse.schema import customers, nps_responses

# The dimensions each ticket row shows, by the names of metrics.dimensions.
ROW_DIMENSIONS = ("channel", "group", "priority", "type", "failure_tag", "product_area")
RECOVERY_STATUSES = ("recovered", "not recovered", "in recovery", "not a failure")
# Columns of a ticket row, in order (what the CSV download has).
TICKET_COLUMNS = (
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
)
SORTS = (
    "created_at",
    "tta_minutes",
    "resolution_minutes",
    "agent_replies",
    "customer_id",
    "ticket_id",
    "channel",
    "recovery_status",
)
MAX_PAGE_SIZE = 1000
EXPORT_CHUNK = 50_000


def _status(f) -> ColumnElement[str]:
    return sa.case(
        (f.is_failure == 0.0, "not a failure"),
        (f.is_recovered == 1.0, "recovered"),
        (f.is_recovered == 0.0, "not recovered"),
        else_="in recovery",
    )


def _rows(conn: sa.Connection, params: MetricParams, request: SliceRequest):
    """The measuring instant and the ticket rows subquery of ``request`` (the instant the
    CLI measures at), or None for an empty warehouse."""
    as_of = resolve_as_of(conn, params)
    if as_of is None:
        return None
    _, _, filters = validate(request)
    as_of, since = date_range(as_of, params, request)
    scope = Scope(
        dims=tuple(DIMENSIONS[name] for name in ROW_DIMENSIONS),
        filters=filters,
        since=since,
        history=has_history(conn),
    )
    f = ticket_facts(TimePoints.at(as_of, params), params, scope=scope).c
    columns = [
        f.ep_source.label("source"),
        f.ep_ticket.label("ticket_id"),
        f.ep_customer.label("customer_id"),
        f.ep_created.label("created_at"),
        f.t_status.label("status"),
        *(f[f"d{i}"].label(name) for i, name in enumerate(ROW_DIMENSIONS)),
        _status(f).label("recovery_status"),
        f.tta_minutes,
        f.resolution_minutes,
        f.ep_replies.label("agent_replies"),
        f.t_reopens.label("reopens"),
        f.t_csat.label("csat"),
    ]
    return as_of, sa.select(*columns).subquery("ticket_rows")


def _searched(rows: Subquery, search: str | None, status: tuple[str, ...]) -> list:
    conditions = []
    if search and search.strip():
        text = search.strip()
        conditions.append(
            sa.or_(
                rows.c.ticket_id.icontains(text, autoescape=True),
                rows.c.customer_id.icontains(text, autoescape=True),
            )
        )
    if status:
        unknown = [s for s in status if s not in RECOVERY_STATUSES]
        if unknown:
            raise ValueError(
                f"recovery status {unknown[0]!r} is not one of {', '.join(RECOVERY_STATUSES)}"
            )
        conditions.append(rows.c.recovery_status.in_(status))
    return conditions


def _ordering(rows: Subquery, sort: str, descending: bool) -> list:
    if sort not in SORTS:
        raise ValueError(f"sort by one of {', '.join(SORTS)}, not {sort!r}")
    key = rows.c[sort]
    key = key.desc().nulls_last() if descending else key.asc().nulls_last()
    return [key, rows.c.source, rows.c.ticket_id]


def _selected(
    conn: sa.Connection,
    params: MetricParams,
    request: SliceRequest,
    search: str | None,
    status: tuple[str, ...],
    sort: str,
    descending: bool,
):
    """(as_of, rows, conditions, ordering) of a searched, sorted ticket list; None for an
    empty warehouse."""
    found = _rows(conn, params, request)
    if found is None:
        return None
    as_of, rows = found
    return as_of, rows, _searched(rows, search, status), _ordering(rows, sort, descending)


def ticket_page(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
    *,
    search: str | None = None,
    status: tuple[str, ...] = (),
    sort: str = "created_at",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """``{"as_of", "total", "offset", "rows": [{column: value}]}``: the tickets of
    ``request`` (its filters and date range; dimensions and grain are ignored) whose id or
    customer id contains ``search`` and whose recovery status is in ``status`` (empty: any),
    sorted by ``sort`` (ties by source and ticket id), ``limit`` rows from ``offset`` (an
    offset past the end gives the last page)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"a page has 1 to {MAX_PAGE_SIZE} rows, not {limit}")
    with engine.connect() as conn:
        selected = _selected(conn, params, request, search, status, sort, descending)
        if selected is None:
            return {"as_of": None, "total": 0, "offset": 0, "rows": []}
        as_of, rows, conditions, ordering = selected
        total = conn.execute(
            sa.select(sa.func.count()).select_from(rows).where(*conditions)
        ).scalar_one()
        if offset >= total:  # past the end: the last page
            offset = (total - 1) // limit * limit if total else 0
        offset = max(0, offset)
        found = conn.execute(
            sa.select(rows).where(*conditions).order_by(*ordering).offset(offset).limit(limit)
        ).mappings()
        page = [dict(row) for row in found]
    return {"as_of": isoformat_utc(as_of), "total": total, "offset": offset, "rows": page}


def ticket_export(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
    *,
    search: str | None = None,
    status: tuple[str, ...] = (),
    sort: str = "created_at",
    descending: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """Every row ``ticket_page`` would page through, in chunks (for a CSV download)."""
    with engine.connect() as conn:
        selected = _selected(conn, params, request, search, status, sort, descending)
        if selected is None:
            return
        _, rows, conditions, ordering = selected
        query = sa.select(rows).where(*conditions).order_by(*ordering)
        result = conn.execution_options(yield_per=EXPORT_CHUNK).execute(query).mappings()
        for chunk in result.partitions(EXPORT_CHUNK):
            yield [dict(row) for row in chunk]


def customer_history(
    engine: sa.Engine,
    customer_id: str,
    params: MetricParams = MetricParams(),  # noqa: B008
    end: dt.date | None = None,
) -> dict[str, Any]:
    """``{"customer": row or None, "tickets": [ticket rows, oldest first], "nps": [responses,
    oldest first]}``: one customer's record, every ticket with its recovery status at as_of
    (or at the end of local day ``end``, as a list with ``--to`` reads it), and every NPS
    response."""
    with engine.connect() as conn:
        c = customers.c
        record = conn.execute(sa.select(customers).where(c.customer_id == customer_id))
        found = record.mappings().first()
        found_rows = _rows(conn, params, SliceRequest(end=end))
        ticket_rows: list[dict] = []
        if found_rows is not None:
            rows = found_rows[1]
            query = (
                sa.select(rows)
                .where(rows.c.customer_id == customer_id)
                .order_by(rows.c.created_at, rows.c.source, rows.c.ticket_id)
            )
            ticket_rows = [dict(row) for row in conn.execute(query).mappings()]
        n = nps_responses.c
        responses = conn.execute(
            sa.select(n.response_id, n.responded_at, n.score)
            .where(n.customer_id == customer_id)
            .order_by(n.responded_at, n.response_id)
        ).mappings()
        nps = [dict(row) for row in responses]
    customer = None
    if found is not None:
        keep = ("customer_id", "signup_at", "churned_at", "plan", "segment", "region", "mrr")
        customer = {key: found[key] for key in keep if key in found}
    return {"customer": customer, "tickets": ticket_rows, "nps": nps}
