"""What the Data health page shows: how fresh each source is, the last load, quarantined rows.

``turnaround refresh`` judges a pulled source stale by the same ``freshness``.

Grain:
- ``freshness``: one dict per canonical table and source: its rows, the latest event in the
  data (a ticket's ``updated_at``, a response's ``responded_at``, a customer's ``signup_at``
  or ``churned_at``) and when a successful run last loaded rows of it;
- ``last_runs``: the newest run and the newest successful run (``etl_runs`` rows);
- ``quarantined``: quarantined rows, newest first, with their reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from data_contracts import CANONICAL_TABLES
from warehouse.schema import etl_runs, quarantine, tables

# Per canonical table: the column whose latest value says how recent the data is (the one
# declaration of freshness).
LATEST_EVENT = {
    "tickets": lambda c: c.updated_at,
    "nps_responses": lambda c: c.responded_at,
    "customers": lambda c: sa.func.greatest(
        c.signup_at, sa.func.coalesce(c.churned_at, c.signup_at)
    ),
}
TABLES = {name: tables[name] for name in CANONICAL_TABLES}
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUSED = "refused"  # another load was running: no failure of the data


def freshness(engine: sa.Engine) -> list[dict[str, Any]]:
    """Rows, latest event and last successful load per table and source."""
    found = []
    with engine.connect() as conn:
        for name, table in TABLES.items():
            c = table.c
            loaded = (
                sa.select(etl_runs.c.batch_id, etl_runs.c.ended_at)
                .where(etl_runs.c.status == SUCCEEDED)
                .subquery("runs")
            )
            query = (
                sa.select(
                    c.source,
                    sa.func.count().label("rows"),
                    sa.func.max(LATEST_EVENT[name](c)).label("latest_event"),
                    sa.func.max(loaded.c.ended_at).label("last_loaded"),
                )
                .select_from(table.outerjoin(loaded, loaded.c.batch_id == c.batch_id))
                .group_by(c.source)
                .order_by(c.source)
            )
            for row in conn.execute(query).mappings():
                found.append({"table": name, **row})
    return found


def last_runs(engine: sa.Engine) -> dict[str, dict[str, Any] | None]:
    """``{"latest": the newest run that was not refused, "succeeded": the newest successful
    run}`` (None where there is none)."""
    r = etl_runs.c
    with engine.connect() as conn:
        latest = conn.execute(  # a run refused while another load ran says nothing of the data
            sa.select(etl_runs).where(r.status != REFUSED).order_by(r.started_at.desc()).limit(1)
        ).mappings()
        latest_row = latest.first()
        good = conn.execute(
            sa.select(etl_runs)
            .where(r.status == SUCCEEDED)
            .order_by(r.ended_at.desc().nulls_last())
            .limit(1)
        ).mappings()
        good_row = good.first()
    return {
        "latest": None if latest_row is None else dict(latest_row),
        "succeeded": None if good_row is None else dict(good_row),
    }


def quarantined(engine: sa.Engine, limit: int = 200) -> dict[str, Any]:
    """``{"total": n, "rows": [newest first, at most limit]}`` of the quarantine."""
    q = quarantine.c
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one()
        rows = conn.execute(
            sa.select(
                q.quarantined_at,
                q.source_file,
                q.target_table,
                q.row_number,
                q.reason,
                q.raw_row,
            )
            .order_by(q.quarantined_at.desc(), q.source_file, q.row_number)
            .limit(limit)
        ).mappings()
        return {"total": total, "rows": [dict(row) for row in rows]}


def staleness(
    runs: dict[str, dict[str, Any] | None], now: dt.datetime, stale_after_hours: float
) -> str | None:
    """The banner for ``last_runs``: the last load failed, or the last successful load ended
    more than ``stale_after_hours`` before ``now`` (naive UTC); None when all is well or no
    load was ever recorded."""
    latest, good = runs["latest"], runs["succeeded"]
    superseded = (  # a successful load ended after the failed run began
        good is not None
        and latest is not None
        and good["ended_at"] is not None
        and good["ended_at"] > latest["started_at"]
    )
    if latest is not None and latest["status"] == FAILED and not superseded:
        when = f"{latest['started_at']:%d %b %Y, %H:%M} UTC"
        reason = (latest.get("message") or "no message").splitlines()[0]
        return f"The last load ({when}) {latest['status']}: {reason}"
    if good is not None and good["ended_at"] is not None:
        age = now - good["ended_at"]
        if age > dt.timedelta(hours=stale_after_hours):
            hours = age.total_seconds() / 3600
            shown = f"{hours:,.0f} hours" if hours < 72 else f"{hours / 24:,.0f} days"
            return (
                f"The data may be stale: the last successful load ended {shown} ago "
                f"({good['ended_at']:%d %b %Y, %H:%M} UTC), more than {stale_after_hours:g} "
                "hours."
            )
    return None
