"""Stage one export file: read it batch by batch, check each batch against the contracts,
and put its rows in the run's staging database, all outside the warehouse.

Grain of a StagedFile: one file. Its rows that passed every check are staged with lineage,
``load_order`` and ``file_index``; ``rejected`` holds every row that did not (a contract
check, or an event time outside the run's plausible range), with the raw record and the
reason; ``checks`` one result per contract check, counted by great-expectations over the
staged rows (``check_staged``), one for the rows the reader could not parse, and one per
event-time check of a table without a contract. Nothing here
touches the warehouse, so a load holds it only to merge.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_contracts import CANONICAL_TABLES, CONTRACTS
from data_contracts.plausible import TimeRange
from data_contracts.text import storable
from data_contracts.validate import ValidationResult, validate, validate_times
from etl.echo import echoed, one_line, path_text
from etl.identity import redact_emails
from etl.pipeline.conform import unstorable_text
from etl.pipeline.formats import Format, batches
from etl.pipeline.frames import ReadContext, ReadResult, Rejected
from etl.pipeline.report import CheckRow
from etl.pipeline.staging import FAILED, Staging
from warehouse.schema import DELETED_STATUS

READER_CHECK = "record_is_readable"


@dataclass
class StagedFile:
    path: str
    format: str
    source: str
    index: int = 0  # the file's place in the run (``file_index`` of its staged rows)
    tables: set[str] = field(default_factory=set)  # staged tables this file's rows went to
    read: Counter = field(default_factory=Counter)  # table -> rows read
    rejected: list[Rejected] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    checks: list[CheckRow] = field(default_factory=list)
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> columns
    # (table, check) -> rows the row checks rejected, and the first such row's reason
    failing: Counter = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)
    # (table, check) -> the check in words, for the event-time checks of the tables without
    # a contract (no great-expectations suite counts them: the row checks' counts stand)
    time_checks: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # the reader's notes on the file (ReadResult.notes)
    deleted: int = 0  # tickets the source deleted (status deleted), staged like the others
    unmapped: Counter = field(default_factory=Counter)  # ReadResult.unmapped, summed
    person_fields: tuple[str, ...] = ()  # ReadResult.person_fields and raw_columns
    raw_columns: tuple[str, ...] = ()

    def report_notes(self) -> list[str]:
        """What the run report says about this file beyond its counts."""
        name = one_line(Path(self.path).name)
        notes = [f"{name}: {note}" for note in self.notes]
        by_column: dict[tuple, list[tuple[str, int]]] = {}
        for (column, value, given, table), count in self.unmapped.items():
            by_column.setdefault((column, given, table), []).append((value, count))
        for (column, given, table), values in by_column.items():
            values.sort(key=lambda item: (-item[1], item[0]))
            listed = ", ".join(
                f"{echoed(repr(value))} ({count:,} row{'' if count == 1 else 's'})"
                for value, count in values[:5]
            )
            more = f" and {len(values) - 5:,} more" if len(values) > 5 else ""
            loaded = f"loaded as {given}" if given else "left empty"
            where = f"; map them under [sources.{self.source}.{table}]" if table else ""
            notes.append(
                redact_emails(
                    f"{name}: {column} values with no canonical match, {loaded}: "
                    f"{listed}{more}{where}"
                )
            )
        if self.deleted:
            notes.append(
                f"{name}: {self.deleted:,} ticket(s) deleted in {self.source}: kept with status "
                "deleted, left out of every metric"
            )
        return notes

    @property
    def quarantined_share(self) -> float:
        """Rejected rows over rows read (streams Turnaround does not use left out)."""
        total = sum(self.read.values())
        return len(self.rejected) / total if total else 0.0


def stage_file(
    path: Path,
    fmt: Format,
    ctx: ReadContext,
    batch_id: str,
    file_index: int,
    staging: Staging,
    plausible: TimeRange,
    progress: Callable[[int], None] | None = None,
) -> StagedFile:
    """Read and check one file batch by batch, each batch's rows into ``staging``; raises
    UnreadableFile when it cannot be read at all. Event times outside ``plausible`` fail.
    ``progress`` hears the rows of each batch."""
    staged: StagedFile | None = None
    reader_rejects: Counter = Counter()
    first_reader_reason: dict[str, str] = {}
    for result in batches(fmt, path, ctx):
        if staged is None:
            staged = StagedFile(
                path_text(path),
                result.format,
                result.source,
                file_index,
                absent=dict(result.absent_columns),
                notes=result.notes,
                person_fields=result.person_fields,
                raw_columns=result.raw_columns,
            )
        for stream, count in result.skipped.items():  # each batch counts its own skips
            stream = storable(stream)  # a stream's name as the file gave it
            staged.skipped[stream] = staged.skipped.get(stream, 0) + count
        staged.unmapped.update(result.unmapped)
        for rejected in result.rejected:
            reader_rejects[rejected.table] += 1
            first_reader_reason.setdefault(rejected.table, rejected.reason)
            staged.read[rejected.table] += 1
        staged.rejected.extend(result.rejected)
        rows = len(result.rejected)
        for table, frame in result.frames().items():
            staged.read[table] += frame.height
            rows += frame.height
            frame, unstorable = unstorable_text(frame, table, result.raw_lookup)
            for rejected in unstorable:
                reader_rejects[table] += 1
                first_reader_reason.setdefault(table, rejected.reason)
            staged.rejected.extend(unstorable)
            if table == "tickets":
                frame = _ticket_bookkeeping(frame, result.source)
            # the side tables have no contract: their reader checks them, and their event
            # times are checked against the plausible range
            if table in CONTRACTS:
                frame, failed = _checked(staged, table, frame, result, plausible)
                if table == "tickets":
                    staged.deleted += frame.filter(pl.col("status") == DELETED_STATUS).height
                if failed.height:
                    staging.append(table + FAILED, _lineage(failed, result, batch_id, staged))
            else:
                checked = validate_times(table, frame, plausible)
                _counted(staged, table, checked)
                for check in checked.checks:
                    staged.time_checks[(table, check.name)] = check.description
                frame = _rejected_rows(staged, table, checked, result)
            staging.append(table, _lineage(frame, result, batch_id, staged))
            staged.tables.add(table)
        if progress:
            progress(rows)
    assert staged is not None  # every reader gives at least one batch
    for table in sorted(set(staged.read) | set(reader_rejects)):
        bad = reader_rejects.get(table, 0)
        staged.checks.append(
            CheckRow(
                staged.path,
                table,
                READER_CHECK,
                "the record parses into a canonical row",
                success=not bad,
                failing_count=bad,
                example_reason=redact_emails(first_reader_reason[table]) if bad else None,
            )
        )
    for (table, name), description in staged.time_checks.items():
        bad = staged.failing[(table, name)]
        example = staged.examples.get((table, name))
        staged.checks.append(
            CheckRow(
                staged.path,
                table,
                name,
                description,
                success=not bad,
                failing_count=bad,
                example_reason=redact_emails(example) if example else None,
            )
        )
    return staged


_gx_import: threading.Thread | None = None


def prepare_checks() -> None:
    """Start importing great-expectations (seconds of Python) in a thread, so that it
    overlaps reading the files, which runs mostly outside the interpreter lock."""
    global _gx_import
    if _gx_import is None and "data_contracts.expectations" not in sys.modules:
        _gx_import = threading.Thread(
            target=importlib.import_module,
            args=("data_contracts.expectations",),
            name="import-great-expectations",
            daemon=True,
        )
        _gx_import.start()


def check_staged(staging: Staging, files: list[StagedFile], plausible: TimeRange) -> None:
    """Validate each file's staged rows with great-expectations (its SQL datasource over the
    staging database) and add one result per contract check (and range check of
    ``plausible``) to the file's checks. GX must count exactly the rows the row checks
    rejected: both come from the same contract."""
    wanted = {
        (s.index, table): (table, _staged_query(staging, table, s.index))
        for s in files
        for table in CANONICAL_TABLES
        if table in s.tables
    }
    if not wanted:
        return
    if _gx_import is not None:
        _gx_import.join()
    outcome = staging.validate({f"{i}:{t}": q for (i, t), q in wanted.items()}, plausible)
    for s in files:
        for table in CANONICAL_TABLES:
            if (s.index, table) not in wanted:
                continue
            for check in outcome[f"{s.index}:{table}"]:
                expected = s.failing[(table, check.name)]
                if check.unexpected_count != expected:
                    raise RuntimeError(
                        f"{s.path}: great-expectations counted {check.unexpected_count:,} rows "
                        f"failing {check.name} where the row checks rejected {expected:,}"
                    )
                example = s.examples.get((table, check.name))
                s.checks.append(
                    CheckRow(
                        s.path,
                        table,
                        check.name,
                        check.description,
                        check.success,
                        check.unexpected_count,
                        redact_emails(example) if example else None,
                    )
                )


def _staged_query(staging: Staging, table: str, file_index: int) -> str:
    """The rows one file brought to ``table``, passed and failed, in contract columns."""
    checked = [c.name for c in CONTRACTS[table].columns if c.type != "text_list"]
    columns = ", ".join(f'"{c}"' for c in checked)
    parts = [
        f'select {columns} from "{name}" where file_index = {int(file_index)}'
        for name in (table, table + FAILED)
        if staging.has(name)
    ]
    return " union all ".join(parts)


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


def _checked(
    staged: StagedFile,
    table: str,
    frame: pl.DataFrame,
    result: ReadResult,
    plausible: TimeRange,
):
    """Split ``frame`` into the rows that pass ``table``'s contract and those that fail; the
    failing ones join ``rejected`` with the raw record the file had."""
    outcome = validate(table, frame, plausible)
    _rejected_rows(staged, table, outcome, result)
    _counted(staged, table, outcome)
    rejected = outcome.rejected
    if not rejected:
        return outcome.valid, outcome.valid.clear()
    failed_rows = pl.Series([r.row_number for r in rejected], dtype=pl.Int64).implode()
    return outcome.valid, frame.filter(pl.col("row_number").is_in(failed_rows))


def _counted(staged: StagedFile, table: str, outcome: ValidationResult) -> None:
    """Add the failing rows of each check of ``outcome`` to the file's counts, and keep the
    first failing row's reason as the check's example."""
    for check in outcome.checks:
        staged.failing[(table, check.name)] += check.unexpected_count
        if check.example is not None:
            staged.examples.setdefault((table, check.name), check.example)


def _rejected_rows(
    staged: StagedFile, table: str, outcome: ValidationResult, result: ReadResult
) -> pl.DataFrame:
    """The rows of ``outcome`` that passed; the failing ones join ``rejected`` with the raw
    record the file had."""
    rejected = outcome.rejected
    if rejected and result.raw_lookup is not None:
        raw = result.raw_lookup(table, [r.row_number for r in rejected])
        for r in rejected:
            r.raw = raw.get(r.row_number, r.raw)
    staged.rejected.extend(rejected)
    return outcome.valid


def _lineage(
    frame: pl.DataFrame, result: ReadResult, batch_id: str, staged: StagedFile
) -> pl.DataFrame:
    lineage = {"source": result.source, "batch_id": batch_id, "source_file": staged.path}
    return frame.with_columns(
        *[pl.lit(v, pl.String).alias(k) for k, v in lineage.items() if k not in frame.columns],
        (pl.lit(staged.index, pl.Int64) * 2**32 + pl.col("row_number")).alias("load_order"),
        pl.lit(staged.index, pl.Int64).alias("file_index"),
    )
