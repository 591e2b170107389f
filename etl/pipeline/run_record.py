"""Writing a run's own history: its ``etl_runs`` row (and per-file rows), wherever it can go.

A run that succeeds writes its row inside its write window. One that fails writes it in a
write window of its own; one refused because another writer holds the warehouse, or one the
warehouse cannot take now (busy, an older schema, no warehouse yet), goes to the run journal
on DuckDB (``warehouse.journal``) or straight into ``etl_runs`` on PostgreSQL.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from etl.pipeline.report import RunReport
from warehouse import journal
from warehouse.access import Warehouse, WarehouseBusy
from warehouse.schema import SchemaError, ensure_schema, tables

log = logging.getLogger("turnaround.load")

FAILURE_RECORD_WAIT_SECONDS = 30.0


def record_run(conn: sa.Connection, report: RunReport) -> None:
    """The run's etl_runs row and its per-file rows, in the caller's transaction."""
    conn.execute(tables["etl_runs"].insert(), [report.run_row()])
    if report.stats:
        conn.execute(tables["etl_run_files"].insert(), report.file_rows())


def record_failure(
    warehouse: Warehouse, report: RunReport, wait_seconds: float = FAILURE_RECORD_WAIT_SECONDS
) -> None:
    """Write a failed run's history row, waiting up to ``wait_seconds`` (at most
    FAILURE_RECORD_WAIT_SECONDS) for the write window; where the warehouse cannot take it now
    (busy, or an older schema), the run journal keeps it for the next writer."""
    if not warehouse.file_exists():  # a failed first load makes no warehouse to say so
        _journal_or_log(warehouse, report)
        return
    try:
        with warehouse.write(min(wait_seconds, FAILURE_RECORD_WAIT_SECONDS)) as conn:
            ensure_schema(conn, warehouse.display)
            record_run(conn, report)
    except (WarehouseBusy, SchemaError, sa.exc.SQLAlchemyError, OSError) as exc:
        log.debug("run %s: recorded in the journal (%s)", report.batch_id, exc)
        _journal_or_log(warehouse, report)


def record_refusal(warehouse: Warehouse, report: RunReport) -> None:
    """A refused run cannot wait for the warehouse it was refused: journal it (DuckDB), or
    insert it beside the running load's transaction (PostgreSQL)."""
    if warehouse.path is not None:
        _journal_or_log(warehouse, report)
        return
    try:
        with warehouse.writer().begin() as conn:
            record_run(conn, report)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("run %s was refused and could not be recorded: %s", report.batch_id, exc)


def _journal_or_log(warehouse: Warehouse, report: RunReport) -> None:
    if warehouse.path is not None:
        try:
            journal.append(warehouse.path, report.run_row())
            return
        except OSError as exc:
            log.warning("run %s could not be recorded: %s", report.batch_id, exc)
    else:
        log.warning("run %s could not be recorded in the warehouse", report.batch_id)
