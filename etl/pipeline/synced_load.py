"""One load run from Zendesk tables synced into a warehouse (or CSV dumps of them): read what
was synced since the last run, write it as Zendesk records, load those like any export, and
move the source's sync times on in the same transaction (etl/sources/zendesk/synced.py)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa

from data_contracts.times import utc_now
from etl.pipeline.load import as_warehouse, hold_writer_lock, new_batch_id, run_locked
from etl.pipeline.load_options import LoadError, LoadOptions
from etl.pipeline.report import RunReport
from etl.pipeline.run_record import record_failure
from etl.sources.zendesk.synced import SyncedSourceError, open_dumps, snapshot
from warehouse.access import Warehouse
from warehouse.engine import driver_reason
from warehouse.schema import meta_value, warehouse_meta

SOURCE_BACKENDS = ("postgresql", "duckdb")  # the databases Fivetran and Airbyte sync into
EXAMPLES = "such as postgresql+psycopg://user@host/db or duckdb:///path.duckdb"


def check_source(spec: str) -> sa.engine.URL | None:
    """The URL of a synced source, or None for a folder of CSV dumps; raises
    SyncedSourceError for anything else, before opening (or creating) anything."""
    if Path(spec).is_dir():
        return None
    try:
        url = sa.engine.make_url(spec)
    except sa.exc.ArgumentError:
        raise SyncedSourceError(
            f"{spec!r} is neither a folder of table dumps nor a database URL ({EXAMPLES})"
        ) from None
    if url.get_backend_name() not in SOURCE_BACKENDS:
        raise SyncedSourceError(
            f"--from-warehouse {url.render_as_string(hide_password=True)}: a "
            f"{url.get_backend_name()} database is not a source Turnaround reads; give a "
            f"{' or '.join(SOURCE_BACKENDS)} URL ({EXAMPLES}), or a folder of CSV dumps of "
            "the tables"
        )
    return url


def source_of(spec: str, schema: str) -> tuple[sa.Engine, str, str]:
    """The source engine, the schema to read and a stable name for its sync times: a folder
    of CSV dumps, or a database URL (opened read-only where the database allows)."""
    url = check_source(spec)
    if url is None:
        folder = Path(spec)
        engine, dumps_schema = open_dumps(folder)
        return engine, dumps_schema, f"dumps:{folder.resolve()}"
    if url.get_backend_name() == "duckdb":
        if url.database and not Path(url.database).is_file():
            raise SyncedSourceError(f"no DuckDB database at {url.database}")
        engine = sa.create_engine(url, connect_args={"read_only": True})
    else:
        engine = sa.create_engine(url)
    return engine, schema, f"{url.render_as_string(hide_password=True)}#{schema}"


def load_synced(
    target: Warehouse | sa.Engine | str,
    spec: str,
    schema: str = "zendesk",
    options: LoadOptions = LoadOptions(),  # noqa: B008 - frozen
    progress=None,
) -> RunReport:
    """Load what the synced source ``spec`` gained since the last run from it."""
    warehouse = as_warehouse(target)
    started = utc_now()
    report = RunReport(batch_id=new_batch_id(started), started_at=started)
    report.files = [spec]
    with ExitStack() as held:
        if warehouse is not target:
            held.callback(warehouse.dispose)
        hold_writer_lock(held, warehouse, options, report)
        try:
            source, source_schema, name = source_of(spec, schema)
            held.callback(source.dispose)
            since = _sync_times(warehouse, name)
            folder = Path(
                held.enter_context(tempfile.TemporaryDirectory(prefix="turnaround-synced-"))
            )
            snap = snapshot(source, source_schema, name, folder, since)
        except (SyncedSourceError, sa.exc.SQLAlchemyError) as exc:
            message = driver_reason(exc)
            report.fail("failed", f"cannot read the synced tables: {message}")
            record_failure(warehouse, report, options.wait_seconds)
            raise LoadError(report.message, report) from None
        if snap.records == 0:
            report.status, report.ended_at = "skipped", utc_now()
            report.message = "nothing was synced since the last run"
            # A run with nothing to do is recorded too.
            record_failure(warehouse, report, options.wait_seconds)
            return report
        updated = dataclasses.replace(options, meta_updates=((snap.watermark_key, snap.watermark),))
        return run_locked(warehouse, [snap.path], updated, report, progress)


def _sync_times(warehouse: Warehouse, name: str) -> dict[str, str] | None:
    """The sync times the last run from this source read up to, or None (the first run)."""
    if not warehouse.file_exists():
        return None
    with warehouse.writer().connect() as conn:
        if not sa.inspect(conn).has_table(warehouse_meta.name):
            return None
        value = meta_value(conn, "synced:" + name)
    return json.loads(value) if value else None
