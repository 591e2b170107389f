"""Load export files into the warehouse: read, validate, merge, account for every row.

A run is all-or-nothing: every file is recognised before anything is read, and every
write happens in one transaction, so a refused file or a crash leaves the warehouse as it
was. Only the run's own history row (status ``failed``) is written after a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from data_contracts.validate import validate
from etl import held_metrics
from etl.formats import detect
from etl.frames import ReadContext, ReadResult, Rejected
from etl.merge import DUPLICATE, INSERT, REPLACE, latest_per_key, merge
from etl.report import RunReport, utc_now
from warehouse.schema import ensure_schema, hash_key, tables

# Metric columns a ticket keeps when a newer version of it arrives without them.
TICKET_METRIC_COLUMNS = (
    "first_reply_at",
    "solved_at",
    "agent_replies",
    "reopens",
    "assignee_stations",
    "group_stations",
    "first_reply_business_minutes",
)
CANONICAL = {
    "tickets": ("source", "ticket_id"),
    "nps_responses": ("source", "response_id"),
    "customers": ("customer_id",),
}
IDENTITY_KEY = ("source", "user_id")
MERGE_OUTCOME = {INSERT: "rows_loaded", REPLACE: "rows_replaced", DUPLICATE: "rows_duplicates"}

Progress = Callable[[str, int, int], None]


class LoadError(Exception):
    """The run failed; nothing was loaded. The message says why."""


def new_batch_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the files below folders named, in a stable order, without repeats."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique


def load_paths(
    engine: sa.Engine, paths: Iterable[Path], progress: Progress | None = None
) -> RunReport:
    """Load every file in ``paths`` in one run; raise LoadError or UnreadableFile on failure."""
    ensure_schema(engine)
    started = utc_now()
    report = RunReport(batch_id=new_batch_id(started), started_at=started)
    try:
        files = expand(paths)
        report.files = [str(f) for f in files]
        if not files:
            raise LoadError("no files to load")
        formats = [(f, detect(f)) for f in files]  # refuse the run before reading anything
        with engine.connect() as conn:
            ctx = ReadContext(hash_key=hash_key(conn))
        results: list[tuple[str, ReadResult]] = []
        for i, (path, fmt) in enumerate(formats, start=1):
            if progress:
                progress(str(path), i, len(formats))
            results.append((str(path), fmt.read(path, ctx)))
        with engine.begin() as conn:
            _load(conn, report, results)
            report.status, report.ended_at = "succeeded", utc_now()
            _record(conn, report)
    except Exception as exc:
        # The transaction rolled back: nothing of the run's accounting was loaded.
        report.stats.clear()
        report.status, report.ended_at, report.message = "failed", utc_now(), str(exc)
        with engine.begin() as conn:
            _record(conn, report)
        raise
    return report


def _record(conn: sa.Connection, report: RunReport) -> None:
    conn.execute(tables["etl_runs"].insert(), [report.run_row()])
    if report.stats:
        conn.execute(tables["etl_run_files"].insert(), report.file_rows())


def _with_lineage(
    frame: pl.DataFrame, source: str, batch_id: str, source_file: str, file_index: int
) -> pl.DataFrame:
    lineage = {"source": source, "batch_id": batch_id, "source_file": source_file}
    return frame.with_columns(
        *[pl.lit(v, pl.String).alias(k) for k, v in lineage.items() if k not in frame.columns],
        (pl.lit(file_index, pl.Int64) * 2**32 + pl.col("row_number")).alias("load_order"),
    )


def _load(conn: sa.Connection, report: RunReport, results: list[tuple[str, ReadResult]]) -> None:
    quarantined: list[tuple[str, Rejected]] = []
    batches: dict[str, list[pl.DataFrame]] = {}
    for index, (path, result) in enumerate(results):
        for stream, count in result.skipped.items():
            entry = report.entry(path, stream, result.format)
            entry.rows_read += count
            entry.rows_skipped += count
        for rejected in result.rejected:
            entry = report.entry(path, rejected.table, result.format)
            entry.rows_read += 1
            entry.rows_quarantined += 1
            quarantined.append((path, rejected))
        for name, frame in result.frames().items():
            if frame.is_empty():
                continue
            report.entry(path, name, result.format).rows_read += frame.height
            batches.setdefault(name, []).append(
                _with_lineage(frame, result.source, report.batch_id, path, index)
            )

    if "identities" in batches:
        identities = pl.concat(batches.pop("identities"), how="diagonal_relaxed")
        _merge_counted(conn, report, "customer_identities", IDENTITY_KEY, identities, "identities")

    for table, key in CANONICAL.items():
        if table not in batches:
            continue
        valid_parts = []
        for frame in batches.pop(table):
            if table == "tickets" and "requester_id" in frame.columns:
                frame = _resolve_customers(conn, frame)
            result = validate(table, frame)
            source_file = frame["source_file"][0]  # one file per frame, never empty
            quarantined.extend((source_file, r) for r in result.rejected)
            if result.rejected:
                report.stats[(source_file, table)].rows_quarantined += len(result.rejected)
            valid_parts.append(result.valid)
        frame = pl.concat(valid_parts, how="diagonal_relaxed")
        keep = TICKET_METRIC_COLUMNS if table == "tickets" else ()
        _merge_counted(conn, report, table, key, frame, table, keep_when_null=keep)

    metrics = batches.pop("ticket_metrics", None)
    if metrics:
        frame = pl.concat(metrics, how="diagonal_relaxed")
        keep, superseded = latest_per_key(frame, ("source", "ticket_id"))
        _count(report, superseded, "ticket_metrics", "rows_duplicates")
        counts = merge(
            conn, tables["held_ticket_metrics"], ("source", "ticket_id"), keep.drop("load_order")
        )
        for (source_file, action), n in counts.items():
            if action == DUPLICATE:
                _add(report, source_file, "ticket_metrics", "rows_duplicates", n)

    # Every run applies held metrics: this run's, and earlier ones whose ticket just arrived.
    outcome = held_metrics.apply(conn, report.batch_id)
    for (source_file, column), n in outcome.per_file.items():
        _add(report, source_file, "ticket_metrics", column, n)
    report.rows_released += outcome.released
    _quarantine(conn, report.batch_id, quarantined)


def _add(report: RunReport, source_file: str, table: str, column: str, n: int) -> None:
    entry = report.stats[(source_file, table)]
    setattr(entry, column, getattr(entry, column) + n)


def _count(report: RunReport, frame: pl.DataFrame, table: str, column: str) -> None:
    for (source_file,), part in frame.group_by(["source_file"]):
        _add(report, source_file, table, column, part.height)


def _merge_counted(
    conn,
    report,
    target: str,
    key,
    frame: pl.DataFrame,
    stats_table: str,
    keep_when_null: tuple[str, ...] = (),
) -> None:
    keep, superseded = latest_per_key(frame, key)
    _count(report, superseded, stats_table, "rows_duplicates")
    counts = merge(conn, tables[target], key, keep.drop("load_order"), keep_when_null)
    for (source_file, action), n in counts.items():
        _add(report, source_file, stats_table, MERGE_OUTCOME[action], n)


def _resolve_customers(conn: sa.Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """Replace a ticket's requester id by the customer id its source user maps to."""
    identities = tables["customer_identities"]
    source = frame["source"][0]
    requesters = frame["requester_id"].drop_nulls().unique().to_list()
    known: dict[str, str] = {}
    for start in range(0, len(requesters), 5_000):
        chunk = requesters[start : start + 5_000]
        rows = conn.execute(
            sa.select(identities.c.user_id, identities.c.customer_id).where(
                identities.c.source == source, identities.c.user_id.in_(chunk)
            )
        ).all()
        known.update(dict(rows))
    mapped = pl.col("requester_id").replace_strict(
        known, default=pl.col("requester_id"), return_dtype=pl.String
    )
    return frame.with_columns(pl.coalesce(pl.col("customer_id"), mapped).alias("customer_id")).drop(
        "requester_id"
    )


def _quarantine(conn: sa.Connection, batch_id: str, rejected: list[tuple[str, Rejected]]) -> None:
    if not rejected:
        return
    now = utc_now()
    rows = [
        {
            "batch_id": batch_id,
            "source_file": source_file,
            "target_table": r.table,
            "row_number": r.row_number,
            "raw_row": r.raw if isinstance(r.raw, str) else json.dumps(r.raw, default=str),
            "reason": r.reason,
            "quarantined_at": now,
        }
        for source_file, r in rejected
    ]
    conn.execute(tables["quarantine"].insert(), rows)
