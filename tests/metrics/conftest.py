"""Metric test fixtures shared by the property tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.postgres_server import fresh_database
from warehouse import ensure_schema


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def module_warehouse(request, tmp_path_factory) -> Iterator[sa.Engine]:
    """One warehouse per test module on each kind (property tests clear it per example)."""
    if request.param == "duckdb":
        engine = sa.create_engine(f"duckdb:///{tmp_path_factory.mktemp('w') / 'w.duckdb'}")
        ensure_schema(engine)
        yield engine
        engine.dispose()
        return
    with fresh_database(request.getfixturevalue("pg_server")) as url:
        engine = sa.create_engine(url)
        ensure_schema(engine)
        yield engine
        engine.dispose()
