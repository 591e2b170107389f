"""Ticket history: every version of a ticket the warehouse has loaded, like a dbt snapshot.

The tickets row is a ticket's current version (the newest source ``updated_at``);
``ticket_versions`` keeps the others, each valid from its own ``updated_at``. A version
joins the history when
- a newer version replaces the current row (the replaced row moves into the history);
- an older version arrives late (it is not the current row, and never replaces it), or a
  file or batch holds several versions of a ticket (all but the newest).
So exports loaded in any order give the same history. The history holds one version per
instant, and never the current row's instant: of versions with the same ``updated_at``, the
one that wins the tie (etl/pipeline/version_order.py) stands for it, so versions ordered by their
time alone are in order. A version without an ``updated_at`` cannot be placed in time and is not
kept; re-delivering a version already held changes nothing. A version keeps its
``metrics_updated_at``: null when it came without metric values (a Zendesk ticket, whose
metrics come in their own stream), and metrics then read the ticket's current metric values
for it (metrics.facts.ticket_states).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
import sqlalchemy as sa

from data_contracts import CONTRACTS
from etl.pipeline.staging import StagedRows, insert_rows
from etl.pipeline.version_order import has_own_metrics, history_terms, sorts_after
from warehouse.schema import ticket_ratings, ticket_versions, tickets

KEY = CONTRACTS["tickets"].key
# What a version keeps besides its key and valid_from: ticket_versions' other columns.
COLUMNS = tuple(c.name for c in ticket_versions.columns if not c.primary_key)


def _not_held(rows: sa.FromClause, when: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """No version of the row's ticket at ``when`` yet, neither in the history nor current."""
    v, t = ticket_versions.c, tickets.c
    return sa.and_(
        ~sa.exists().where(
            v.source == rows.c.source, v.ticket_id == rows.c.ticket_id, v.valid_from == when
        ),
        ~sa.exists().where(
            t.source == rows.c.source, t.ticket_id == rows.c.ticket_id, t.updated_at == when
        ),
    )


def keep_replaced(conn: sa.Connection, replaced: sa.ColumnElement[bool]) -> None:
    """Before current rows are replaced: move those matching ``replaced`` (a condition on
    tickets) into the history. Call it before they are deleted."""
    v, t = ticket_versions.c, tickets.c
    already = sa.exists().where(
        v.source == t.source, v.ticket_id == t.ticket_id, v.valid_from == t.updated_at
    )
    written = [*KEY, "valid_from", *COLUMNS]
    select = sa.select(t.source, t.ticket_id, t.updated_at, *(t[c] for c in COLUMNS)).where(
        replaced, t.updated_at.is_not(None), ~already
    )
    conn.execute(ticket_versions.insert().from_select(written, select))


def keep_rows(conn: sa.Connection, rows: sa.FromClause, *conditions) -> int:
    """Keep ``rows`` (ticket columns, ``updated_at`` as valid_from; one per ticket and time)
    that are not held yet, neither in the history nor as the current row: staged rows that
    did not become current after a merge, or versions superseded within a batch. A row that
    wins the tie with the version the history holds at its time takes that version's place
    (etl/pipeline/version_order.py); the current row's time stays the current row's alone."""
    v = ticket_versions.c
    own = has_own_metrics(rows.c)
    beaten = sa.exists().where(
        rows.c.source == v.source,
        rows.c.ticket_id == v.ticket_id,
        rows.c.updated_at == v.valid_from,
        sorts_after(history_terms(rows.c, own), history_terms(v, own)),
        *conditions,
    )
    conn.execute(ticket_versions.delete().where(beaten))
    written = [*KEY, "valid_from", *COLUMNS]
    select = sa.select(
        rows.c.source, rows.c.ticket_id, rows.c.updated_at, *(rows.c[c] for c in COLUMNS)
    ).where(rows.c.updated_at.is_not(None), _not_held(rows, rows.c.updated_at), *conditions)
    return conn.execute(ticket_versions.insert().from_select(written, select)).rowcount


STAGED_COLUMNS = (*KEY, "updated_at", "source_user_id", *COLUMNS)


def keep_batches(conn: sa.Connection, batches: StagedRows | Iterable[pl.DataFrame]) -> int:
    """Keep the versions in ``batches`` (ticket rows superseded within a run, dated, one per
    ticket and ``updated_at``)."""
    stage = sa.Table(
        "stage_ticket_versions",
        sa.MetaData(),
        *(sa.Column(c.name, c.type) for c in tickets.columns if c.name in STAGED_COLUMNS),
        prefixes=["TEMPORARY"],
    )
    stage.create(conn)
    try:
        if not insert_rows(conn, stage, batches):
            return 0
        rows = sa.select(*stage.columns).subquery("superseded")
        return keep_rows(conn, rows)
    finally:
        stage.drop(conn)


def forget_tickets(conn: sa.Connection, forgotten: sa.ColumnElement[bool]) -> dict[str, int]:
    """Delete the history and the ratings of the tickets matching ``forgotten`` (a condition
    on tickets); return the rows deleted per table."""
    t = tickets.c
    deleted = {}
    for table in (ticket_versions, ticket_ratings):
        mine = sa.exists().where(
            t.source == table.c.source, t.ticket_id == table.c.ticket_id, forgotten
        )
        deleted[table.name] = conn.execute(table.delete().where(mine)).rowcount
    return deleted
