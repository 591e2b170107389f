"""Shared fixtures: a real, temporary DuckDB warehouse per test."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import postgres_server, repository_guard
from warehouse import ensure_schema, get_engine, tables

# Every data file a test reads is here (tests/fixtures/README.md gives each one's source).
FIXTURES = Path(__file__).parent / "fixtures"


TEST_HASH_KEY = "test-hash-key-of-the-suite"
_SECRETS_FOLDER = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    repository_guard.install()  # in every xdist worker too: each runs this hook
    # Every test, fixture and subprocess hashes emails with a known key and never reads or
    # writes the user's secrets file, warehouse, config or kept pull pages.
    os.environ["TURNAROUND_HASH_KEY"] = TEST_HASH_KEY
    folder = Path(tempfile.mkdtemp(prefix="turnaround-secrets-"))
    config.stash[_SECRETS_FOLDER] = folder
    os.environ["TURNAROUND_SECRETS_FILE"] = str(folder / "secrets.toml")
    os.environ["XDG_DATA_HOME"] = str(folder / "data")  # the pulls' default folder
    os.environ.pop("TURNAROUND_WAREHOUSE", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_SECRETS_FOLDER, None)
    if folder is not None:  # the suite's secrets folder goes with the run
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The base URL of this test process's PostgreSQL server."""
    with postgres_server.running_server() as url:
        yield url


@pytest.fixture
def warehouse_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def engine(warehouse_url: str) -> sa.Engine:
    eng = get_engine(warehouse_url)
    ensure_schema(eng)
    return eng


@pytest.fixture(params=["duckdb", "postgresql"])
def any_warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty warehouse on each kind Turnaround supports: a DuckDB file, and a database on
    the real PostgreSQL server."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        return
    with postgres_server.fresh_database(request.getfixturevalue("pg_server")) as url:
        yield url


@pytest.fixture
def any_engine(any_warehouse_url: str) -> Iterator[sa.Engine]:
    """A read-write engine on ``any_warehouse_url``, its tables created."""
    eng = get_engine(any_warehouse_url)
    ensure_schema(eng)
    yield eng
    eng.dispose()


_LINEAGE = {"source": "test", "batch_id": "test-batch", "source_file": "test.csv"}
_TICKET_DEFAULTS = {
    "status": "open",
    "channel": "email",
    "tags": [],
    "updated_at": dt.datetime(2024, 1, 1),
}


def insert_rows(engine: sa.Engine, table: str, rows: list[dict]) -> None:
    """Insert rows into a canonical table, filling lineage (and ticket basics) by default."""
    defaults = dict(_LINEAGE)
    if table == "tickets":
        defaults |= _TICKET_DEFAULTS
    with engine.begin() as conn:
        conn.execute(tables[table].insert(), [defaults | row for row in rows])
