"""A run's staging database: canonical rows that passed their checks, kept on disk until the
merge, so a load's memory stays flat however large its files are.

Grain of a staged table: one row per record read (all files of the run), with lineage,
``load_order`` (file index * 2**32 + row number) and ``file_index``. Rows a contract check
rejected are kept apart (``<name>__failed``), so great-expectations can validate what each
file brought. The database is a DuckDB file in a private temporary folder, deleted when the
run ends; nothing in it touches the warehouse, which a run holds only to merge.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

# Rows handed to the warehouse at a time during the merge.
SHIP_ROWS = 500_000
FAILED = "__failed"


class Staging:
    """Append frames batch by batch; read them back latest-per-key, in batches."""

    def __init__(self, memory_limit: str = "2GB") -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="turnaround-staging-"))
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

    def tables(self) -> list[str]:
        return [name for name in self._columns if not name.endswith(FAILED)]

    def has(self, name: str) -> bool:
        return name in self._columns

    def columns(self, name: str) -> list[str]:
        return list(self._columns[name])

    def split_latest(self, name: str, key: tuple[str, ...]) -> tuple[str, str]:
        """Staged tables of ``name``'s latest row per key and of the rows they supersede.

        Latest = the greatest ``updated_at`` where the table has one (an undated row is the
        oldest), ties and tables without it going to the row read last (``load_order``).
        """
        order = "load_order desc"
        if "updated_at" in self._columns[name]:
            order = "updated_at desc nulls last, " + order
        keys = ", ".join(f'"{k}"' for k in key)
        ranked = f"{name}__ranked"
        self._con.execute(
            f'create or replace table "{ranked}" as select *, '
            f"row_number() over (partition by {keys} order by {order}) as _rank "
            f'from "{name}"'
        )
        latest, superseded = f"{name}__latest", f"{name}__superseded"
        for table, where in ((latest, "_rank = 1"), (superseded, "_rank > 1")):
            self._con.execute(
                f'create or replace table "{table}" as '
                f'select * exclude (_rank) from "{ranked}" where {where} order by load_order'
            )
            self._columns[table] = dict(self._columns[name])
        self._con.execute(f'drop table "{ranked}"')
        return latest, superseded

    def count(self, name: str, by: str | None = None) -> dict:
        """Rows of ``name`` (per value of column ``by``)."""
        if by is None:
            return {None: self._con.execute(f'select count(*) from "{name}"').fetchone()[0]}
        rows = self._con.execute(f'select "{by}", count(*) from "{name}" group by all').fetchall()
        return dict(rows)

    def batches(
        self,
        name: str,
        columns: list[str] | None = None,
        where: str = "true",
        one_per: tuple[str, ...] = (),
    ) -> Iterator[pl.DataFrame]:
        """The rows of staged table ``name`` in batches of ``SHIP_ROWS``, in read order;
        with ``one_per``, only the row read last of each combination of those columns."""
        chosen = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        qualify = ""
        if one_per:
            partition = ", ".join(f'"{c}"' for c in one_per)
            last = f"row_number() over (partition by {partition} order by load_order desc)"
            qualify = f"qualify {last} = 1"
        relation = self._con.sql(
            f'select {chosen} from "{name}" where {where} {qualify} order by load_order'
        )
        for batch in relation.to_arrow_reader(SHIP_ROWS):
            if batch.num_rows:
                yield pl.from_arrow(batch)

    def query(self, sql: str) -> list[tuple]:
        return self._con.execute(sql).fetchall()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.path))
        con.execute(f"set memory_limit = '{self._memory_limit}'")
        con.execute(f"set temp_directory = '{self.folder / 'spill'}'")
        return con

    def remove(self) -> None:
        try:
            self._con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
