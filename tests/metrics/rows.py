"""Row helpers shared by the metric tests."""

from __future__ import annotations

from itertools import groupby

import sqlalchemy as sa

from tests.conftest import insert_rows


def insert(engine: sa.Engine, table: str, rows: list[dict]) -> None:
    """insert_rows for rows that name different columns (one insert per set of columns)."""

    def columns(row: dict) -> tuple[str, ...]:
        return tuple(sorted(row))

    for _, same_columns in groupby(sorted(rows, key=columns), key=columns):
        insert_rows(engine, table, list(same_columns))
