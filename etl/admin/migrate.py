"""``turnaround migrate``: upgrade a warehouse in place, moving its email hash key out, and
report the event times stored outside the plausible range.

A version-1 warehouse kept its hash key in ``warehouse_meta``. The upgrade writes that key to
the secrets file (or, where ``$TURNAROUND_HASH_KEY`` is set, checks that it is the same key),
so the identities already loaded keep matching, and the warehouse keeps only a fingerprint.

Rows loaded before loads checked the plausible range (data_contracts.plausible) may hold a
far date; ``stored_out_of_range`` counts them per table and column, and deletes nothing.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from data_contracts import CANONICAL_TABLES, CONTRACTS, SIDE_TABLES
from data_contracts.plausible import TimeRange
from data_contracts.times import utc_now
from etl.identity import (
    HASH_KEY_ENV,
    HashKeyError,
    key_fingerprint,
    secrets_file,
    write_secrets_file,
)
from etl.pipeline.load import LoadOptions, hold_writer_lock, new_batch_id
from etl.pipeline.report import RunReport
from warehouse.access import Warehouse, WarehouseMissing
from warehouse.migrations import migrate
from warehouse.schema import tables


def move_key_out(configured_file: Path | None):
    """The migration's way to keep the old key: in the secrets file, or already in the env."""

    def move(key: str) -> str:
        from_env = os.environ.get(HASH_KEY_ENV, "").strip()
        if from_env and from_env != key:
            raise HashKeyError(
                f"{HASH_KEY_ENV} holds a different key than the one this warehouse's customer "
                f"ids were made with; unset it (the key will be written to the secrets file) "
                "or set it to the warehouse's key"
            )
        if not from_env:
            write_secrets_file(secrets_file(configured_file), key)
        return key_fingerprint(key)

    return move


def migrate_warehouse(
    warehouse: Warehouse, wait_seconds: float, configured_file: Path | None
) -> tuple[int, int, list[str]]:
    """Upgrade ``warehouse`` under the writer lock; returns (from, to, what was done)."""
    if not warehouse.file_exists():
        raise WarehouseMissing(f"no warehouse at {warehouse.path}; nothing to migrate")
    report = RunReport(batch_id=new_batch_id(utc_now()), started_at=utc_now())
    options = LoadOptions(wait_seconds=wait_seconds, command="turnaround migrate")
    with ExitStack() as held:
        hold_writer_lock(held, warehouse, options, report)
        with warehouse.write(wait_seconds) as conn:
            found, version, done = migrate(conn, move_key_out(configured_file))
    return found, version, done


# The tables with event times, each with the id an example row is named by: the canonical
# tables (their contracts say which columns are event times), then the tables without a
# contract, whose every timestamp column is checked as a load checks their rows.
TABLE_IDS = {
    **{table: CONTRACTS[table].key[-1] for table in CANONICAL_TABLES},
    "ticket_versions": "ticket_id",
    **{
        SIDE_TABLES[f].table: SIDE_TABLES[f].key[-1]
        for f in ("ticket_metrics", "ratings", "groups")
    },
}


@dataclass(frozen=True)
class OutOfRange:
    """Stored rows of one table whose ``column`` lies outside the plausible range."""

    table: str
    column: str
    rows: int
    example_id: str  # the smallest id among them


def _event_times(table: str) -> list[tuple[str, bool]]:
    """(column, future allowed) for each event time of ``table``."""
    if table in CONTRACTS:
        columns = CONTRACTS[table].columns
        return [(c.name, c.future_allowed) for c in columns if c.type == "timestamp"]
    return [(c.name, False) for c in tables[table].columns if isinstance(c.type, sa.DateTime)]


def stored_out_of_range(conn: sa.Connection, plausible: TimeRange) -> list[OutOfRange]:
    """Per table and column, the stored rows whose event time lies outside ``plausible``
    (one query per table), in table and column order; columns without any are left out."""
    found = []
    for name, id_column in TABLE_IDS.items():
        table = tables[name]
        columns = _event_times(name)
        outside = [
            table.c[column] < plausible.earliest
            if future
            else sa.or_(table.c[column] < plausible.earliest, table.c[column] > plausible.latest)
            for column, future in columns
        ]
        counted = conn.execute(
            sa.select(
                *(sa.func.count().filter(where) for where in outside),
                *(sa.func.min(table.c[id_column]).filter(where) for where in outside),
            )
        ).one()
        for index, (column, _) in enumerate(columns):
            if counted[index]:
                example = counted[len(columns) + index]
                found.append(OutOfRange(name, column, counted[index], example))
    return found
