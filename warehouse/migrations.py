"""Upgrade an existing warehouse in place, one schema version at a time (``turnaround migrate``).

Each step runs in the caller's transaction, so a failed migration leaves the warehouse as it
was. Tables that a version adds are created from the current metadata; columns it adds to
existing tables are added here.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from warehouse.schema import (
    PG_INDEXES,
    SCHEMA_VERSION,
    SchemaError,
    meta_value,
    metadata,
    schema_version,
    set_meta_value,
)

# Given the email hash key a version-1 warehouse kept inside itself, store it outside the
# warehouse and return the fingerprint the warehouse keeps instead.
MoveHashKey = Callable[[str], str]

V2_COLUMNS = (
    ("tickets", "source_user_id"),
    ("tickets", "metrics_updated_at"),
    ("nps_responses", "updated_at"),
    ("customers", "updated_at"),
    ("etl_runs", "rows_remapped"),
    ("quarantine", "customer_id"),
    ("customer_identities", "email_hash"),
)


def _add_columns(conn: sa.Connection, columns: tuple[tuple[str, str], ...]) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each (table, column), of the type (and default) the
    current tables declare; what was done. A column whose type a later version changes
    would name its type here instead (as version 5 changes amounts to DOUBLE)."""
    for table, column in columns:
        declared = metadata.tables[table].c[column]
        sql_type = declared.type.compile(dialect=conn.dialect)
        if declared.default is not None and declared.default.is_scalar:
            sql_type += f" DEFAULT {declared.default.arg}"
        # Names come from the declarations, never from input: DDL takes no parameters.
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
    return [f"added {table}.{column}" for table, column in columns]


def _to_v2(conn: sa.Connection, move_hash_key: MoveHashKey) -> list[str]:
    """Version 2: no hash key inside the warehouse, newest-version columns, run checks and
    loaded files."""
    done = _add_columns(conn, V2_COLUMNS)
    metadata.create_all(conn, checkfirst=True)
    done.append("created etl_run_checks and loaded_files")
    key = meta_value(conn, "hash_key")
    if key is not None:
        set_meta_value(conn, "hash_key_fingerprint", move_hash_key(key))
        set_meta_value(conn, "hash_key", None)
        done.append("moved the email hash key out of the warehouse")
    return done


V3_COLUMNS = (
    ("tickets", "first_resolution_minutes"),
    ("held_ticket_metrics", "first_resolution_minutes"),
)
V3_TABLES = ("ticket_groups",)


def _to_v3(conn: sa.Connection, move_hash_key: MoveHashKey) -> list[str]:
    """Version 3: group names for sliced metrics, and first-resolution times."""
    done = _add_columns(conn, V3_COLUMNS)
    metadata.create_all(conn, checkfirst=True)
    done.append("created " + ", ".join(V3_TABLES))
    return done


V4_COLUMNS = (("tickets", "follow_up_of"),)
V4_TABLES = ("ticket_versions", "ticket_ratings")


def _to_v4(conn: sa.Connection, move_hash_key: MoveHashKey) -> list[str]:
    """Version 4: ticket history (earlier versions of each ticket) for point-in-time
    metrics, rating times, follow-up links. A warehouse loaded before keeps one version per
    ticket: its numbers stay."""
    done = _add_columns(conn, V4_COLUMNS)
    metadata.create_all(conn, checkfirst=True)
    return [*done, "created " + ", ".join(V4_TABLES)]


V5_DOUBLE_COLUMNS = (
    ("customers", "mrr"),
    ("tickets", "compensation"),
    ("ticket_versions", "compensation"),
)


def _to_v5(conn: sa.Connection, move_hash_key: MoveHashKey) -> list[str]:
    """Version 5: loaded files keep their modification time (an unchanged file is skipped
    without being read), and PostgreSQL gets the indexes the metric queries use."""
    done = []
    columns = set(conn.execute(sa.text("SELECT * FROM loaded_files LIMIT 0")).keys())
    if "modified_ns" not in columns:  # a version-1 warehouse got today's table from _to_v2
        conn.execute(sa.text("ALTER TABLE loaded_files ADD COLUMN modified_ns BIGINT"))
        done.append("added loaded_files.modified_ns")
    if conn.dialect.name == "duckdb":  # amounts were 4-byte floats there (PostgreSQL: 8)
        for table, column in V5_DOUBLE_COLUMNS:
            conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE DOUBLE"))
            done.append(f"made {table}.{column} a DOUBLE")
    if conn.dialect.name == "postgresql":
        for index in PG_INDEXES:
            index.create(conn, checkfirst=True)
        done.append("created " + ", ".join(i.name for i in PG_INDEXES))
    return done


V6_COLUMNS = (("tickets", "first_reply_bracket"),)


def _to_v6(conn: sa.Connection, move_hash_key: MoveHashKey) -> list[str]:
    """Version 6: a ticket's reply time bracket, where the source gives no exact reply time
    (Zendesk Explore); such a ticket is left out of the TTA KPIs."""
    return _add_columns(conn, V6_COLUMNS)


V7_TABLES = ("ticket_agents",)


def _to_v7(conn: sa.Connection, move_hash_key: MoveHashKey) -> list[str]:
    """Version 7: agent names (and their pseudonyms) for sliced metrics."""
    metadata.create_all(conn, checkfirst=True)
    return ["created " + ", ".join(V7_TABLES)]


STEPS: dict[int, Callable[[sa.Connection, MoveHashKey], list[str]]] = {
    1: _to_v2,
    2: _to_v3,
    3: _to_v4,
    4: _to_v5,
    5: _to_v6,
    6: _to_v7,
}


def migrate(conn: sa.Connection, move_hash_key: MoveHashKey) -> tuple[int, int, list[str]]:
    """Upgrade the warehouse to SCHEMA_VERSION; return (from, to, what was done)."""
    found = schema_version(conn)
    if found is None:
        raise SchemaError("there is no Turnaround warehouse here to migrate")
    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"the warehouse has schema version {found}, newer than this Turnaround "
            f"({SCHEMA_VERSION}); upgrade Turnaround"
        )
    version, done = found, []
    while version < SCHEMA_VERSION:
        done += STEPS[version](conn, move_hash_key)
        version += 1
    set_meta_value(conn, "schema_version", str(version))
    return found, version, done
