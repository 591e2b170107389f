"""Open the warehouse the way every command does: readers read-only, writers one at a time.

- ``reader()``: a read-only engine. It never creates or migrates a warehouse; on DuckDB each
  connection passes the gate of ``warehouse.locks``, so it waits (bounded, with a notice) while
  a load merges, and never holds the file while a load wants it.
- ``writer_lock()``: held by a load, ``migrate`` or ``forget`` for its whole run.
- ``write()``: the short write window: one transaction on a read-write connection, opened
  after the readers already in have finished and while new ones wait. Runs waiting in the
  run journal move into ``etl_runs`` in every write window.
- ``compact()``: on DuckDB, the file rewritten as a copy of itself, between readers as a
  write window is (``forget`` does it, so an erased person's bytes leave the file).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from data_contracts.times import utc_text
from warehouse import journal
from warehouse.compact import Compaction, compact_file
from warehouse.engine import WarehouseError, duckdb_path, get_engine, resolve_url
from warehouse.locks import (
    FileLock,
    Gate,
    LockTimeout,
    Notice,
    lock_folder,
    match_warehouse,
    read_holder,
)
from warehouse.schema import etl_runs

DEFAULT_READ_WAIT_SECONDS = 60.0
# PostgreSQL advisory lock key of Turnaround's writers ("TRND" as a number).
PG_WRITER_LOCK = 0x54524E44
LOCK_CONFLICT = "Could not set lock"  # DuckDB's words when another process holds the file
BACKENDS = ("duckdb", "postgresql")


class WarehouseMissing(WarehouseError):
    """There is no warehouse where the URL points: nothing has been loaded there yet."""


class WarehouseBusy(WarehouseError):
    """The warehouse was not free within the time allowed; the message says who has it."""


def describe_holder(holder: dict) -> str:
    """``pid 123, turnaround load, since 2026-12-01T02:00:00Z`` from a lock's holder record."""
    parts = [f"pid {holder.get('pid', 'unknown')}"]
    parts += [str(holder["command"])] if holder.get("command") else []
    parts += [f"since {holder['since']}"] if holder.get("since") else []
    return ", ".join(parts)


@dataclass
class Warehouse:
    """One warehouse URL and the engines and locks to use it."""

    url: str
    read_wait_seconds: float = DEFAULT_READ_WAIT_SECONDS
    notice: Notice | None = None
    _engines: dict[str, sa.Engine] = field(default_factory=dict, repr=False)

    @classmethod
    def at(cls, url: str | None = None, **options) -> Warehouse:
        """The warehouse at ``url`` (resolved as ``resolve_url`` does); raises WarehouseError
        for a URL that is not one, or names a database Turnaround does not use."""
        url = resolve_url(url)
        try:
            backend = sa.engine.make_url(url).get_backend_name()
        except sa.exc.ArgumentError:
            raise WarehouseError(
                f"not a warehouse URL: {url!r} (expected duckdb:///PATH or "
                "postgresql+psycopg://user@host/db)"
            ) from None
        if backend not in BACKENDS:
            raise WarehouseError(
                f"unsupported warehouse {backend!r}: use duckdb:///PATH or postgresql+psycopg://..."
            )
        return cls(url, **options)

    @classmethod
    def for_engine(cls, engine: sa.Engine, **options) -> Warehouse:
        """A Warehouse that writes through an engine a caller already made (tests, scripts)."""
        warehouse = cls(engine.url.render_as_string(hide_password=False), **options)
        warehouse._engines["write"] = warehouse._engines["given"] = engine
        return warehouse

    @property
    def path(self) -> Path | None:
        """The DuckDB file, or None for PostgreSQL (and in-memory DuckDB)."""
        return duckdb_path(self.url)

    @property
    def display(self) -> str:
        """The URL with any password masked."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def file_exists(self) -> bool:
        return self.path is None or self.path.exists()

    # --- readers ------------------------------------------------------------------------

    def reader(self) -> sa.Engine:
        """The read-only engine; raises WarehouseMissing where no DuckDB file exists."""
        if not self.file_exists():
            raise WarehouseMissing(
                f"no warehouse at {self.path}; load data first (turnaround load)"
            )
        if "read" not in self._engines:
            engine = get_engine(self.url, read_only=True)
            if self.path is not None:
                _gate_connections(engine, Gate(self.path), self)
            self._engines["read"] = engine
        return self._engines["read"]

    # --- writers ------------------------------------------------------------------------

    def writer(self) -> sa.Engine:
        """The read-write engine, for use inside ``write()`` only (or for tests' set-up)."""
        if "write" not in self._engines:
            self._engines["write"] = get_engine(self.url)
        return self._engines["write"]

    @contextmanager
    def writer_lock(self, wait_seconds: float, command: str) -> Iterator[None]:
        """Hold the warehouse's writer lock for a whole run; raises WarehouseBusy naming the
        holder when another writer keeps it longer than ``wait_seconds``."""
        holder = {"pid": os.getpid(), "command": command, "since": utc_text()}
        if self.path is None:
            with self._pg_writer_lock(wait_seconds, holder):
                yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)  # the first load makes the folder
        lock = FileLock(lock_folder(self.path) / "writer", writable=True)
        try:
            lock.acquire(time.monotonic() + wait_seconds, "another load to finish", self._notice)
        except LockTimeout:
            found = read_holder(lock.path)
            if not found:  # no load: something else opened the lock file and holds it
                raise WarehouseBusy(
                    f"another process holds {lock.path} (it is no load: a load writes its pid "
                    f"there); waited {wait_seconds:g} s"
                ) from None
            raise WarehouseBusy(
                f"another load is running ({describe_holder(found)}); waited {wait_seconds:g} s"
            ) from None
        try:
            lock.write_holder(holder)
            yield
        finally:
            lock.release()

    @contextmanager
    def write(self, wait_seconds: float) -> Iterator[sa.Connection]:
        """The write window: one transaction, committed on success and rolled back on error.

        On DuckDB, new readers wait from the moment this is asked for; it waits up to
        ``wait_seconds`` for readers already in, then opens the file read-write. Journal rows
        move into ``etl_runs`` in the same transaction, and leave the journal once it commits.
        """
        if self.path is None:
            with self.writer().begin() as conn:
                yield conn
            return
        deadline = time.monotonic() + wait_seconds
        with self._alone(deadline):
            created = not self.path.exists()
            engine = self.writer()
            conn = _retrying(engine.connect, deadline, self.display)
            try:
                with conn.begin():
                    yield conn
                    moved = _move_journal_in(conn, self.path)
            finally:
                conn.close()
                if created and self.path.exists():  # the locks were made before the file
                    match_warehouse(self.path)
            journal.clear(self.path, moved)

    def compact(self, wait_seconds: float, leave_out_meta: tuple[str, ...] = ()) -> Compaction:
        """Rewrite the DuckDB file as a fresh copy of what it holds, so that the bytes of
        deleted rows leave it (warehouse/compact.py), without the ``leave_out_meta`` rows of
        warehouse_meta. As a write window: new readers wait from the moment it is asked for,
        and it starts once the readers already in have finished (WarehouseBusy after
        ``wait_seconds``). The caller holds the writer lock."""
        if self.path is None:
            raise WarehouseError("only a DuckDB warehouse file is compacted")
        deadline = time.monotonic() + wait_seconds
        with self._alone(deadline):
            if "write" in self._engines:  # no connection of this process keeps the file
                self._engines["write"].dispose()
            return _retrying(
                lambda: compact_file(self.path, leave_out_meta), deadline, self.display
            )

    @contextmanager
    def _alone(self, deadline: float) -> Iterator[None]:
        """Hold the DuckDB file's gate as its writer: new readers wait, and the readers
        already in have finished."""
        try:
            queue, readers = Gate(self.path).enter_writer(deadline, self._notice)
        except LockTimeout as exc:
            raise WarehouseBusy(f"the warehouse stayed busy: waited for {exc}") from None
        try:
            yield
        finally:
            readers.release()
            queue.release()

    def dispose(self) -> None:
        """Close the connections of the engines this Warehouse made (not a caller's engine)."""
        given = self._engines.get("given")
        for engine in self._engines.values():
            if engine is not given:
                engine.dispose()
        self._engines = {"write": given, "given": given} if given is not None else {}

    def _notice(self, message: str) -> None:
        if self.notice:
            self.notice(message)

    @contextmanager
    def _pg_writer_lock(self, wait_seconds: float, holder: dict) -> Iterator[None]:
        deadline = time.monotonic() + wait_seconds
        with self.writer().connect() as conn:
            name = f"{holder['command']} pid={holder['pid']}"  # "turnaround load pid=123"
            conn.execute(sa.select(sa.func.set_config("application_name", name, False)))
            conn.commit()
            told = False
            while not conn.execute(
                sa.select(sa.func.pg_try_advisory_lock(PG_WRITER_LOCK))
            ).scalar():
                conn.commit()
                if time.monotonic() >= deadline:
                    found = _pg_lock_holder(conn)
                    raise WarehouseBusy(
                        f"another load is running ({describe_holder(found)}); "
                        f"waited {wait_seconds:g} s"
                    )
                if not told:
                    self._notice("waiting for another load to finish")
                    told = True
                time.sleep(0.1)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(PG_WRITER_LOCK)))
                conn.commit()


def _move_journal_in(conn: sa.Connection, database: Path) -> int:
    """Move journal rows into etl_runs, where the warehouse has that table already."""
    if not sa.inspect(conn).has_table(etl_runs.name):
        return 0
    return journal.move_into_runs(conn, database)


def _pg_lock_holder(conn: sa.Connection) -> dict:
    """The Turnaround process holding the advisory lock, from its application_name."""
    name = conn.execute(
        sa.text(
            "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
            "where l.locktype = 'advisory' and l.granted and l.objid = :key"
        ),
        {"key": PG_WRITER_LOCK},
    ).scalar()
    conn.commit()
    if not name or "pid=" not in name:
        return {}
    command, _, pid = name.rpartition(" pid=")
    return {"pid": int(pid) if pid.isdigit() else pid, "command": command}


def _is_lock_conflict(exc: BaseException) -> bool:
    return LOCK_CONFLICT in str(getattr(exc, "orig", None) or exc)


def _retrying(connect: Callable[[], Any], deadline: float, display: str) -> Any:
    """``connect()``, retried while a program outside Turnaround's locks holds the DuckDB file
    (the DuckDB command line, a notebook), until ``deadline``."""
    while True:
        try:
            return connect()
        except Exception as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                first_line = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                raise WarehouseBusy(
                    f"another program holds the warehouse file {display}: {first_line}"
                ) from None
            time.sleep(0.1)


def _gate_connections(engine: sa.Engine, gate: Gate, warehouse: Warehouse) -> None:
    """Make every connection of a read-only DuckDB engine pass the gate, and hold its shared
    lock until DuckDB has closed the connection."""

    @event.listens_for(engine, "do_connect")
    def _enter(dialect, record, cargs, cparams):
        wait = warehouse.read_wait_seconds
        deadline = time.monotonic() + wait
        try:
            lock = gate.enter_reader(deadline, warehouse.notice)
        except LockTimeout:
            raise WarehouseBusy(
                f"a load has held the warehouse for more than {wait:g} s; try again when it "
                "finishes (turnaround runs shows it)"
            ) from None
        try:
            connection = _retrying(
                lambda: dialect.connect(*cargs, **cparams), deadline, warehouse.display
            )
        except BaseException:
            lock.release()
            raise
        close = connection.close

        def close_then_leave() -> None:
            try:
                close()
            finally:
                lock.release()  # only now may a writer have the file

        connection.close = close_then_leave
        return connection
