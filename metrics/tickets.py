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

from metrics.params import MetricParams
from metrics.slices import SliceRequest
from metrics.units import (
    MAX_PAGE_SIZE,
    RECOVERY_STATUSES,
    ROW_DIMENSIONS,
    TICKETS,
    _listed,
    kpi_units,
    units_export,
)
from warehouse.schema import customers, nps_responses

__all__ = ["RECOVERY_STATUSES", "ROW_DIMENSIONS"]

# Columns of a ticket row, in order (what the CSV download has): a unit list's, but the value.
TICKET_COLUMNS = tuple(col for col in TICKETS.columns if col != "value")
SORTS = tuple(col for col in TICKETS.sorts if col != "value")


def _ticket_row(row: dict) -> dict:
    return {col: row[col] for col in TICKET_COLUMNS}


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
    offset past the end gives the last page): metrics.units.kpi_units without a KPI."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"a page has 1 to {MAX_PAGE_SIZE} rows, not {limit}")
    if sort not in SORTS:
        raise ValueError(f"sort by one of {', '.join(SORTS)}, not {sort!r}")
    found = kpi_units(
        engine,
        params,
        SliceRequest(where=request.where, start=request.start, end=request.end),
        search=search,
        status=status,
        sort=sort,
        descending=descending,
        offset=offset,
        limit=limit,
    )
    rows = [_ticket_row(row) for row in found["tickets"]]
    return {key: found[key] for key in ("as_of", "total", "offset")} | {"rows": rows}


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
    plain = SliceRequest(where=request.where, start=request.start, end=request.end)
    chunks = units_export(
        engine, params, plain, search=search, status=status, sort=sort, descending=descending
    )
    for chunk in chunks:
        yield [_ticket_row(row) for row in chunk]


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
        listed = _listed(conn, params, SliceRequest(end=end), None, None)
        ticket_rows: list[dict] = []
        if listed is not None:
            rows = listed.rows
            query = (
                sa.select(rows)
                .where(rows.c.customer_id == customer_id)
                .order_by(rows.c.created_at, rows.c.source, rows.c.ticket_id)
            )
            ticket_rows = [_ticket_row(row) for row in conn.execute(query).mappings()]
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
