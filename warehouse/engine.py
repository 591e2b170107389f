"""Create the SQLAlchemy engine for a warehouse URL."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

DEFAULT_URL = "duckdb:///turnaround.duckdb"
ENV_VAR = "TURNAROUND_WAREHOUSE"


class WarehouseError(Exception):
    """The warehouse cannot be reached or opened; the message says why."""


def driver_reason(exc: BaseException) -> str:
    """The first line of what the database driver said (of ``exc`` itself, for an error
    that is not the driver's), for a one-line message; the error's kind where it says
    nothing."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def resolve_url(url: str | None = None) -> str:
    """``--warehouse`` if given, else ``$TURNAROUND_WAREHOUSE``, else the DuckDB default."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def duckdb_path(url: str) -> Path | None:
    """The database file of a DuckDB URL (None for other warehouses or in-memory DuckDB)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "duckdb" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def get_engine(url: str | None = None, *, read_only: bool = False) -> sa.Engine:
    """An engine for the warehouse at ``url``.

    DuckDB allows one writing process per file, so DuckDB engines keep no pooled
    connection: a dashboard reading the file does not block a nightly load between queries.
    ``read_only`` opens an existing DuckDB file without taking the write lock (and never
    creates one), and makes PostgreSQL sessions read-only.
    """
    url = resolve_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise WarehouseError(f"not a warehouse URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        path = duckdb_path(url)
        if path is not None and not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"read_only": True} if read_only and path is not None else {}
        return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    if backend == "postgresql":
        # A reader's sessions cannot write, whatever a query asks for.
        options = {"options": "-c default_transaction_read_only=on"} if read_only else {}
        return sa.create_engine(url, pool_pre_ping=True, connect_args=options)
    raise WarehouseError(
        f"unsupported warehouse {backend!r}: use duckdb:///PATH or postgresql+psycopg://..."
    )
