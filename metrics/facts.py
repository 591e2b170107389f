"""Fact sets as SQLAlchemy subqueries: one row per ticket, customer or response, with the
flags and values the catalog's measures aggregate.

Every instant is a bound parameter (see params.TimePoints). A flag is 1.0 or 0.0, and NULL
for a row outside that flag's denominator.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, Select, Subquery

from metrics.params import MetricParams, TimePoints
from warehouse.dialect import has_any_tag, minutes_between, week_start
from warehouse.schema import customers, nps_responses, tickets

FAILURE_TYPES = ("incident", "problem")
SOLVED_STATUSES = ("solved", "closed")
NEVER_FAILED = "never_failed"


def _at(ts: dt.datetime) -> ColumnElement[dt.datetime]:
    return sa.literal(ts, sa.DateTime())


def _flag(*whens: tuple[ColumnElement[bool], float]) -> ColumnElement[float]:
    """1.0 / 0.0 by the first matching condition; NULL (outside the denominator) if none."""
    return sa.case(*((cond, sa.literal(value, sa.Float())) for cond, value in whens))


def _always_flag(condition: ColumnElement[bool]) -> ColumnElement[float]:
    """1.0 where ``condition`` holds, else 0.0 (``condition`` is never NULL)."""
    return _flag((condition, 1.0), (sa.true(), 0.0))


def latest_timestamp_query() -> Select:
    """One row: the latest value of every event timestamp in the warehouse (NULLs when empty)."""
    columns = [
        tickets.c.created_at,
        tickets.c.first_reply_at,
        tickets.c.solved_at,
        tickets.c.updated_at,
        nps_responses.c.responded_at,
        customers.c.signup_at,
        customers.c.churned_at,
    ]
    return sa.select(*(sa.select(sa.func.max(col)).scalar_subquery() for col in columns))


def ticket_facts(
    points: TimePoints, params: MetricParams, since: dt.datetime | None = None
) -> Subquery:
    """One row per ticket created at or before as_of (and at or after ``since``).

    Columns: week_start, tta_minutes (NULL when unacknowledged at as_of), is_within_target,
    is_one_touch, is_handoff.
    """
    t = tickets.c
    as_of = points.as_of
    is_acknowledged = sa.and_(t.first_reply_at.is_not(None), t.first_reply_at <= as_of)
    is_solved = sa.and_(
        t.status.in_(SOLVED_STATUSES), sa.or_(t.solved_at.is_(None), t.solved_at <= as_of)
    )
    tta_minutes = minutes_between(t.created_at, t.first_reply_at)
    target = sa.literal(float(params.target_minutes), sa.Float())
    is_overdue = sa.and_(~is_solved, minutes_between(t.created_at, _at(as_of)) > target)
    has_stations = sa.or_(t.assignee_stations.is_not(None), t.group_stations.is_not(None))
    is_handed_off = sa.or_(
        sa.func.coalesce(t.assignee_stations, 0) > 1, sa.func.coalesce(t.group_stations, 0) > 1
    )
    query = sa.select(
        week_start(t.created_at).label("week_start"),
        sa.case((is_acknowledged, tta_minutes)).label("tta_minutes"),
        _flag(
            (sa.and_(is_acknowledged, tta_minutes <= target), 1.0),
            (is_acknowledged, 0.0),
            (is_overdue, 0.0),
        ).label("is_within_target"),
        _flag(
            (sa.and_(is_solved, t.agent_replies <= 1), 1.0),
            (sa.and_(is_solved, t.agent_replies > 1), 0.0),
        ).label("is_one_touch"),
        _flag(
            (sa.and_(is_solved, has_stations, is_handed_off), 1.0),
            (sa.and_(is_solved, has_stations), 0.0),
        ).label("is_handoff"),
    ).where(t.created_at <= as_of)
    if since is not None:
        query = query.where(t.created_at >= since)
    return query.subquery("ticket_facts")


def is_failure(failure_tags: tuple[str, ...]) -> ColumnElement[bool]:
    """A service failure: type incident or problem, or any failure tag."""
    return sa.or_(
        sa.func.coalesce(tickets.c.type.in_(FAILURE_TYPES), False),
        has_any_tag(tickets.c.tags, failure_tags),
    )


def failed_customers_at(t: dt.datetime, failure_tags: tuple[str, ...]) -> Subquery:
    """One row per customer with a failure ticket created at or before ``t``.

    Columns: customer_id, recovery_group (unrecovered | in_recovery | recovered),
    last_solved_at (the latest solved_at, at or before ``t``, of those tickets).
    """
    c = tickets.c
    is_solved = sa.and_(c.solved_at.is_not(None), c.solved_at <= t)
    is_not_recovered = sa.or_(
        sa.func.coalesce(c.reopens, 0) > 0, c.csat.is_not_distinct_from("bad")
    )
    count_unrecovered = sa.func.sum(sa.case((sa.and_(is_solved, is_not_recovered), 1), else_=0))
    count_unsolved = sa.func.sum(sa.case((is_solved, 0), else_=1))
    per_customer = (
        sa.select(
            c.customer_id,
            count_unrecovered.label("count_unrecovered"),
            count_unsolved.label("count_unsolved"),
            sa.func.max(sa.case((is_solved, c.solved_at))).label("last_solved_at"),
        )
        .where(c.created_at <= t, is_failure(failure_tags))
        .group_by(c.customer_id)
        .subquery("failure_counts")
    )
    p = per_customer.c
    recovery_group = sa.case(
        (p.count_unrecovered > 0, "unrecovered"),
        (p.count_unsolved > 0, "in_recovery"),
        else_="recovered",
    )
    return sa.select(
        p.customer_id, recovery_group.label("recovery_group"), p.last_solved_at
    ).subquery("failed_customers")


def _is_active_at(t: dt.datetime) -> ColumnElement[bool]:
    c = customers.c
    return sa.and_(c.signup_at <= t, sa.or_(c.churned_at.is_(None), c.churned_at > t))


def retention_facts(points: TimePoints, params: MetricParams) -> Subquery:
    """One row per customer active at t0: recovery_group at t0, is_retained at t0 + H."""
    c = customers.c
    failed = failed_customers_at(points.retention_start, params.failure_tags)
    is_retained = sa.or_(c.churned_at.is_(None), c.churned_at > points.retention_end)
    return (
        sa.select(
            sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED).label("recovery_group"),
            _always_flag(is_retained).label("is_retained"),
        )
        .select_from(customers.outerjoin(failed, failed.c.customer_id == c.customer_id))
        .where(_is_active_at(points.retention_start))
        .subquery("retention_facts")
    )


def attrition_facts(points: TimePoints, params: MetricParams) -> Subquery:
    """One row per customer active at as_of - 365 days: is_churned by as_of."""
    c = customers.c
    is_churned = sa.and_(c.churned_at.is_not(None), c.churned_at <= points.as_of)
    return (
        sa.select(_always_flag(is_churned).label("is_churned"))
        .where(_is_active_at(points.attrition_start))
        .subquery("attrition_facts")
    )


def nps_facts(points: TimePoints, params: MetricParams) -> Subquery:
    """One row per NPS response in (as_of - 365 days, as_of]: nps_points (+100, 0, -100) and
    the responder's recovery group at as_of; NULL group for a recovered customer's response
    given before (or when) their last failure was solved."""
    r = nps_responses.c
    failed = failed_customers_at(points.as_of, params.failure_tags)
    recovery_group = sa.case(
        (failed.c.recovery_group.is_(None), NEVER_FAILED),
        (failed.c.recovery_group != "recovered", failed.c.recovery_group),
        (r.responded_at > failed.c.last_solved_at, "recovered"),
    )
    nps_points = sa.case((r.score >= 9, 100.0), (r.score <= 6, -100.0), else_=0.0)
    return (
        sa.select(
            sa.cast(nps_points, sa.Float()).label("nps_points"),
            recovery_group.label("recovery_group"),
        )
        .select_from(nps_responses.outerjoin(failed, failed.c.customer_id == r.customer_id))
        .where(r.responded_at > points.nps_start, r.responded_at <= points.as_of)
        .subquery("nps_facts")
    )


FACT_SETS = {
    "tickets": ticket_facts,
    "retention": retention_facts,
    "attrition": attrition_facts,
    "nps": nps_facts,
}
