"""Which of two versions of a row wins: the one rule that the merges (etl/pipeline/merge.py), a
run's ranking of its own rows (etl/pipeline/staging.py), held ticket metrics
(etl/pipeline/held_metrics.py) and the ticket history (etl/pipeline/versions.py) share;
docs/loading.md, "Nothing stale wins".

The later source time (``updated_at``) wins. Of versions with the same ``updated_at``, the
one whose content sorts greatest wins: its ``content_terms`` compared one by one, a null below
any value, text by code point (on both warehouses). Equal content is one version seen twice.
So the winner depends only on which versions were loaded: never on the order of the files,
of the rows in a file, or on how the files were split into runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy.sql.expression import ColumnElement

from data_contracts.contract import BOOKKEEPING
from data_contracts.side_tables import FED_BY_METRICS
from warehouse.dialect import code_point_order
from warehouse.schema import VERSIONED_COLUMNS

Row = Mapping[str, ColumnElement]  # one side's columns by name (a table's ``.c``)


def _ordered(value: ColumnElement) -> ColumnElement:
    if isinstance(value.type, (sa.String, sa.ARRAY)):
        return code_point_order(value)
    return value


def history_terms(row: Row, own_metrics: ColumnElement[bool]) -> list[ColumnElement]:
    """The content of a ticket version that the history keeps (``VERSIONED_COLUMNS``), in
    order: the first terms of ``content_terms`` for tickets, so that the history and the
    tickets table pick the same winner. Metric values count only where the version carries
    them itself (``own_metrics``): a Zendesk ticket's come in their own stream, and the
    stored row holds whatever arrived there."""
    return [
        _ordered(sa.case((own_metrics, row[name])) if name in FED_BY_METRICS else row[name])
        for name in VERSIONED_COLUMNS
    ]


def has_own_metrics(row: Row) -> ColumnElement[bool]:
    """A ticket version carries its metric values itself: it names no source requester (a
    Zendesk ticket names one, and its metrics come separately, etl/pipeline/stage.py)."""
    return row["source_user_id"].is_(None)


def _ticket_terms(table: sa.Table, row: Row) -> list[ColumnElement]:
    own = has_own_metrics(row)
    # customer_id follows the source user (apply.map_tickets_to_customers) where there is one
    identity = [row["source_user_id"], sa.case((own, row["customer_id"]))]
    done = {*table.primary_key.columns.keys(), "updated_at", *BOOKKEEPING, *VERSIONED_COLUMNS}
    done |= {"customer_id", "source_user_id", "metrics_updated_at"}  # metrics: as new as the row
    rest = [
        sa.case((own, row[c.name])) if c.name in FED_BY_METRICS else row[c.name]
        for c in table.columns
        if c.name not in done
    ]
    return [*history_terms(row, own), *(_ordered(term) for term in (*identity, *rest))]


def content_terms(table: sa.Table, row: Row) -> list[ColumnElement]:
    """What orders ``row``'s versions of ``table`` that share an ``updated_at``, most
    significant first: every stored column but the key, the source time and bookkeeping, in
    the table's order; tickets put the versioned columns first (``history_terms``)."""
    if table.name == "tickets":
        return _ticket_terms(table, row)
    skipped = {*table.primary_key.columns.keys(), "updated_at", *BOOKKEEPING}
    return [_ordered(row[c.name]) for c in table.columns if c.name not in skipped]


def sorts_after(left: Iterable[ColumnElement], right: Iterable[ColumnElement]) -> ColumnElement:
    """``left``'s terms sort after ``right``'s, compared one by one (a null below any value);
    true or false, never null."""
    after: ColumnElement = sa.false()
    for a, b in reversed(list(zip(left, right, strict=True))):
        above = sa.case((a.is_(None), sa.false()), (b.is_(None), sa.true()), else_=a > b)
        after = sa.or_(above, sa.and_(a.is_not_distinct_from(b), after))
    return after


def staged_ranking(table: sa.Table, staged: Iterable[str]) -> str:
    """The ORDER BY of a window that puts the winning version of ``table`` first among a
    run's staged rows (the staging database, always DuckDB, has the ``staged`` columns).

    Undated rows come last, the one read last first (the later load wins where there is no
    source time); dated ones by source time, then content, then the one read last (equal
    content: one version, whichever copy)."""
    present = set(staged)
    row = {
        c.name: sa.column(c.name, c.type) if c.name in present else sa.null() for c in table.columns
    }
    load_order = sa.column("load_order")
    order = [sa.desc(load_order)]
    if "updated_at" in table.c:
        updated_at = row["updated_at"]
        terms = [sa.desc(term).nulls_last() for term in content_terms(table, row)]
        undated_by_load = sa.case((updated_at.is_(None), load_order))
        order = [
            sa.desc(updated_at).nulls_last(),
            sa.desc(undated_by_load).nulls_last(),
            *terms,
            *order,
        ]
    dialect = DuckDBDialect()
    compiled = [o.compile(dialect=dialect, compile_kwargs={"literal_binds": True}) for o in order]
    return ", ".join(str(c) for c in compiled)
