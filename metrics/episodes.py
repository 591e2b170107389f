"""Failure episodes: a customer's failure tickets created within a window (default 7 days)
of the one before form one problem, measured once.

One row per episode, built on the ticket facts (so an episode's dimensions and period are
those of its first ticket, and filters and date ranges apply to its tickets):
- ``tta_minutes``: the first ticket's time to acknowledge;
- ``is_one_touch``: every ticket solved (as a ticket's one touch judges it: solved or closed,
  ``solved_at`` not after as_of), the one-touch rule of the preset on the sum of their agent
  replies (under the 2026-11 definitions, every ticket solved with a ``solved_at``);
- ``is_recovered``: every ticket solved and recovered (none reopened; under 2026-11 none rated
  bad either), NULL until all are solved; ``recovery_minutes``: from the first ticket's
  creation to the last solve;
- ``is_recovered_in_window``: recovered within the recovery window of its start (0 when
  solved otherwise, or still open past the window).
With ``count = "customers"`` all of a customer's failures are one episode.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.sql.expression import Subquery

from data_contracts.options import BEFORE_2026_12
from data_contracts.recovery_rules import one_touch_sql
from metrics.facts import NO_SCOPE, Scope, _flag, ticket_facts
from metrics.params import MetricParams, TimePoints
from warehouse.dialect import minutes_between

EPISODE_COLUMNS = frozenset(
    {"is_recovered", "recovery_minutes", "is_recovered_in_window", "tta_minutes", "is_one_touch"}
)


def episode_facts(points: TimePoints, params: MetricParams, scope: Scope = NO_SCOPE) -> Subquery:
    """One row per failure episode of the tickets in ``scope`` (see the module)."""
    tf = ticket_facts(points, params, scope=replace(scope, columns=None))
    f = tf.c
    # A ticket without a customer is an episode of its own.
    owner = sa.func.coalesce(f.ep_customer, sa.literal("#") + f.ep_source + "#" + f.ep_ticket)
    order = (f.ep_created, f.ep_source, f.ep_ticket)
    previous = sa.func.lag(f.ep_created).over(partition_by=owner, order_by=order)
    if params.count == "customers":
        starts = sa.case((previous.is_(None), 1), else_=0)
    else:
        window = float(params.episode_window_days) * 1440
        # A follow-up of another ticket continues the episode before it, whatever the gap.
        starts = sa.case(
            (previous.is_(None), 1),
            (f.ep_follow_up_of.is_not(None), 0),
            (minutes_between(previous, f.ep_created) > window, 1),
            else_=0,
        )
    # Only what episodes read goes through the window functions (they hold every column).
    dims = [c for c in tf.columns if c.name.startswith("d") and c.name[1:].isdigit()]
    if scope.grain:
        dims.append(f.period_start)
    needed = [
        *(f.ep_source, f.ep_ticket, f.ep_customer, f.ep_created),
        *(f.ep_solved_at, f.ep_is_solved, f.ep_replies),
    ]
    marked = (
        sa.select(
            *dims,
            *needed,
            f.tta_minutes,
            f.is_recovered,
            owner.label("owner"),
            starts.label("starts"),
        )
        .where(f.is_failure == 1.0)
        .subquery("failure_tickets")
    )
    m = marked.c
    morder = (m.ep_created, m.ep_source, m.ep_ticket)
    number = sa.func.sum(m.starts).over(partition_by=m.owner, order_by=morder, rows=(None, 0))
    numbered = sa.select(marked, number.label("episode")).subquery("numbered")
    n = numbered.c
    part = {"partition_by": (n.owner, n.episode)}
    per_episode = sa.select(
        numbered,
        sa.func.row_number()
        .over(**part, order_by=(n.ep_created, n.ep_source, n.ep_ticket))
        .label("rank"),
        sa.func.min(n.ep_created).over(**part).label("e_start"),
        sa.func.count().over(**part).label("e_tickets"),
        sa.func.count(n.is_recovered).over(**part).label("e_solved"),
        sa.func.sum(n.ep_is_solved).over(**part).label("e_is_solved"),
        sa.func.min(n.is_recovered).over(**part).label("e_all_recovered"),
        sa.func.max(n.ep_solved_at).over(**part).label("e_last_solved"),
        sa.func.sum(n.ep_replies).over(**part).label("e_replies"),
        sa.func.count(n.ep_replies).over(**part).label("e_replies_known"),
    ).subquery("episode_rows")
    e = per_episode.c
    solved = e.e_solved == e.e_tickets
    recovered = sa.and_(solved, e.e_all_recovered == 1.0)
    minutes = minutes_between(e.e_start, e.e_last_solved)
    window = sa.literal(float(params.recovery_window_hours) * 60, sa.Float())
    age = minutes_between(e.e_start, sa.literal(points.as_of, sa.DateTime()))
    # One touch judges an episode solved as it judges a ticket (a solved ticket without a
    # solved_at counts); the 2026-11 definitions asked every ticket for its solved_at.
    touch_solved = solved if params.definitions in BEFORE_2026_12 else e.e_is_solved == e.e_tickets
    replies_known = sa.and_(touch_solved, e.e_replies_known == e.e_tickets)
    # The one-touch rule on the episode's replies; known when every ticket's are.
    touch = one_touch_sql(e.e_replies, params.one_touch).holds
    carried = [e[c.name] for c in dims]
    return (
        sa.select(
            *carried,
            sa.literal(1.0, sa.Float()).label("is_episode"),
            # what a KPI's unit list shows (metrics/units): the first ticket, its customer
            e.ep_source,
            e.ep_ticket,
            e.ep_customer,
            e.e_start.label("ep_created"),
            e.e_tickets.label("ep_tickets"),
            e.tta_minutes,
            _flag((sa.and_(replies_known, touch), 1.0), (replies_known, 0.0)).label("is_one_touch"),
            _flag((recovered, 1.0), (solved, 0.0)).label("is_recovered"),
            sa.case((recovered, minutes)).label("recovery_minutes"),
            _flag(
                (sa.and_(recovered, minutes <= window), 1.0),
                (solved, 0.0),
                (age > window, 0.0),
            ).label("is_recovered_in_window"),
        )
        .where(e.rank == 1)
        .subquery("episode_facts")
    )
