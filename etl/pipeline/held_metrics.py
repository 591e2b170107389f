"""Apply ticket metrics that arrived separately from their tickets (Zendesk ticket_metrics).

Metrics wait in ``held_ticket_metrics`` until their ticket is in the warehouse; every run
applies whatever can be applied, from this run or an earlier one, and keeps the rest held.
For this run's metric rows whose ticket exists:
- ``rows_duplicates``: the ticket already carries metrics at least as new (its
  ``metrics_updated_at`` is not older than the row's ``updated_at``: a stale export never
  overwrites newer values), or exactly these values;
- ``rows_loaded``: the ticket was written in this run (new or newer version);
- ``rows_replaced``: the ticket was older and its metric values change.
Rows of earlier runs whose ticket is there now are counted as released (applied if newer).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from data_contracts.side_tables import FED_BY_METRICS
from etl.pipeline.version_order import sorts_after
from warehouse.dialect import add_minutes
from warehouse.schema import held_ticket_metrics as held
from warehouse.schema import tickets


@dataclass
class ApplyOutcome:
    per_file: Counter = field(default_factory=Counter)  # (source_file, count column) -> rows
    released: int = 0


def _match():
    return sa.and_(held.c.source == tickets.c.source, held.c.ticket_id == tickets.c.ticket_id)


def _new_values() -> dict[str, sa.ColumnElement]:
    """Ticket column -> its new value from the held row: the source time first, then every
    column the metrics feed (FED_BY_METRICS) in the held table's order."""
    first_reply = sa.case(
        (held.c.reply_minutes.is_(None), sa.null()),
        else_=add_minutes(tickets.c.created_at, held.c.reply_minutes),
    )
    converted = {
        "first_reply_at": first_reply,  # the metrics give minutes after created_at
        "metrics_updated_at": sa.func.coalesce(held.c.updated_at, tickets.c.metrics_updated_at),
    }
    fed = {name: converted.get(name, held.c[column]) for name, column in FED_BY_METRICS.items()}
    return {"metrics_updated_at": fed.pop("metrics_updated_at"), **fed}


def _is_stale() -> sa.ColumnElement[bool]:
    """The held row is not newer than the metrics the ticket already carries: dated metrics
    are replaced only by newer dated ones, never by undated ones; of the same source time,
    by values that sort after the ticket's (etl/pipeline/version_order.py, in the held table's
    column order: ``_new_values`` lists them so)."""
    carried = tickets.c.metrics_updated_at
    measured = {k: v for k, v in _new_values().items() if k != "metrics_updated_at"}
    tie_won = sorts_after(measured.values(), [tickets.c[name] for name in measured])
    return sa.and_(
        carried.is_not(None),
        sa.or_(
            held.c.updated_at.is_(None),
            held.c.updated_at < carried,
            sa.and_(held.c.updated_at == carried, sa.not_(tie_won)),
        ),
    )


def apply(conn: sa.Connection, batch_id: str) -> ApplyOutcome:
    values = _new_values()
    measured = {k: v for k, v in values.items() if k != "metrics_updated_at"}
    unchanged = sa.and_(*[tickets.c[name].is_not_distinct_from(v) for name, v in measured.items()])
    outcome_column = sa.case(
        (held.c.batch_id != batch_id, "released"),
        (_is_stale(), "rows_duplicates"),
        (tickets.c.batch_id == batch_id, "rows_loaded"),
        (unchanged, "rows_duplicates"),
        else_="rows_replaced",
    )
    applicable = conn.execute(
        sa.select(held.c.source_file, outcome_column, sa.func.count())
        .select_from(held.join(tickets, _match()))
        .group_by(held.c.source_file, outcome_column)
    ).all()
    outcome = ApplyOutcome()
    for source_file, column, n in applicable:
        if column == "released":
            outcome.released += n
        else:
            outcome.per_file[(source_file, column)] += n

    conn.execute(tickets.update().where(_match(), sa.not_(_is_stale())).values(values))
    conn.execute(held.delete().where(sa.exists().where(_match())))
    still_held = conn.execute(
        sa.select(held.c.source_file, sa.func.count())
        .where(held.c.batch_id == batch_id)
        .group_by(held.c.source_file)
    ).all()
    for source_file, n in still_held:
        outcome.per_file[(source_file, "rows_held")] += n
    return outcome
