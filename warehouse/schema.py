"""The warehouse tables: the canonical tables built from the contracts, plus ETL bookkeeping.

Grain of each table:
- tickets, nps_responses, customers: see their contracts (data_contracts/contracts/).
- quarantine: one row per rejected input row (batch_id, source_file, target_table, row_number).
- etl_runs: one row per load run (batch_id).
- etl_run_files: one row per file per run (batch_id, source_file, target_table).
- held_ticket_metrics: one row per ticket whose metrics arrived before the ticket itself.
- customer_identities: one row per source user (source, user_id) mapped to a customer_id.
- warehouse_meta: one row per setting (schema_version, hash_key).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from data_contracts import CONTRACTS

SCHEMA_VERSION = 1

# Older schema versions migrate step by step: MIGRATIONS[v] upgrades v to v + 1.
MIGRATIONS: dict[int, list[str]] = {}

SQL_TYPES = {
    "string": sa.String,
    "integer": sa.BigInteger,
    "float": sa.Float,
    "timestamp": sa.DateTime,  # naive, always UTC
    "text_list": lambda: sa.ARRAY(sa.String),
}

metadata = sa.MetaData()


def _lineage() -> list[sa.Column]:
    return [
        sa.Column("source", sa.String, nullable=False),
        sa.Column("batch_id", sa.String, nullable=False),
        sa.Column("source_file", sa.String, nullable=False),
    ]


def _canonical_table(name: str) -> sa.Table:
    contract = CONTRACTS[name]
    columns = [
        sa.Column(
            c.name,
            SQL_TYPES[c.type](),
            nullable=not c.required,
            primary_key=c.name in contract.key,
        )
        for c in contract.columns
    ]
    lineage = [col for col in _lineage() if col.name not in contract.column_names]
    for col in lineage:
        col.primary_key = col.name in contract.key
    return sa.Table(name, metadata, *columns, *lineage, comment=contract.grain)


tickets = _canonical_table("tickets")
nps_responses = _canonical_table("nps_responses")
customers = _canonical_table("customers")

COUNT_COLUMNS = (
    "rows_read",
    "rows_loaded",
    "rows_replaced",
    "rows_quarantined",
    "rows_duplicates",
    "rows_held",
    "rows_skipped",
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("batch_id", sa.String, primary_key=True),
    sa.Column("source_file", sa.String, primary_key=True),
    sa.Column("target_table", sa.String, primary_key=True),
    sa.Column("row_number", sa.BigInteger, primary_key=True),
    sa.Column("raw_row", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("quarantined_at", sa.DateTime, nullable=False),
    comment="one row per rejected input row",
)

etl_runs = sa.Table(
    "etl_runs",
    metadata,
    sa.Column("batch_id", sa.String, primary_key=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("files", sa.BigInteger, nullable=False),
    *[sa.Column(name, sa.BigInteger, nullable=False, default=0) for name in COUNT_COLUMNS],
    # Held ticket metrics from earlier runs whose ticket arrived in this run.
    sa.Column("rows_released", sa.BigInteger, nullable=False, default=0),
    sa.Column("message", sa.Text),
    comment="one row per load run",
)

etl_run_files = sa.Table(
    "etl_run_files",
    metadata,
    sa.Column("batch_id", sa.String, primary_key=True),
    sa.Column("source_file", sa.String, primary_key=True),
    sa.Column("target_table", sa.String, primary_key=True),
    sa.Column("format", sa.String, nullable=False),
    *[sa.Column(name, sa.BigInteger, nullable=False, default=0) for name in COUNT_COLUMNS],
    comment="one row per file and target table per load run",
)

held_ticket_metrics = sa.Table(
    "held_ticket_metrics",
    metadata,
    sa.Column("source", sa.String, primary_key=True),
    sa.Column("ticket_id", sa.String, primary_key=True),
    sa.Column("reply_minutes", sa.BigInteger),
    sa.Column("first_reply_business_minutes", sa.BigInteger),
    sa.Column("solved_at", sa.DateTime),
    sa.Column("agent_replies", sa.BigInteger),
    sa.Column("reopens", sa.BigInteger),
    sa.Column("assignee_stations", sa.BigInteger),
    sa.Column("group_stations", sa.BigInteger),
    sa.Column("updated_at", sa.DateTime),
    sa.Column("batch_id", sa.String, nullable=False),
    sa.Column("source_file", sa.String, nullable=False),
    sa.Column("row_number", sa.BigInteger, nullable=False),
    comment="one row per ticket whose metrics arrived before the ticket",
)

customer_identities = sa.Table(
    "customer_identities",
    metadata,
    sa.Column("source", sa.String, primary_key=True),
    sa.Column("user_id", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, nullable=False),
    sa.Column("batch_id", sa.String, nullable=False),
    sa.Column("source_file", sa.String, nullable=False),
    comment="one row per source user, mapped to the canonical customer_id",
)

warehouse_meta = sa.Table(
    "warehouse_meta",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
    comment="one row per warehouse setting",
)

tables = metadata.tables


class SchemaError(Exception):
    """The warehouse was written by a newer Turnaround or cannot be migrated."""


def _meta_value(conn: sa.Connection, name: str) -> str | None:
    return conn.execute(
        sa.select(warehouse_meta.c.value).where(warehouse_meta.c.name == name)
    ).scalar()


def ensure_schema(engine: sa.Engine) -> int:
    """Create missing tables, record or migrate the schema version; return the version."""
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        found = _meta_value(conn, "schema_version")
        if found is None:
            conn.execute(
                warehouse_meta.insert(),
                [
                    {"name": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"name": "hash_key", "value": secrets.token_hex(32)},
                ],
            )
            return SCHEMA_VERSION
        version = int(found)
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"this warehouse has schema version {version}, newer than this Turnaround "
                f"({SCHEMA_VERSION}); upgrade Turnaround"
            )
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(sa.text(statement))
            version += 1
        conn.execute(
            warehouse_meta.update()
            .where(warehouse_meta.c.name == "schema_version")
            .values(value=str(version))
        )
        return version


def hash_key(conn: sa.Connection) -> str:
    """The warehouse's secret key for hashing emails into customer ids."""
    value = _meta_value(conn, "hash_key")
    if value is None:
        raise SchemaError("warehouse has no hash_key: run ensure_schema first")
    return value
