"""Load export files into the warehouse: one all-or-nothing run, holding the warehouse briefly.

A run takes the writer lock (one load at a time; a second waits up to ``wait_seconds``, then
is refused and recorded as such), recognises every file before reading any, skips files
already loaded, reads and checks the rest outside the warehouse (``etl.pipeline.stage``), refuses a
file with too many bad rows, and only then opens the write window for the merge
(``etl.pipeline.apply``), one transaction. A refused file or a crash leaves the warehouse as it was;
only the run's own history row (status ``failed`` or ``refused``) is written after a failure.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import sqlalchemy as sa

from data_contracts.plausible import TimeRange
from data_contracts.times import utc_now
from etl.echo import echoed, one_line, path_text
from etl.identity import HashKey, redact_emails
from etl.pipeline.apply import apply_staged, plan_merges
from etl.pipeline.formats import Format, detect
from etl.pipeline.frames import ReadContext, UnreadableFile
from etl.pipeline.load_options import (
    DEFAULT_QUARANTINE_LIMIT,
    DEFAULT_WAIT_SECONDS,
    PULL_LIMIT_RECORDS,
    FileChanged,
    FileRefused,
    LoadError,
    LoadOptions,
    LoadRefused,
)
from etl.pipeline.preflight import (
    FileDigest,
    WarehouseState,
    check_key,
    file_digests,
    hash_key_for,
    not_loaded_yet,
    refuse_if_changed,
    warehouse_state,
)
from etl.pipeline.report import RunReport
from etl.pipeline.run_record import record_failure, record_refusal, record_run
from etl.pipeline.stage import StagedFile, check_staged, prepare_checks, stage_file
from etl.pipeline.staging import Staging
from etl.sources.pull.raw import pull_folder_of
from warehouse.access import Warehouse, WarehouseBusy
from warehouse.schema import (
    SchemaError,
    ensure_schema,
    loaded_files,
    meta_value,
    set_meta_value,
)

log = logging.getLogger("turnaround.load")

# DuckDB's memory for the merge (it spills to disk beyond it); the staging database has its
# own limit (etl.pipeline.staging), closed before the merge begins.
MERGE_MEMORY_LIMIT = "3GB"

# Of one row's reason, quoted in a refusal: the value it quotes may be a whole 64 KB field.
REASON_CHARS = 200

# (files done, files to read, rows read so far, the file being read)
Progress = Callable[[int, int, int, str], None]


def new_batch_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def expand(paths: Iterable[Path], follow_links: bool = True) -> list[Path]:
    """Files named, and the files below folders named, in a stable order, without repeats;
    each where a link among them points (``follow_links``), else as named."""
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
    return list(dict.fromkeys(p.resolve() if follow_links else p.absolute() for p in files))


def as_warehouse(target: Warehouse | sa.Engine | str) -> Warehouse:
    if isinstance(target, Warehouse):
        return target
    if isinstance(target, sa.Engine):
        return Warehouse.for_engine(target)
    return Warehouse.at(target)


def load_paths(
    target: Warehouse | sa.Engine | str,
    paths: Iterable[Path],
    options: LoadOptions = LoadOptions(),  # noqa: B008 - frozen
    progress: Progress | None = None,
) -> RunReport:
    """Load every file in ``paths`` in one run; raise LoadError (LoadRefused) or
    UnreadableFile on failure, after recording the run."""
    warehouse = as_warehouse(target)
    started = utc_now()
    report = RunReport(batch_id=options.batch_id or new_batch_id(started), started_at=started)
    report.files = [path_text(p) for p in paths]
    with ExitStack() as held:
        if warehouse is not target:  # made here: its connections close here
            held.callback(warehouse.dispose)
        hold_writer_lock(held, warehouse, options, report)
        return run_locked(warehouse, paths, options, report, progress)


def hold_writer_lock(
    stack: ExitStack, warehouse: Warehouse, options: LoadOptions, report: RunReport
) -> None:
    """Take the writer lock for the rest of ``stack``; a run refused here is recorded."""
    try:
        stack.enter_context(warehouse.writer_lock(options.wait_seconds, options.command))
    except WarehouseBusy as exc:
        report.fail("refused", str(exc))
        record_refusal(warehouse, report)
        raise LoadRefused(str(exc), report) from None


def run_locked(
    warehouse: Warehouse,
    paths: Iterable[Path],
    options: LoadOptions,
    report: RunReport,
    progress: Progress | None = None,
) -> RunReport:
    """One run, with the writer lock already held. No lock is waited for longer than
    ``options.wait_seconds``: the readers' gate before the read, the write window, and the
    failure's own record."""
    read_wait = warehouse.read_wait_seconds
    warehouse.read_wait_seconds = min(read_wait, options.wait_seconds)
    try:
        return _run(warehouse, paths, options, report, progress)
    finally:
        warehouse.read_wait_seconds = read_wait


def _run(warehouse, paths, options: LoadOptions, report: RunReport, progress) -> RunReport:
    try:
        files = expand(paths, options.follow_links)
        report.files = [path_text(f) for f in files]
        if not files:
            named = ", ".join(str(p) for p in report.files) or "the paths given"
            raise LoadError(f"no files to load in {one_line(named)} (hidden files are left out)")
        given = options.mapping_format
        if options.follow_links:
            formats = [(f, given or detect(f, options.encoding)) for f in files]  # refuse first
            digests = file_digests(warehouse, files, options.force)
        else:  # each file opened first, never through a link; then judged as what was opened
            digests = file_digests(warehouse, files, options.force)
            formats = [(f, given or _detected(f, options.encoding, digests[f])) for f in files]
        state = warehouse_state(warehouse, [d.sha256 for d in digests.values()])
        key = hash_key_for(options, state)
        check_key(state, key)
        to_read = not_loaded_yet(formats, digests, state, options, report)
        plausible = options.plausible(report.started_at)
        with closing_staging() as staging:
            ctx = ReadContext(
                key.value,
                options.encoding,
                timezone=options.source_timezone,
                date_order=options.date_order,
                sources=options.sources,
                default=options.source_default,
            )
            staged = _stage(to_read, digests, ctx, report, staging, plausible, progress)
            refuse_over_limit(staged, options.quarantine_limit)
            check_staged(staging, staged, plausible)
            plans = plan_merges(staging, staged)
            staging.close()
            _merge(warehouse, options, report, staged, plans, key, digests)
    except Exception as exc:
        report.fail("failed", str(exc))
        # A run that waited out its bound already goes to the journal without a second wait.
        record_failure(
            warehouse, report, 0 if isinstance(exc, WarehouseBusy) else options.wait_seconds
        )
        if isinstance(exc, LoadError):
            exc.report = report
            raise
        if isinstance(exc, SchemaError | WarehouseBusy):  # a sentence for the user, no trace
            raise LoadError(str(exc), report) from None
        raise
    log.info(
        "run %s %s: %s", report.batch_id, report.status, summary(report), extra={"run": report}
    )
    return report


def _detected(path: Path, encoding: str, digest: FileDigest) -> Format:
    """The format of ``path``, whose digest was taken first; a file that changed since (a
    link put in its place) fails as changed, not as what detection made of it."""
    try:
        return detect(path, encoding)
    except Exception:
        refuse_if_changed(path, digest)
        raise


@contextmanager
def closing_staging() -> Iterator[Staging]:
    """The run's staging database, removed when the run ends, however it ends."""
    staging = Staging()
    try:
        yield staging
    finally:
        staging.remove()


def _stage(
    to_read,
    digests,
    ctx: ReadContext,
    report: RunReport,
    staging: Staging,
    plausible: TimeRange,
    progress,
) -> list[StagedFile]:
    staged: list[StagedFile] = []
    rows = 0
    if to_read:
        prepare_checks()  # great-expectations loads on the side while the files are read
    for index, (path, fmt) in enumerate(to_read):
        if progress:
            progress(index, len(to_read), rows, path_text(path))
        started = time.perf_counter()
        done_before = rows

        def heard(batch_rows: int, index=index, path=path) -> None:
            nonlocal rows
            rows += batch_rows
            if progress:
                progress(index, len(to_read), rows, path_text(path))

        try:
            one = stage_file(path, fmt, ctx, report.batch_id, index, staging, plausible, heard)
        except Exception:  # a file written while it was read may read as broken: it changed
            refuse_if_changed(path, digests[path])
            raise
        refuse_if_changed(path, digests[path])  # its digest must be of what was read
        read = sum(one.read.values()) + sum(one.skipped.values())
        rows = done_before + read
        log.info(
            "%s: %s, %s rows read, %s quarantined (%.1f s)",
            path,
            one.format,
            f"{read:,}",
            f"{len(one.rejected):,}",
            time.perf_counter() - started,
        )
        staged.append(one)
        report.notes.extend(one.report_notes())
    if progress:
        progress(len(to_read), len(to_read), rows, "")
    return staged


def refuse_over_limit(staged: list[StagedFile], limit: float) -> None:
    """A file with more bad rows than the limit allows is refused whole: a broken export
    must not load silently. The pages a pull kept in one run folder are one export the API
    cut up: they are judged together, as a share of at least PULL_LIMIT_RECORDS rows, when
    the pull loads them and when its folder is loaded again."""
    judged = []
    pulls: dict[Path, list[StagedFile]] = {}
    for s in staged:
        folder = pull_folder_of(Path(s.path))
        if folder is None:
            judged.append((s.path, "file", s.rejected, sum(s.read.values()), s.quarantined_share))
        else:
            pulls.setdefault(folder, []).append(s)
    for folder, pages in pulls.items():
        rejected = [r for s in pages for r in s.rejected]
        total = sum(sum(s.read.values()) for s in pages)
        share = len(rejected) / max(total, PULL_LIMIT_RECORDS)
        judged.append((str(folder), "pull", rejected, total, share))
    for path, what, rejected, total, share in judged:
        if share > limit:
            reasons = sorted({echoed(redact_emails(r.reason), REASON_CHARS) for r in rejected[:3]})
            raise FileRefused(
                f"{one_line(path)}: {len(rejected):,} of {total:,} rows "
                f"({len(rejected) / total:.0%}) failed their checks, more than the quarantine "
                f"limit of {limit:.0%}; the {what} was refused whole. First reasons: "
                f"{'; '.join(reasons)}"
            )


def _merge(warehouse, options, report, staged, plans, key: HashKey, digests) -> None:
    log.debug("waiting for the write window")
    with warehouse.write(options.wait_seconds) as conn:
        started = time.perf_counter()
        if conn.dialect.name == "duckdb":  # the loader's memory stays bounded at any size
            conn.exec_driver_sql(f"SET memory_limit = '{MERGE_MEMORY_LIMIT}'")
        ensure_schema(conn, warehouse.display)
        _record_fingerprint(conn, key)
        apply_staged(conn, report, staged, plans)
        _record_loaded_files(conn, report, staged, digests)
        for name, value in options.meta_updates:
            set_meta_value(conn, name, value)
        report.status = "succeeded" if staged or not report.skipped_files else "skipped"
        if report.status == "skipped":
            report.message = f"{len(report.skipped_files)} file(s) already loaded"
        elif report.notes:
            report.message = "\n".join(report.notes)
        report.ended_at = utc_now()
        record_run(conn, report)
        log.debug("merged in %.2f s", time.perf_counter() - started)


def _record_fingerprint(conn: sa.Connection, key: HashKey) -> None:
    """A warehouse's first load records the fingerprint its later loads are checked against."""
    if meta_value(conn, "hash_key_fingerprint") is None:
        set_meta_value(conn, "hash_key_fingerprint", key.fingerprint)


def _record_loaded_files(conn, report: RunReport, staged: list[StagedFile], digests) -> None:
    by_path = {path_text(path): digest for path, digest in digests.items()}
    rows = {
        by_path[s.path].sha256: {
            "sha256": by_path[s.path].sha256,
            "size_bytes": by_path[s.path].size_bytes,
            "modified_ns": by_path[s.path].modified_ns,
            "source_file": s.path,
            "batch_id": report.batch_id,
            "loaded_at": utc_now(),
        }
        for s in staged
    }
    if rows:
        conn.execute(loaded_files.delete().where(loaded_files.c.sha256.in_(list(rows))))
        conn.execute(loaded_files.insert(), list(rows.values()))


def summary(report: RunReport) -> str:
    totals = report.totals()
    parts = [
        f"{totals['rows_read']:,} read",
        f"{totals['rows_loaded']:,} loaded",
        f"{totals['rows_replaced']:,} replaced",
        f"{totals['rows_quarantined']:,} quarantined",
        f"{totals['rows_duplicates']:,} duplicates",
        f"{totals['rows_held']:,} held",
    ]
    if totals.get("rows_skipped"):  # records the run does not use (a CSAT row, a preview)
        parts.append(f"{totals['rows_skipped']:,} skipped")
    if report.rows_remapped:
        parts.append(f"{report.rows_remapped:,} tickets re-mapped to their customer")
    if report.skipped_files:
        parts.append(f"{len(report.skipped_files)} file(s) already loaded, skipped")
    return ", ".join(parts)


__all__ = [
    "DEFAULT_QUARANTINE_LIMIT",
    "DEFAULT_WAIT_SECONDS",
    "FileChanged",
    "FileDigest",
    "FileRefused",
    "LoadError",
    "LoadOptions",
    "LoadRefused",
    "UnreadableFile",
    "WarehouseState",
    "expand",
    "load_paths",
    "run_locked",
]
