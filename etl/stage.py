"""Stage one export file: read it, check it against the contracts, outside the warehouse.

Grain of a StagedFile: one file. Its frames hold the rows that passed every check, with
lineage and ``load_order``; ``rejected`` holds every row that did not, with the raw record
and the reason; ``checks`` one result per contract check (and one for the rows the reader
could not parse). Nothing here touches the warehouse, so a load holds it only to merge.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.formats import Format
from etl.frames import ReadContext, ReadResult, Rejected
from etl.identity import redact_emails
from etl.report import CheckRow

# Canonical tables a reader's frames are checked against; the others (ticket_metrics,
# identities) have no contract of their own and are checked by the reader.
CONTRACT_TABLES = ("tickets", "nps_responses", "customers")
READER_CHECK = "record_is_readable"


@dataclass
class StagedFile:
    path: str
    format: str
    source: str
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)  # table -> valid rows
    read: Counter = field(default_factory=Counter)  # table -> rows read
    rejected: list[Rejected] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    checks: list[CheckRow] = field(default_factory=list)
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> columns

    @property
    def quarantined_share(self) -> float:
        """Rejected rows over rows read (streams Turnaround does not use left out)."""
        total = sum(self.read.values())
        return len(self.rejected) / total if total else 0.0


def stage_file(
    path: Path, fmt: Format, ctx: ReadContext, batch_id: str, file_index: int
) -> StagedFile:
    """Read and check one file; raises UnreadableFile when it cannot be read at all."""
    result = fmt.read(path, ctx)
    staged = StagedFile(
        str(path),
        result.format,
        result.source,
        skipped=dict(result.skipped),
        absent=dict(result.absent_columns),
    )
    reader_rejects: dict[str, list[Rejected]] = {}
    for rejected in result.rejected:
        reader_rejects.setdefault(rejected.table, []).append(rejected)
        staged.read[rejected.table] += 1
    staged.rejected.extend(result.rejected)
    for table, frame in result.frames().items():
        if frame.height:
            staged.read[table] += frame.height
        if table == "tickets":
            frame = _ticket_bookkeeping(frame, result.source)
        if table in CONTRACT_TABLES:
            frame = _checked(staged, table, frame, result)
        staged.frames[table] = _with_lineage(frame, result.source, batch_id, str(path), file_index)
    for table in sorted(set(staged.read) | set(reader_rejects)):
        bad = reader_rejects.get(table, [])
        staged.checks.insert(
            0,
            CheckRow(
                str(path),
                table,
                READER_CHECK,
                "the record parses into a canonical row",
                success=not bad,
                failing_count=len(bad),
                example_reason=redact_emails(bad[0].reason) if bad else None,
            ),
        )
    return staged


def _ticket_bookkeeping(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """A source's requester becomes ``source_user_id``, so the loader maps it to the customer
    (now, or when the user arrives later); until then the requester id stands in.
    Metric values a ticket row carries itself are as new as the row."""
    if "requester_id" in frame.columns:
        return frame.rename({"requester_id": "source_user_id"}).with_columns(
            pl.coalesce("customer_id", "source_user_id").alias("customer_id"),
            pl.lit(None, pl.Datetime("us")).alias("metrics_updated_at"),
        )
    return frame.with_columns(
        pl.lit(None, pl.String).alias("source_user_id"),
        pl.col("updated_at").alias("metrics_updated_at"),
        pl.lit(None, pl.String).alias("follow_up_of"),
    )


def _checked(staged: StagedFile, table: str, frame: pl.DataFrame, result: ReadResult):
    """The rows of ``frame`` that pass ``table``'s contract; the rest join ``rejected`` with
    the raw record the file had."""
    from data_contracts.validate import validate  # great-expectations loads only here

    outcome = validate(table, frame)
    rejected = outcome.rejected
    if rejected and result.raw_lookup is not None:
        raw = result.raw_lookup(table, [r.row_number for r in rejected])
        for r in rejected:
            r.raw = raw.get(r.row_number, r.raw)
    staged.rejected.extend(rejected)
    staged.checks.extend(
        CheckRow(
            staged.path,
            table,
            c.name,
            c.description,
            c.success,
            c.unexpected_count,
            redact_emails(c.example) if c.example else None,
        )
        for c in outcome.checks
    )
    return outcome.valid


def _with_lineage(
    frame: pl.DataFrame, source: str, batch_id: str, source_file: str, file_index: int
) -> pl.DataFrame:
    lineage = {"source": source, "batch_id": batch_id, "source_file": source_file}
    return frame.with_columns(
        *[pl.lit(v, pl.String).alias(k) for k, v in lineage.items() if k not in frame.columns],
        (pl.lit(file_index, pl.Int64) * 2**32 + pl.col("row_number")).alias("load_order"),
    )
