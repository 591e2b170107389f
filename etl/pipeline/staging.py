"""A run's staging database: canonical rows that passed their checks, kept on disk until the
merge, so a load's memory stays flat however large its files are.

Grain of a staged table: one row per record read (all files of the run), with lineage,
``load_order`` (file index * 2**32 + row number) and ``file_index``. Rows a contract check
rejected are kept apart (``<name>__failed``), so great-expectations can validate what each
file brought. The database is a DuckDB file in a private temporary folder, deleted when the
run ends; nothing in it touches the warehouse, which a run holds only to merge.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import sqlalchemy as sa

from data_contracts.plausible import TimeRange
from warehouse.dialect import insert_frame

# Rows handed to the warehouse at a time during the merge.
SHIP_ROWS = 500_000
FAILED = "__failed"
PREFIX = "turnaround-staging-"
OWNER = "pid"  # the process whose run the folder is
ATTACHED = "turnaround_staging"  # the staging database's name while a DuckDB merge reads it
LAST_READ = "load_order desc"


def remove_abandoned() -> list[Path]:
    """Remove the staging folders of runs whose process is gone (killed, or out of memory:
    such a run cannot clean up after itself); return them."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((folder / OWNER).read_text())
        except (OSError, ValueError):
            continue  # being created, or not ours to judge
        if not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


class Staging:
    """Append frames batch by batch; rank them latest-per-key; hand them to a merge."""

    def __init__(self, memory_limit: str = "2GB") -> None:
        remove_abandoned()
        self.folder = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.folder / OWNER).write_text(str(os.getpid()))
        self.path = self.folder / "staged.duckdb"
        self._memory_limit = memory_limit
        self._con = self._connect()
        self._columns: dict[str, dict[str, str]] = {}

    # --- writing ------------------------------------------------------------------------

    def append(self, name: str, frame: pl.DataFrame) -> None:
        """Add ``frame``'s rows to staged table ``name``; columns a later frame brings are
        added (null for the rows before), columns it lacks are null for its rows."""
        if frame.width == 0:
            return
        view = f"batch_{uuid.uuid4().hex}"
        self._con.register(view, frame.to_arrow())
        try:
            types = self._describe(view)
            known = self._columns.get(name)
            if known is None:
                self._con.execute(f'create table "{name}" as select * from "{view}"')
                self._columns[name] = types
                return
            for column, kind in types.items():
                if column not in known:
                    self._con.execute(f'alter table "{name}" add column "{column}" {kind}')
                    known[column] = kind
            self._con.execute(f'insert into "{name}" by name select * from "{view}"')
        finally:
            self._con.unregister(view)

    def _describe(self, relation: str) -> dict[str, str]:
        rows = self._con.execute(f'describe "{relation}"').fetchall()
        return {row[0]: ("VARCHAR" if row[1] == '"NULL"' else row[1]) for row in rows}

    # --- reading ------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self._columns

    def columns(self, name: str) -> list[str]:
        return list(self._columns[name])

    def split_latest(self, name: str, key: tuple[str, ...], order: str) -> tuple[str, str]:
        """Staged tables of ``name``'s latest row per key and of the rows they supersede.

        Latest = the first row per key in ``order`` (SQL text of a window's ORDER BY:
        etl.pipeline.version_order.staged_ranking).
        """
        keys = ", ".join(f'"{k}"' for k in key)
        latest, superseded = f"{name}__latest", f"{name}__superseded"
        repeated = self._con.execute(
            f'select exists (select 1 from "{name}" group by {keys} having count(*) > 1)'
        ).fetchone()[0]
        if not repeated:  # the usual case: every key once, nothing to rank
            self._con.execute(
                f'create or replace table "{superseded}" as select * from "{name}" limit 0'
            )
            self._columns[superseded] = dict(self._columns[name])
            return name, superseded
        ranked = f"{name}__ranked"
        self._con.execute(
            f'create or replace table "{ranked}" as select *, '
            f"row_number() over (partition by {keys} order by {order}) as _rank "
            f'from "{name}"'
        )
        for table, where in ((latest, "_rank = 1"), (superseded, "_rank > 1")):
            self._con.execute(
                f'create or replace table "{table}" as '
                f'select * exclude (_rank) from "{ranked}" where {where} order by load_order'
            )
            self._columns[table] = dict(self._columns[name])
        self._con.execute(f'drop table "{ranked}"')
        return latest, superseded

    def count(self, name: str, by: str) -> dict:
        """Rows of ``name`` per value of column ``by``."""
        rows = self._con.execute(f'select "{by}", count(*) from "{name}" group by all').fetchall()
        return dict(rows)

    def rows(
        self,
        name: str,
        columns: list[str],
        where: str = "true",
        one_per: tuple[str, ...] = (),
        first_in: str = LAST_READ,
    ) -> StagedRows:
        """Staged rows of table ``name``, for a merge to take (``StagedRows``)."""
        return StagedRows(self.path, name, tuple(columns), where, one_per, first_in)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.path))
        con.execute(f"set memory_limit = '{self._memory_limit}'")
        con.execute(f"set temp_directory = '{self.folder / 'spill'}'")
        return con

    def validate(
        self, batches: dict[str, tuple[str, str]], plausible: TimeRange | None = None
    ) -> dict[str, list]:
        """great-expectations over staged rows (data_contracts.validate.validate_staged)."""
        from data_contracts.validate import validate_staged

        return validate_staged(self._con, batches, plausible)

    def close(self) -> None:
        """Done with writing and ranking: the merge reads the file from here on."""
        self._con.close()

    def remove(self) -> None:
        try:
            self._con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class StagedRows:
    """Some rows of one staged table, in read order; with ``one_per``, only the first row in
    ``first_in`` order (SQL text; by default the row read last) of each combination of those
    columns. A merge takes them into a warehouse table
    with ``insert_into``: DuckDB attaches the staging database and copies in SQL; any other
    warehouse takes them in batches of ``SHIP_ROWS`` (PostgreSQL through COPY)."""

    database: Path
    table: str
    columns: tuple[str, ...]
    where: str = "true"
    one_per: tuple[str, ...] = ()
    first_in: str = LAST_READ

    def query(self, schema: str = "") -> str:
        chosen = ", ".join(f'"{c}"' for c in self.columns)
        qualify = ""
        if self.one_per:
            partition = ", ".join(f'"{c}"' for c in self.one_per)
            last = f"row_number() over (partition by {partition} order by {self.first_in})"
            qualify = f"qualify {last} = 1"
        source = f'{schema}"{self.table}"'
        return f"select {chosen} from {source} where {self.where} {qualify} order by load_order"

    def frames(self) -> Iterator[pl.DataFrame]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            for batch in con.sql(self.query()).to_arrow_reader(SHIP_ROWS):
                if batch.num_rows:
                    yield pl.from_arrow(batch)

    def insert_into(self, conn: sa.Connection, target: sa.Table) -> int:
        """Copy these rows into ``target`` (the columns both have); return how many."""
        names = {c.name for c in target.columns}
        chosen = [c for c in self.columns if c in names]
        rows = StagedRows(
            self.database, self.table, tuple(chosen), self.where, self.one_per, self.first_in
        )
        if conn.dialect.name != "duckdb":
            return insert_frame(conn, target, rows.frames())
        listed = ", ".join(f'"{c}"' for c in chosen)
        path = str(self.database).replace("'", "''")
        conn.exec_driver_sql(f"attach if not exists '{path}' as {ATTACHED} (read_only)")
        try:
            done = conn.exec_driver_sql(
                f'insert into "{target.name}" ({listed}) {rows.query(ATTACHED + ".")}'
            )
            return done.rowcount
        finally:
            conn.exec_driver_sql(f"detach {ATTACHED}")


def insert_rows(
    conn: sa.Connection, target: sa.Table, rows: StagedRows | pl.DataFrame | Iterable[pl.DataFrame]
) -> int:
    """Insert staged rows, a frame or batches of frames into ``target``."""
    if isinstance(rows, StagedRows):
        return rows.insert_into(conn, target)
    return insert_frame(conn, target, rows)
