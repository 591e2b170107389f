"""Merge a batch of canonical rows into a warehouse table, in SQL.

The batch is staged in a temporary table; each staged row is then classified against
what the warehouse holds under its key:
- ``insert``: the key is new;
- ``replace``: the key exists and the staged row is newer: a later ``updated_at``, or the
  same one and content that sorts after the stored row's (etl/pipeline/version_order.py); where
  neither row has an ``updated_at`` (or the table has none), different content, so the later
  load wins; a dated row replaces an undated one with different content, and an undated
  row never replaces a dated one;
- ``duplicate``: the key exists and the staged row is not newer.
Replaced rows are deleted and re-inserted; nothing is written for duplicates. The caller
runs this inside its transaction, so a failure leaves the table as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import polars as pl
import sqlalchemy as sa

from etl.pipeline import versions
from etl.pipeline.staging import StagedRows, insert_rows
from etl.pipeline.version_order import content_terms, sorts_after

INSERT, REPLACE, DUPLICATE = "insert", "replace", "duplicate"


def _stage_table(target: sa.Table) -> sa.Table:
    columns = [sa.Column(c.name, c.type) for c in target.columns]
    extra = [sa.Column("row_number", sa.BigInteger), sa.Column("merge_action", sa.String)]
    names = {c.name for c in columns}
    return sa.Table(
        f"stage_{target.name}",
        sa.MetaData(),
        *columns,
        *[c for c in extra if c.name not in names],
        prefixes=["TEMPORARY"],
    )


def _key_match(stage: sa.Table, target: sa.Table, key: tuple[str, ...]) -> sa.ColumnElement:
    return sa.and_(*[stage.c[k] == target.c[k] for k in key])


def _content_differs(stage: sa.Table, target: sa.Table, key: tuple[str, ...]) -> sa.ColumnElement:
    ignored = {*key, "batch_id", "source_file"}  # lineage of a re-delivery is not new content
    content = [c.name for c in target.columns if c.name not in ignored]
    return sa.or_(*[stage.c[c].is_distinct_from(target.c[c]) for c in content])


def _is_newer(stage: sa.Table, target: sa.Table, key: tuple[str, ...]) -> sa.ColumnElement:
    differs = _content_differs(stage, target, key)
    if "updated_at" not in target.c:
        return differs
    staged, stored = stage.c.updated_at, target.c.updated_at
    tie_won = sorts_after(content_terms(target, stage.c), content_terms(target, target.c))
    return sa.or_(
        staged > stored,
        sa.and_(staged == stored, tie_won),  # the same source time: the greater content
        sa.and_(stored.is_(None), differs),  # undated stored row: a dated or later load wins
    )


def merge(
    conn: sa.Connection,
    target: sa.Table,
    key: tuple[str, ...],
    batch: StagedRows | pl.DataFrame | Iterable[pl.DataFrame],
    keep_when_null: tuple[str, ...] = (),
    keep_where_null: str | None = None,
    absent: dict[str, tuple[str, ...]] | None = None,
    history: bool = False,
) -> Counter:
    """Merge ``batch`` (target's columns + ``row_number``; keys unique; staged rows, a frame
    or batches of frames) into ``target``.

    ``keep_when_null`` columns keep the stored value when a replacing row has none, for the
    replacing rows whose ``keep_where_null`` column is null (a Zendesk ticket re-exported
    without its separately delivered metrics keeps them; a canonical ticket, which carries
    its own metrics, replaces them, nulls included). ``absent`` names, per source file, the
    columns that file does not have at all: its rows take the stored values there before they
    are compared, so a file without a column neither changes it nor counts as new for it.
    With ``history`` (tickets), replaced rows and staged rows that did not become current
    are kept as earlier versions (etl/pipeline/versions.py). Returns counts per (source_file,
    action).
    """
    stage = _stage_table(target)
    stage.create(conn)
    try:
        insert_rows(conn, stage, batch)
        for source_file, columns in (absent or {}).items():
            stored = {
                name: sa.select(target.c[name])
                .where(_key_match(stage, target, key))
                .scalar_subquery()
                for name in columns
            }
            conn.execute(
                stage.update()
                .where(
                    stage.c.source_file == source_file,
                    sa.exists().where(_key_match(stage, target, key)),
                )
                .values(stored)
            )
        conn.execute(stage.update().values(merge_action=INSERT))
        existing = sa.exists().where(_key_match(stage, target, key))
        newer = sa.exists().where(_key_match(stage, target, key), _is_newer(stage, target, key))
        conn.execute(stage.update().where(existing).values(merge_action=DUPLICATE))
        conn.execute(stage.update().where(newer).values(merge_action=REPLACE))
        without_own = stage.c[keep_where_null].is_(None) if keep_where_null else sa.true()
        for name in keep_when_null:
            stored = (
                sa.select(target.c[name]).where(_key_match(stage, target, key)).scalar_subquery()
            )
            conn.execute(
                stage.update()
                .where(stage.c.merge_action == REPLACE, stage.c[name].is_(None), without_own)
                .values({name: stored})
            )
        replaced = sa.exists().where(
            _key_match(stage, target, key), stage.c.merge_action == REPLACE
        )
        if history:
            # A row replaced by one of the same source time lost a tie: at that instant the
            # ticket was the winner alone, so the loser joins no history.
            older = sa.exists().where(
                _key_match(stage, target, key),
                stage.c.merge_action == REPLACE,
                stage.c.updated_at > target.c.updated_at,
            )
            versions.keep_replaced(conn, older)
        conn.execute(target.delete().where(replaced))
        written = [c.name for c in target.columns]
        conn.execute(
            target.insert().from_select(
                written,
                sa.select(*[stage.c[c] for c in written]).where(
                    stage.c.merge_action.in_([INSERT, REPLACE])
                ),
            )
        )
        if history:
            versions.keep_rows(conn, stage, stage.c.merge_action == DUPLICATE)
        counts = conn.execute(
            sa.select(stage.c.source_file, stage.c.merge_action, sa.func.count()).group_by(
                stage.c.source_file, stage.c.merge_action
            )
        ).all()
    finally:
        stage.drop(conn)
    return Counter({(f, a): n for f, a, n in counts})
