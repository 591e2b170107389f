"""Load export files into the warehouse: one all-or-nothing run, holding the warehouse briefly.

A run takes the writer lock (one load at a time; a second waits up to ``wait_seconds``, then
is refused and recorded as such), recognises every file before reading any, skips files
already loaded, reads and checks the rest outside the warehouse (``etl.stage``), refuses a
file with too many bad rows, and only then opens the write window for the merge
(``etl.apply``), one transaction. A refused file or a crash leaves the warehouse as it was;
only the run's own history row (status ``failed`` or ``refused``) is written after a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from etl.apply import apply_staged
from etl.formats import detect
from etl.frames import ReadContext, UnreadableFile
from etl.identity import (
    HashKey,
    HashKeyError,
    find_hash_key,
    load_hash_key,
    redact_emails,
    secrets_file,
)
from etl.report import RunReport, utc_now
from etl.stage import StagedFile, stage_file
from warehouse import journal
from warehouse.access import Warehouse, WarehouseBusy
from warehouse.schema import (
    SchemaError,
    check_schema,
    ensure_schema,
    loaded_files,
    meta_value,
    schema_version,
    set_meta_value,
    tables,
)

log = logging.getLogger("turnaround.load")

DEFAULT_QUARANTINE_LIMIT = 0.10
DEFAULT_WAIT_SECONDS = 300.0
FAILURE_RECORD_WAIT_SECONDS = 30.0

# (files done, files to read, rows read so far, the file being read)
Progress = Callable[[int, int, int, str], None]


@dataclass(frozen=True)
class LoadOptions:
    quarantine_limit: float = DEFAULT_QUARANTINE_LIMIT  # share of a file's rows; over: refused
    wait_seconds: float = DEFAULT_WAIT_SECONDS  # for another load, and for readers to finish
    encoding: str = "utf-8"
    force: bool = False  # read files even when their content was loaded before
    secrets_file: Path | None = None  # the configured secrets file (etl.identity)
    command: str = "turnaround load"


class LoadError(Exception):
    """The run failed; nothing was loaded. The message says why; ``report`` is the run."""

    def __init__(self, message: str, report: RunReport | None = None):
        super().__init__(message)
        self.report = report


class LoadRefused(LoadError):
    """Another writer held the warehouse for longer than the run would wait."""


class FileRefused(LoadError):
    """A file was refused whole for its content (more bad rows than the quarantine limit)."""


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    size_bytes: int


@dataclass
class WarehouseState:
    """What a run needs to know of the warehouse before it reads anything."""

    exists: bool = False
    fingerprint: str | None = None
    loaded: dict[str, tuple[str, str]] = field(default_factory=dict)  # sha256 -> (batch, file)


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
    return list(dict.fromkeys(p.resolve() for p in files))


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
    report = RunReport(batch_id=new_batch_id(started), started_at=started)
    report.files = [str(p) for p in paths]
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
    """One run, with the writer lock already held."""
    try:
        files = expand(paths)
        report.files = [str(f) for f in files]
        if not files:
            named = ", ".join(str(p) for p in report.files) or "the paths given"
            raise LoadError(f"no files to load in {named} (hidden files are left out)")
        formats = [(f, detect(f, options.encoding)) for f in files]  # refuse before reading
        digests = {f: file_digest(f) for f in files}
        state = warehouse_state(warehouse, [d.sha256 for d in digests.values()])
        key = _hash_key(options, state)
        check_key(state, key)
        to_read = _not_loaded_yet(formats, digests, state, options, report)
        staged = _stage(to_read, ReadContext(key.value, options.encoding), report, progress)
        refuse_over_limit(staged, options.quarantine_limit)
        _merge(warehouse, options, report, staged, key, digests)
    except Exception as exc:
        report.fail("failed", str(exc))
        record_failure(warehouse, report)
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


def _hash_key(options: LoadOptions, state: WarehouseState) -> HashKey:
    """The email hash key. A new one is made only for a warehouse that has none yet: one
    whose customer ids were made with a key must get that key back, not a new one."""
    try:
        if state.fingerprint is None:
            key = load_hash_key(options.secrets_file)
        else:
            key = find_hash_key(options.secrets_file)
    except HashKeyError as exc:
        raise LoadError(str(exc)) from None
    if key is None:
        raise LoadError(
            "this warehouse's customer ids were made with an email hash key that is neither in "
            f"TURNAROUND_HASH_KEY nor in the secrets file {secrets_file(options.secrets_file)}: "
            f"restore that key (fingerprint {state.fingerprint}) and load again"
        )
    if key.created:
        log.warning(
            "created a new email hash key in %s (readable by you only): keep it private and "
            "backed up; without it, emails in later exports cannot be matched to the customers "
            "loaded now",
            key.origin,
        )
    return key


def file_digest(path: Path) -> FileDigest:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return FileDigest(digest.hexdigest(), path.stat().st_size)


def warehouse_state(warehouse: Warehouse, digests: list[str]) -> WarehouseState:
    """The key fingerprint and which of these file contents were loaded, read read-only."""
    if not warehouse.file_exists():
        return WarehouseState()
    with warehouse.reader().connect() as conn:
        if schema_version(conn) is None:
            return WarehouseState()
        check_schema(conn, warehouse.display)  # an older warehouse is refused: migrate first
        loaded = conn.execute(
            sa.select(
                loaded_files.c.sha256, loaded_files.c.batch_id, loaded_files.c.source_file
            ).where(loaded_files.c.sha256.in_(digests))
        ).all()
        return WarehouseState(
            exists=True,
            fingerprint=meta_value(conn, "hash_key_fingerprint"),
            loaded={sha: (batch, name) for sha, batch, name in loaded},
        )


def check_key(state: WarehouseState, key: HashKey) -> None:
    """Refuse a key other than the one the warehouse's customer ids were made with."""
    if state.fingerprint is not None and state.fingerprint != key.fingerprint:
        raise LoadError(
            f"the email hash key from {key.origin} is not the key this warehouse's customer ids "
            f"were made with (fingerprint {key.fingerprint}; the warehouse has "
            f"{state.fingerprint}). Set TURNAROUND_HASH_KEY or the secrets file to the key used "
            "before, or load into a new warehouse"
        )


def _not_loaded_yet(formats, digests, state: WarehouseState, options, report: RunReport):
    to_read = []
    for path, fmt in formats:
        digest = digests[path]
        earlier = state.loaded.get(digest.sha256)
        if earlier is None or options.force:
            to_read.append((path, fmt))
            continue
        batch, name = earlier
        report.skipped_files.append(
            {"file": str(path), "sha256": digest.sha256, "loaded_in": batch, "loaded_as": name}
        )
        log.info("%s: already loaded in run %s (as %s); skipped", path, batch, name)
    return to_read


def _stage(to_read, ctx: ReadContext, report: RunReport, progress) -> list[StagedFile]:
    staged: list[StagedFile] = []
    rows = 0
    for index, (path, fmt) in enumerate(to_read):
        if progress:
            progress(index, len(to_read), rows, str(path))
        started = time.perf_counter()
        one = stage_file(path, fmt, ctx, report.batch_id, index)
        read = sum(one.read.values()) + sum(one.skipped.values())
        rows += read
        log.info(
            "%s: %s, %s rows read, %s quarantined (%.1f s)",
            path,
            one.format,
            f"{read:,}",
            f"{len(one.rejected):,}",
            time.perf_counter() - started,
        )
        staged.append(one)
    if progress:
        progress(len(to_read), len(to_read), rows, "")
    return staged


def refuse_over_limit(staged: list[StagedFile], limit: float) -> None:
    """A file with more bad rows than the limit allows is refused whole: a broken export
    must not load silently."""
    for s in staged:
        if s.quarantined_share > limit:
            total = sum(s.read.values())
            reasons = sorted({redact_emails(r.reason) for r in s.rejected[:3]})
            raise FileRefused(
                f"{s.path}: {len(s.rejected):,} of {total:,} rows ({s.quarantined_share:.0%}) "
                f"failed their checks, more than the quarantine limit of {limit:.0%}; the file "
                f"was refused whole. First reasons: {'; '.join(reasons)}"
            )


def _merge(warehouse, options, report, staged, key: HashKey, digests) -> None:
    log.debug("waiting for the write window")
    with warehouse.write(options.wait_seconds) as conn:
        started = time.perf_counter()
        ensure_schema(conn, warehouse.display)
        _record_fingerprint(conn, key)
        apply_staged(conn, report, staged)
        _record_loaded_files(conn, report, staged, digests)
        report.status = "succeeded" if staged or not report.skipped_files else "skipped"
        if report.status == "skipped":
            report.message = f"{len(report.skipped_files)} file(s) already loaded"
        report.ended_at = utc_now()
        record_run(conn, report)
        log.debug("merged in %.2f s", time.perf_counter() - started)


def _record_fingerprint(conn: sa.Connection, key: HashKey) -> None:
    """A warehouse's first load records the fingerprint its later loads are checked against."""
    if meta_value(conn, "hash_key_fingerprint") is None:
        set_meta_value(conn, "hash_key_fingerprint", key.fingerprint)


def _record_loaded_files(conn, report: RunReport, staged: list[StagedFile], digests) -> None:
    by_path = {str(path): digest for path, digest in digests.items()}
    rows = {
        by_path[s.path].sha256: {
            "sha256": by_path[s.path].sha256,
            "size_bytes": by_path[s.path].size_bytes,
            "source_file": s.path,
            "batch_id": report.batch_id,
            "loaded_at": utc_now(),
        }
        for s in staged
    }
    if rows:
        conn.execute(loaded_files.delete().where(loaded_files.c.sha256.in_(list(rows))))
        conn.execute(loaded_files.insert(), list(rows.values()))


def record_run(conn: sa.Connection, report: RunReport) -> None:
    conn.execute(tables["etl_runs"].insert(), [report.run_row()])
    if report.stats:
        conn.execute(tables["etl_run_files"].insert(), report.file_rows())


def record_failure(warehouse: Warehouse, report: RunReport) -> None:
    """Write a failed run's history row; where the warehouse cannot take it now (busy, or an
    older schema), the run journal keeps it for the next writer."""
    if not warehouse.file_exists():  # a failed first load makes no warehouse to say so
        _journal_or_log(warehouse, report)
        return
    try:
        with warehouse.write(FAILURE_RECORD_WAIT_SECONDS) as conn:
            ensure_schema(conn, warehouse.display)
            record_run(conn, report)
    except (WarehouseBusy, SchemaError, sa.exc.SQLAlchemyError, OSError) as exc:
        log.debug("run %s: recorded in the journal (%s)", report.batch_id, exc)
        _journal_or_log(warehouse, report)


def record_refusal(warehouse: Warehouse, report: RunReport) -> None:
    """A refused run cannot wait for the warehouse it was refused: journal it (DuckDB), or
    insert it beside the running load's transaction (PostgreSQL)."""
    if warehouse.path is not None:
        journal.append(warehouse.path, report.run_row())
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
    if report.rows_remapped:
        parts.append(f"{report.rows_remapped:,} tickets re-mapped to their customer")
    if report.skipped_files:
        parts.append(f"{len(report.skipped_files)} file(s) already loaded, skipped")
    return ", ".join(parts)


__all__ = [
    "FileRefused",
    "LoadError",
    "LoadOptions",
    "LoadRefused",
    "UnreadableFile",
    "expand",
    "load_paths",
    "run_locked",
]
