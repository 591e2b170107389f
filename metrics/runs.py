"""The run history ``turnaround runs`` and the Data health page show: each run with its
files and contract checks.

Grain: one dict per run, newest first: the ``etl_runs`` row (``files`` is the number of
files), ``file_results`` (its ``etl_run_files`` rows) and ``checks`` (its ``etl_run_checks``
rows). Runs still in the journal (refused while another load
held the warehouse, not yet moved into ``etl_runs``) are included, marked ``journal``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from warehouse import journal
from warehouse.schema import etl_run_checks, etl_run_files, etl_runs


def run_history(engine: sa.Engine, database: Path | None, limit: int = 20) -> list[dict]:
    """The newest ``limit`` runs, with those still waiting in the journal of the DuckDB file
    ``database`` (None: no journal to read)."""
    with engine.connect() as conn:
        runs = [
            dict(r)
            for r in conn.execute(
                sa.select(etl_runs).order_by(etl_runs.c.started_at.desc()).limit(limit)
            ).mappings()
        ]
        ids = [r["batch_id"] for r in runs]
        files = _by_batch(conn, etl_run_files, ids)
        checks = _by_batch(conn, etl_run_checks, ids)
    known = set(ids)
    waiting = [] if database is None else journal.pending(database)[0]
    for row in waiting:
        if row["batch_id"] not in known:
            runs.append({**row, "journal": True})
    runs.sort(key=lambda r: r["started_at"], reverse=True)
    history = []
    for r in runs[:limit]:
        history.append(
            {
                **r,
                "file_results": files.get(r["batch_id"], []),
                "checks": checks.get(r["batch_id"], []),
            }
        )
    return history


def _by_batch(conn: sa.Connection, table: sa.Table, ids: list[str]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    if not ids:
        return grouped
    rows = conn.execute(sa.select(table).where(table.c.batch_id.in_(ids))).mappings()
    for row in rows:
        item = {k: v for k, v in row.items() if k != "batch_id"}
        grouped.setdefault(row["batch_id"], []).append(item)
    return grouped
