"""The warehouse tables: the canonical and side tables built from their declarations, plus
ETL bookkeeping.

Grain of each table:
- tickets, nps_responses, customers: see their contracts (data_contracts/contracts/).
  tickets also keeps the columns its contract lists as ``stored`` (the source requester, the
  source time of its metric values, the first-resolution time, the ticket a follow-up was
  opened from).
- held_ticket_metrics, customer_identities, ticket_groups, ticket_ratings, ticket_agents: the
  side tables
  (data_contracts/side_tables.yaml) -- metrics that arrived before their ticket, source users
  mapped to a customer_id, the names a source's groups have (looked up when tickets are
  sliced by group: a Zendesk ticket stores the group id), and a ticket's CSAT score and when
  it was given (Zendesk satisfaction_ratings), for point-in-time CSAT, and the names (and
  pseudonyms) of a source's agents, looked up like the group names.
- quarantine: one row per rejected input row (batch_id, source_file, target_table, row_number).
- etl_runs: one row per run (batch_id): loads, refusals, skips, erasures.
- etl_run_files: one row per file per run (batch_id, source_file, target_table).
- etl_run_checks: one row per contract check per file and table of a run.
- loaded_files: one row per file content loaded (sha256), so a file that arrives again is
  skipped.
- ticket_versions: one row per earlier version of a ticket (source, ticket_id, valid_from):
  the state a ticket had from its source ``updated_at`` until the next version, in the
  columns the tickets contract lists as ``versioned``. The current version is the tickets
  row itself; together they are the ticket's history (see etl/pipeline/versions.py), which
  point-in-time metrics read.
- warehouse_meta: one row per setting (schema_version, hash_key_fingerprint).
"""

from __future__ import annotations

import sqlalchemy as sa

from data_contracts import CONTRACTS, SIDE_TABLES, Column, SideTable
from data_contracts.contract import BOOKKEEPING, LINEAGE_COLUMNS, SOURCE
from data_contracts.side_tables import FED_BY_METRICS

SCHEMA_VERSION = 7

SQL_TYPES = {
    "string": sa.String,
    "integer": sa.BigInteger,
    "float": sa.Double,  # DuckDB's FLOAT is 4 bytes: 74.57 would read back as 74.5699997
    "timestamp": sa.DateTime,  # naive, always UTC
    "text_list": lambda: sa.ARRAY(sa.String),
}

metadata = sa.MetaData()


def _column(c: Column, key: tuple[str, ...] = ()) -> sa.Column:
    return sa.Column(
        c.name,
        SQL_TYPES[c.type](),
        nullable=not (c.required or c.name in key),
        primary_key=c.name in key,
    )


def _canonical_table(name: str) -> sa.Table:
    contract = CONTRACTS[name]
    lineage = [{"source": SOURCE, **BOOKKEEPING}[n] for n in LINEAGE_COLUMNS]
    columns = [
        *contract.columns,
        *(c for c in lineage if c.name not in contract.column_names),
        *contract.stored,
    ]
    return sa.Table(
        name, metadata, *(_column(c, contract.key) for c in columns), comment=contract.grain
    )


def _side_table(side: SideTable) -> sa.Table:
    """The frame's columns after its source, then its bookkeeping and any columns stored after
    it."""
    columns = [
        SOURCE,
        *(c for c in side.columns if not c.after_bookkeeping),
        *side.bookkeeping_columns,
        *(c for c in side.columns if c.after_bookkeeping),
    ]
    return sa.Table(
        side.table, metadata, *(_column(c, side.key) for c in columns), comment=side.grain
    )


# A ticket its source deleted keeps its row with this status; the metrics leave it out.
DELETED_STATUS = "deleted"

tickets = _canonical_table("tickets")
nps_responses = _canonical_table("nps_responses")

# Indexes the metric queries use on PostgreSQL (ranges of created_at, a customer's tickets
# and answers, the ticket list by customer). DuckDB scans its columns with zone maps
# instead, and an index there would only slow the loads down.
PG_INDEXES = (
    sa.Index("ix_tickets_created_at", tickets.c.created_at),
    sa.Index("ix_tickets_customer_id", tickets.c.customer_id, tickets.c.created_at),
    sa.Index(
        "ix_nps_customer_responded", nps_responses.c.customer_id, nps_responses.c.responded_at
    ),
)
for _index in PG_INDEXES:
    _index.ddl_if(dialect="postgresql")

# What changes between a ticket's versions, and what point-in-time metrics read from them;
# METRIC_COLUMNS among them may come in a stream of their own (Zendesk ticket_metrics).
VERSIONED_COLUMNS = CONTRACTS["tickets"].versioned
METRIC_COLUMNS = tuple(name for name in VERSIONED_COLUMNS if name in FED_BY_METRICS)
ticket_versions = sa.Table(
    "ticket_versions",
    metadata,
    *(sa.Column(name, tickets.c[name].type, primary_key=True) for name in CONTRACTS["tickets"].key),
    sa.Column("valid_from", sa.DateTime, primary_key=True),
    *(sa.Column(name, tickets.c[name].type) for name in VERSIONED_COLUMNS),
    # The source time of the version's metric values; null when the version came without
    # them (a Zendesk ticket's metrics arrive in their own stream).
    sa.Column("metrics_updated_at", tickets.c.metrics_updated_at.type),
    *(_column(BOOKKEEPING[name]) for name in ("batch_id", "source_file")),
    comment="one row per earlier version of a ticket, valid from its source updated_at",
)
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
    sa.Column("customer_id", sa.String),  # whose row it was, where known (for forget)
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
    # Tickets whose customer_id changed because their source user arrived in this run.
    sa.Column("rows_remapped", sa.BigInteger, default=0),
    comment="one row per run",
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

etl_run_checks = sa.Table(
    "etl_run_checks",
    metadata,
    sa.Column("batch_id", sa.String, primary_key=True),
    sa.Column("source_file", sa.String, primary_key=True),
    sa.Column("target_table", sa.String, primary_key=True),
    sa.Column("check_name", sa.String, primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("failing_count", sa.BigInteger, nullable=False),
    sa.Column("example_reason", sa.Text),
    comment="one row per contract check per file and target table per run",
)

loaded_files = sa.Table(
    "loaded_files",
    metadata,
    sa.Column("sha256", sa.String, primary_key=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    # The file's modification time when it was loaded: a file at the same path with the same
    # size and time is taken as loaded without reading it again.
    sa.Column("modified_ns", sa.BigInteger),
    sa.Column("source_file", sa.String, nullable=False),
    sa.Column("batch_id", sa.String, nullable=False),
    sa.Column("loaded_at", sa.DateTime, nullable=False),
    comment="one row per file content loaded by a successful run",
)

held_ticket_metrics = _side_table(SIDE_TABLES["ticket_metrics"])
customer_identities = _side_table(SIDE_TABLES["identities"])
ticket_groups = _side_table(SIDE_TABLES["groups"])
ticket_ratings = _side_table(SIDE_TABLES["ratings"])
ticket_agents = _side_table(SIDE_TABLES["agents"])

warehouse_meta = sa.Table(
    "warehouse_meta",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
    comment="one row per warehouse setting",
)

tables = metadata.tables


class SchemaError(Exception):
    """The warehouse was written by a newer Turnaround, or is not a Turnaround warehouse."""


class SchemaOutdated(SchemaError):
    """The warehouse has an older schema: ``turnaround migrate`` upgrades it in place."""


def meta_value(conn: sa.Connection, name: str) -> str | None:
    return conn.execute(
        sa.select(warehouse_meta.c.value).where(warehouse_meta.c.name == name)
    ).scalar()


def set_meta_value(conn: sa.Connection, name: str, value: str | None) -> None:
    conn.execute(warehouse_meta.delete().where(warehouse_meta.c.name == name))
    if value is not None:
        conn.execute(warehouse_meta.insert().values(name=name, value=value))


def schema_version(conn: sa.Connection) -> int | None:
    """The warehouse's schema version; None where it has no Turnaround tables yet."""
    if not sa.inspect(conn).has_table(warehouse_meta.name):
        return None
    found = meta_value(conn, "schema_version")
    return None if found is None else int(found)


def check_schema(conn: sa.Connection, where: str) -> int:
    """Refuse a warehouse a reader cannot use: empty, older or newer than this Turnaround."""
    version = schema_version(conn)
    if version is None:
        raise SchemaError(f"{where} holds no Turnaround tables; load data first (turnaround load)")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} has schema version {version}, newer than this Turnaround "
            f"({SCHEMA_VERSION}); upgrade Turnaround"
        )
    if version < SCHEMA_VERSION:
        raise SchemaOutdated(
            f"{where} has schema version {version}; this Turnaround needs {SCHEMA_VERSION}: "
            "run `turnaround migrate` to upgrade it in place"
        )
    return version


def ensure_schema(bind: sa.Engine | sa.Connection, where: str = "the warehouse") -> int:
    """Create the tables of an empty warehouse; check the version of an existing one.

    Writers call this in their write window. An older warehouse is never upgraded here:
    that is ``turnaround migrate``'s job (warehouse.migrations).
    """
    if isinstance(bind, sa.Engine):
        with bind.begin() as conn:
            return ensure_schema(conn, where)
    if schema_version(bind) is None:
        metadata.create_all(bind, checkfirst=True)
        set_meta_value(bind, "schema_version", str(SCHEMA_VERSION))
        return SCHEMA_VERSION
    return check_schema(bind, where)
