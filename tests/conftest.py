"""Shared fixtures: a real, temporary DuckDB warehouse per test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import repository_guard
from warehouse import ensure_schema, get_engine, tables

# Every data file a test reads is here (tests/fixtures/README.md gives each one's source).
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    repository_guard.install()  # in every xdist worker too: each runs this hook


@pytest.fixture
def warehouse_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def engine(warehouse_url: str) -> sa.Engine:
    eng = get_engine(warehouse_url)
    ensure_schema(eng)
    return eng


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
