"""Where a point-in-time number may carry hindsight, say so.

A ticket's state at t is its version valid at t; for t before the first version loaded it
is read from that first version, which may already know what happened after t (a reopen,
a bad rating). The retention KPIs read the recovery groups at t0 = as_of - H, so they are
the ones exposed: ``hindsight`` counts the failure tickets that group customers at t0 (those
created by t0; under the 2026-12 definitions, in the look-back before it) whose first known
version is dated after t0.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from data_contracts.times import isoformat_utc
from metrics.facts import has_history, is_failure, lookback_days
from metrics.live import tickets
from metrics.params import MetricParams, TimePoints
from warehouse.schema import ticket_versions

RETENTION_KPIS = ("recovered_retention", "never_failed_retention", "unrecovered_retention")


def hindsight(conn: sa.Connection, points: TimePoints, params: MetricParams) -> dict:
    """``{"at", "failure_tickets", "first_known_later", "kpis", "note"}`` for t0."""
    t, v = tickets.c, ticket_versions.c
    t0 = points.retention_start
    first_known = t.updated_at
    if has_history(conn):
        earliest = (
            sa.select(sa.func.min(v.valid_from))
            .where(v.source == t.source, v.ticket_id == t.ticket_id)
            .scalar_subquery()
        )
        first_known = sa.func.coalesce(sa.func.least(t.updated_at, earliest), t.updated_at)
    later = sa.func.count().filter(first_known > t0)
    grouping = [is_failure(params.failure_tags), t.created_at <= t0]
    created = f"created by {isoformat_utc(t0)}"
    days = lookback_days(params)
    if days is not None:  # only the look-back's failures group a customer at t0
        start = t0 - dt.timedelta(days=days)
        grouping.append(t.created_at > start)
        created = f"created in ({isoformat_utc(start)}, {isoformat_utc(t0)}]"
    total, known_later = conn.execute(sa.select(sa.func.count(), later).where(*grouping)).one()
    note = (
        f"{known_later:,} of {total:,} failure tickets {created} were "
        "first loaded in a version dated later: their state then (status, reopens, CSAT) is "
        "read from that later version and may carry hindsight. Load earlier exports (or "
        "incremental ones) to give them their history."
        if known_later
        else "Every failure ticket created by t0 has a version known by t0."
    )
    return {
        "at": isoformat_utc(t0),
        "failure_tickets": int(total or 0),
        "first_known_later": int(known_later or 0),
        "kpis": [*RETENTION_KPIS, "retention_delta"],
        "note": note,
    }
