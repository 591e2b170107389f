"""Open the warehouse the way every command does: readers read-only, writers one at a time.

- ``reader()``: a read-only engine. It never creates or migrates a warehouse; on DuckDB each
  connection passes the gate of ``warehouse.locks``, so it waits (bounded, with a notice) while
  a load merges, and never holds the file while a load wants it.
- ``writer_lock()``: held by a load, ``migrate`` or ``forget`` for its whole run.
- ``write()``: the short write window: one transaction on a read-write connection, opened
  after the readers already in have finished and while new ones wait.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from warehouse.engine import WarehouseError, duckdb_path, get_engine, resolve_url
from warehouse.locks import FileLock, Gate, LockTimeout, Notice, lock_folder, read_holder

DEFAULT_READ_WAIT_SECONDS = 60.0
# PostgreSQL advisory lock key of Turnaround's writers ("TRND" as a number).
PG_WRITER_LOCK = 0x54524E44
LOCK_CONFLICT = "Could not set lock"  # DuckDB's words when another process holds the file


class WarehouseMissing(WarehouseError):
    """There is no warehouse where the URL points: nothing has been loaded there yet."""


class WarehouseBusy(WarehouseError):
    """The warehouse was not free within the time allowed. ``holder`` says who has it."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = holder or {}


def describe_holder(holder: dict) -> str:
    """``pid 123, turnaround load, since 2026-12-01T02:00:00Z`` from a lock's holder record."""
    parts = [f"pid {holder['pid']}" if "pid" in holder else "pid unknown"]
    parts += [str(holder[k]) for k in ("command",) if holder.get(k)]
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
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
        return cls(resolve_url(url), **options)

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
            if self.path is None:
                self._engines["read"] = get_engine(self.url, read_only=True)
            else:
                engine = get_engine(self.url, read_only=True)
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
        holder = {"pid": os.getpid(), "command": command, "since": _utc_text()}
        if self.path is None:
            with self._pg_writer_lock(wait_seconds, holder):
                yield
            return
        lock = FileLock(lock_folder(self.path) / "writer")
        try:
            lock.acquire(time.monotonic() + wait_seconds, "another load to finish", self._notice)
        except LockTimeout:
            found = read_holder(lock.path)
            raise WarehouseBusy(
                f"another load is running ({describe_holder(found)}); waited {wait_seconds:g} s",
                found,
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
        ``wait_seconds`` for readers already in, then opens the file read-write.
        """
        if self.path is None:
            with self.writer().begin() as conn:
                yield conn
            return
        deadline = time.monotonic() + wait_seconds
        try:
            queue, readers = Gate(self.path).enter_writer(deadline, self._notice)
        except LockTimeout as exc:
            raise WarehouseBusy(f"the warehouse stayed busy: waited for {exc}") from None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            engine = self.writer()
            conn = _connect_retrying(engine, deadline, self.display)
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.close()
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
            name = f"turnaround {holder['command']} pid={holder['pid']}"
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
                        f"waited {wait_seconds:g} s",
                        found,
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
    holder: dict = {}
    if name and "pid=" in name:
        command, _, pid = name.removeprefix("turnaround ").rpartition(" pid=")
        holder = {"pid": int(pid) if pid.isdigit() else pid, "command": f"turnaround {command}"}
    return holder


def _utc_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _is_lock_conflict(exc: BaseException) -> bool:
    return LOCK_CONFLICT in str(getattr(exc, "orig", None) or exc)


def _connect_retrying(engine: sa.Engine, deadline: float, display: str) -> sa.Connection:
    """Connect, retrying while a program outside Turnaround's locks holds the DuckDB file."""
    while True:
        try:
            return engine.connect()
        except sa.exc.DBAPIError as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                if _is_lock_conflict(exc):
                    raise WarehouseBusy(
                        f"another program holds the warehouse file {display}: "
                        f"{str(exc.orig).splitlines()[0]}"
                    ) from None
                raise
            time.sleep(0.1)


def _gate_connections(engine: sa.Engine, gate: Gate, warehouse: Warehouse) -> None:
    """Make every connection of a read-only DuckDB engine pass the gate, and hold its shared
    lock until the connection closes."""

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
        while True:
            try:
                connection = dialect.connect(*cargs, **cparams)
                break
            except Exception as exc:
                if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                    lock.release()
                    if _is_lock_conflict(exc):
                        raise WarehouseBusy(
                            f"another program holds the warehouse file {warehouse.display} "
                            f"for writing: {str(exc).splitlines()[0]}"
                        ) from None
                    raise
                time.sleep(0.1)
        record.info["gate"] = lock
        return connection

    @event.listens_for(engine.pool, "close")
    def _leave(dbapi_connection, record):
        lock = record.info.pop("gate", None)
        if lock is not None:
            lock.release()
