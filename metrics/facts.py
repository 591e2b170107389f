"""Fact sets as SQLAlchemy subqueries: one row per ticket, customer or response, with the
flags and values the catalog's measures aggregate.

Every instant is a bound parameter (see params.TimePoints). A flag is 1.0 or 0.0, and NULL
for a row outside that flag's denominator.

A ``Scope`` narrows and slices the facts: its dimensions become columns ``d0``, ``d1``,
its grain a ``period_start`` column, its filters WHERE clauses. Customer fact sets are
measured at one or more ``Window`` rows (one per period under a grain, else one at as_of):
a customer row per window, so each period's retention and attrition are measured at the
period's end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, Select, Subquery

from data_contracts.recovery_rules import (
    GROUPS_SINCE_BEGINNING,
    IN_RECOVERY,
    NEVER_FAILED,
    RECOVERED,
    SOLVED_STATUSES,
    UNRECOVERED,
    handoff_sql,
    is_failure_sql,
    is_put_right_sql,
    one_touch_sql,
    recovery_group_sql,
)
from data_contracts.times import utc_now
from metrics.dimensions import Dimension, Sources, expression
from metrics.live import tickets
from metrics.params import MetricParams, TimePoints
from warehouse.dialect import (
    add_days,
    has_any_tag,
    local_period_start,
    minutes_between,
    week_start,
)
from warehouse.schema import (
    METRIC_COLUMNS,
    VERSIONED_COLUMNS,
    customers,
    etl_runs,
    nps_responses,
    ticket_ratings,
    ticket_versions,
)


def _at(ts: dt.datetime) -> ColumnElement[dt.datetime]:
    return sa.literal(ts, sa.DateTime())


def _flag(*whens: tuple[ColumnElement[bool], float]) -> ColumnElement[float]:
    """1.0 / 0.0 by the first matching condition; NULL (outside the denominator) if none."""
    return sa.case(*((cond, sa.literal(value, sa.Float())) for cond, value in whens))


def _always_flag(condition: ColumnElement[bool]) -> ColumnElement[float]:
    """1.0 where ``condition`` holds, else 0.0 (``condition`` is never NULL)."""
    return _flag((condition, 1.0), (sa.true(), 0.0))


def latest_timestamp_query(now: dt.datetime | None = None) -> Select:
    """One row: the latest value of every event timestamp in the warehouse (NULLs when
    empty) that is not after the end of its last successful load, else ``now`` (default: the
    current time, naive UTC) for rows stored without a recorded load. A value after that was
    in the future when the warehouse learnt it (a contract's scheduled churn, a far
    placeholder date): it never becomes the default as_of."""
    loaded = (
        sa.select(sa.func.max(etl_runs.c.ended_at))
        .where(etl_runs.c.status == "succeeded")
        .scalar_subquery()
    )
    known = sa.func.coalesce(loaded, _at(now or utc_now()))
    columns = [
        tickets.c.created_at,
        tickets.c.first_reply_at,
        tickets.c.solved_at,
        tickets.c.updated_at,
        nps_responses.c.responded_at,
        customers.c.signup_at,
        customers.c.churned_at,
    ]
    return sa.select(
        *(sa.select(sa.func.max(col)).where(col <= known).scalar_subquery() for col in columns)
    )


BEGINNING = dt.datetime(1900, 1, 1)  # the start of a ticket's first version's validity
NEVER = dt.datetime(9999, 12, 31)  # the churn time of a customer who has not churned


def has_history(conn: sa.Connection) -> bool:
    """Whether any ticket has an earlier version or a dated rating: without either, every
    ticket's state at any instant is its current row, and the queries skip the history."""
    found = conn.execute(
        sa.select(sa.exists().select_from(ticket_versions), sa.exists().select_from(ticket_ratings))
    ).one()
    return any(found)


def _versioned(columns) -> list[ColumnElement]:
    return [columns[name] for name in VERSIONED_COLUMNS]


def ticket_states(history: bool) -> Subquery:
    """One row per ticket version: source, ticket_id, the versioned columns, and the
    interval [valid_from, valid_to) it is the ticket's state in.

    The first version loaded also stands for the time before it (valid from BEGINNING: a
    ticket's state before its first known version is read from that version); the latest is
    valid until NEVER. Without history, each ticket's one row, valid always.
    """
    t = tickets.c
    if not history:
        return sa.select(
            t.source,
            t.ticket_id,
            *(t[name] for name in VERSIONED_COLUMNS),
            _at(BEGINNING).label("valid_from"),
            _at(NEVER).label("valid_to"),
        ).subquery("ticket_states")
    v = ticket_versions.c
    # A version that came without metric values (a Zendesk ticket: its metrics have their
    # own stream) reads the ticket's current ones.
    without_metrics = v.metrics_updated_at.is_(None)
    earlier = [
        sa.case((without_metrics, t[name]), else_=v[name]).label(name)
        if name in METRIC_COLUMNS
        else v[name]
        for name in VERSIONED_COLUMNS
    ]
    every = sa.union_all(
        sa.select(
            t.source, t.ticket_id, t.updated_at.label("since"), *(t[n] for n in VERSIONED_COLUMNS)
        ),
        sa.select(v.source, v.ticket_id, v.valid_from.label("since"), *earlier).select_from(
            ticket_versions.join(tickets, sa.and_(t.source == v.source, t.ticket_id == v.ticket_id))
        ),
    ).subquery("ticket_versions_all")
    e = every.c
    order = {"partition_by": (e.source, e.ticket_id), "order_by": e.since.asc().nulls_first()}
    ranked = sa.select(
        every,
        sa.func.row_number().over(**order).label("version"),
        sa.func.lead(e.since).over(**order).label("next_since"),
    ).subquery("ranked_versions")
    r = ranked.c
    versions = sa.select(
        r.source,
        r.ticket_id,
        *(r[name] for name in VERSIONED_COLUMNS),
        sa.case((r.version == 1, _at(BEGINNING)), else_=r.since).label("valid_from"),
        sa.func.coalesce(r.next_since, _at(NEVER)).label("valid_to"),
    ).subquery("version_states")
    return _with_ratings(versions)


def _with_ratings(versions: Subquery) -> Subquery:
    """Version states cut at the times a ticket's satisfaction ratings were given: where a
    ticket has dated ratings, its CSAT at t is the latest rating given by t ('offered' before
    the first, where the version already knows a good or bad score)."""
    g = ticket_ratings.c
    order = {"partition_by": (g.source, g.ticket_id), "order_by": (g.updated_at, g.rating_id)}
    given = sa.select(
        g.source,
        g.ticket_id,
        g.score,
        g.updated_at.label("r_from"),
        sa.func.coalesce(sa.func.lead(g.updated_at).over(**order), _at(NEVER)).label("r_to"),
    )
    before = sa.select(
        g.source,
        g.ticket_id,
        sa.null().cast(sa.String()).label("score"),
        _at(BEGINNING).label("r_from"),
        sa.func.min(g.updated_at).label("r_to"),
    ).group_by(g.source, g.ticket_id)
    spans = sa.union_all(given, before).subquery("rating_spans")
    v, p = versions.c, spans.c
    overlap = sa.and_(
        p.source == v.source,
        p.ticket_id == v.ticket_id,
        p.r_from < v.valid_to,
        p.r_to > v.valid_from,
    )
    rated = p.ticket_id.is_not(None)
    csat = sa.case(
        (~rated, v.csat),
        (p.score.is_not(None), p.score),
        (v.csat.in_(("good", "bad")), "offered"),
        else_=v.csat,
    )
    return (
        sa.select(
            v.source,
            v.ticket_id,
            *(csat.label(name) if name == "csat" else v[name] for name in VERSIONED_COLUMNS),
            sa.case((rated, sa.func.greatest(v.valid_from, p.r_from)), else_=v.valid_from).label(
                "valid_from"
            ),
            sa.case((rated, sa.func.least(v.valid_to, p.r_to)), else_=v.valid_to).label("valid_to"),
        )
        .select_from(versions.outerjoin(spans, overlap))
        .subquery("ticket_states")
    )


def _valid_at(states: Subquery, at: ColumnElement | dt.datetime) -> ColumnElement[bool]:
    at = _at(at) if isinstance(at, dt.datetime) else at
    return sa.and_(states.c.valid_from <= at, states.c.valid_to > at)


@dataclass(frozen=True)
class Window:
    """One measuring point of the customer fact sets: the period it reports (None without a
    grain) and its instants, all naive UTC."""

    period_start: dt.date | None
    end: dt.datetime  # the period's end (capped at as_of), or as_of
    t0: dt.datetime  # end - H: retention's starting point
    year_start: dt.datetime  # end - 365 days: attrition and failure rate look since then
    # Monthly attrition counts churn in (month_start, month_end]; None: a period with no
    # full month to measure (metrics.slices).
    month_start: dt.datetime | None
    month_end: dt.datetime
    mtd_start: dt.datetime  # the start of end's calendar month: attrition month to date


@dataclass(frozen=True)
class Scope:
    """What a slice asks of the facts (the default: every fact, no slicing)."""

    dims: tuple[Dimension, ...] = ()
    filters: tuple[tuple[Dimension, tuple], ...] = ()  # dimension, values (as stored)
    grain: str | None = None
    since: dt.datetime | None = None  # tickets created and responses given from then on
    windows: tuple[Window, ...] = ()  # customer fact sets: where to measure (default as_of)
    business_intervals: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    scheduled: bool = False  # a business schedule is configured (its intervals may be none)
    columns: frozenset[str] | None = None  # the measure columns asked for (None: all)
    history: bool = False  # the warehouse holds earlier ticket versions (has_history)

    def wants(self, column: str) -> bool:
        return self.columns is None or column in self.columns

    def used(self) -> tuple[Dimension, ...]:
        return (*self.dims, *(dim for dim, _ in self.filters))

    def uses(self, kind: str) -> bool:
        return any(dim.kind == kind for dim in self.used())

    def uses_level(self, level: str) -> bool:
        return any(dim.level == level for dim in self.used())


NO_SCOPE = Scope()


def default_window(points: TimePoints) -> Window:
    """The one measuring point without a grain: as_of."""
    return Window(
        None,
        points.as_of,
        points.retention_start,
        points.attrition_start,
        points.attrition_month_start,
        points.attrition_month_end,
        points.month_start,
    )


def _windows(scope: Scope, points: TimePoints) -> sa.Values:
    rows = scope.windows or (default_window(points),)
    columns = [
        sa.column("w_id", sa.Integer()),
        sa.column("period_start", sa.Date()),
        sa.column("w_end", sa.DateTime()),
        sa.column("w_t0", sa.DateTime()),
        sa.column("w_year_start", sa.DateTime()),
        sa.column("w_month_start", sa.DateTime()),
        sa.column("w_month_end", sa.DateTime()),
        sa.column("w_mtd_start", sa.DateTime()),
    ]
    data = [
        (i, w.period_start, w.end, w.t0, w.year_start, w.month_start, w.month_end, w.mtd_start)
        for i, w in enumerate(rows)
    ]
    return sa.values(*columns, name="w").data(data)


def _sliced(
    columns: list[ColumnElement],
    scope: Scope,
    src: Sources,
    params: MetricParams,
    period: ColumnElement | None,
) -> tuple[list[ColumnElement], list[ColumnElement]]:
    """Dimension and period columns to add, and the filter conditions."""
    added = [expression(dim, src, params).label(f"d{i}") for i, dim in enumerate(scope.dims)]
    if period is not None:
        added.append(period.label("period_start"))
    conditions = [expression(dim, src, params).in_(values) for dim, values in scope.filters]
    return columns + added, conditions


def _business_minutes(scope: Scope, as_of: dt.datetime) -> Subquery:
    """Per acknowledged ticket without source business minutes: its business minutes from
    creation to first reply on the schedule's intervals (tickets with none have no row)."""
    t = tickets.c
    columns = [sa.column("b_start", sa.DateTime()), sa.column("b_end", sa.DateTime())]
    b = sa.values(*columns, name="b").data(list(scope.business_intervals))
    overlap = minutes_between(
        sa.func.greatest(b.c.b_start, t.created_at), sa.func.least(b.c.b_end, t.first_reply_at)
    )
    return (
        sa.select(t.source, t.ticket_id, sa.func.sum(overlap).label("business_minutes"))
        .select_from(
            tickets.join(b, sa.and_(b.c.b_start < t.first_reply_at, b.c.b_end > t.created_at))
        )
        .where(
            t.first_reply_business_minutes.is_(None),
            t.first_reply_at.is_not(None),
            t.first_reply_at <= as_of,
        )
        .group_by(t.source, t.ticket_id)
        .subquery("business_tta")
    )


def _business_age(scope: Scope, as_of: dt.datetime) -> Subquery:
    """Per ticket not acknowledged by as_of (its current row), its business minutes from
    creation to as_of on the schedule's intervals (tickets with none have no row)."""
    t = tickets.c
    columns = [sa.column("b_start", sa.DateTime()), sa.column("b_end", sa.DateTime())]
    b = sa.values(*columns, name="b").data(list(scope.business_intervals))
    end = _at(as_of)
    overlap = minutes_between(
        sa.func.greatest(b.c.b_start, t.created_at), sa.func.least(b.c.b_end, end)
    )
    return (
        sa.select(t.source, t.ticket_id, sa.func.sum(overlap).label("business_age"))
        .select_from(tickets.join(b, sa.and_(b.c.b_start < end, b.c.b_end > t.created_at)))
        .where(t.created_at <= as_of, sa.or_(t.first_reply_at.is_(None), t.first_reply_at > as_of))
        .group_by(t.source, t.ticket_id)
        .subquery("business_age")
    )


class _StateColumns:
    """A ticket's columns, the versioned ones read from a ticket state: ``c.status`` etc."""

    def __init__(self, table: sa.Table, states: Subquery):
        self._table, self._states = table, states

    def __getitem__(self, name: str) -> ColumnElement:
        return (self._states if name in VERSIONED_COLUMNS else self._table).c[name]

    def __getattr__(self, name: str) -> ColumnElement:
        return self[name]


def ticket_facts(
    points: TimePoints,
    params: MetricParams,
    since: dt.datetime | None = None,
    scope: Scope = NO_SCOPE,
) -> Subquery:
    """One row per ticket created at or before as_of (and at or after ``since``).

    Columns: week_start, tta_minutes (NULL when unacknowledged at as_of), is_within_target,
    is_one_touch, is_handoff and the analyst measures of the catalog.
    """
    as_of = points.as_of
    since = scope.since if since is None else since
    # The conditions many measures share are computed once per ticket, in an inner select:
    # the measures' CASE branches then read plain columns (several times faster on DuckDB).
    # With history, what changes between versions is read from the version valid at as_of.
    c = tickets.c
    ticket_columns: list = [tickets]
    source: sa.FromClause = tickets
    if scope.history:
        states = ticket_states(True)
        c = _StateColumns(tickets, states)
        ticket_columns = [c[col.name].label(col.name) for col in tickets.columns]
        source = tickets.join(
            states,
            sa.and_(
                states.c.source == tickets.c.source,
                states.c.ticket_id == tickets.c.ticket_id,
                _valid_at(states, as_of),
            ),
        )
    base = (
        sa.select(
            *ticket_columns,
            sa.and_(c.first_reply_at.is_not(None), c.first_reply_at <= as_of).label("is_ack"),
            # replied, but when is not known (a bracket only): not a miss, not a time
            sa.and_(c.first_reply_at.is_(None), c.first_reply_bracket.is_not(None)).label(
                "is_reply_unknown"
            ),
            sa.and_(
                c.status.in_(SOLVED_STATUSES), sa.or_(c.solved_at.is_(None), c.solved_at <= as_of)
            ).label("is_solved"),
            is_failure(params.failure_tags).label("is_fail"),
            minutes_between(c.created_at, _at(as_of)).label("age_minutes"),
            minutes_between(c.created_at, c.first_reply_at).label("reply_minutes"),
            minutes_between(c.created_at, c.solved_at).label("solve_minutes"),
        )
        .select_from(source)
        .where(c.created_at <= as_of)
    )
    if since is not None:
        base = base.where(c.created_at >= since)
    # OFFSET 0 keeps PostgreSQL from folding this select into the outer one (which would
    # evaluate each shared condition once per measure that reads it); DuckDB needs no fence.
    base = base.suffix_with("OFFSET 0", dialect="postgresql").subquery("t")
    t = base.c
    is_acknowledged = t.is_ack
    is_solved = t.is_solved
    age = t.age_minutes
    tta_minutes = t.reply_minutes
    target = sa.literal(float(params.target_minutes), sa.Float())
    is_overdue = sa.and_(~is_solved, age > target, ~t.is_reply_unknown)
    handoff = handoff_sql(t.assignee_stations, t.group_stations)
    touch = one_touch_sql(t.agent_replies, params.one_touch)
    one_touch = _flag(
        (sa.and_(is_solved, touch.holds), 1.0), (sa.and_(is_solved, touch.known), 0.0)
    )
    failure = t.is_fail
    has_solve_time = sa.and_(is_solved, t.solved_at.is_not(None))
    solved_failure = sa.and_(failure, has_solve_time)
    recovered = sa.and_(solved_failure, is_put_right_sql(t.reopens, t.csat, params.definitions))
    resolution = t.solve_minutes
    window = sa.literal(float(params.recovery_window_hours) * 60, sa.Float())
    source_business = sa.cast(t.first_reply_business_minutes, sa.Double())

    from_clause = base
    src_customers = recovery = None
    if scope.uses_level("customer"):
        from_clause = from_clause.outerjoin(customers, customers.c.customer_id == t.customer_id)
        src_customers = customers
    if scope.uses("recovery"):
        failed = failed_customers(
            _windows(NO_SCOPE, points), "w_end", params, history=scope.history
        )
        from_clause = from_clause.outerjoin(failed, failed.c.customer_id == t.customer_id)
        recovery = sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED)
    business = source_business
    if scope.business_intervals:
        bh = _business_minutes(scope, as_of)
        from_clause = from_clause.outerjoin(
            bh, sa.and_(bh.c.source == t.source, bh.c.ticket_id == t.ticket_id)
        )
        business = sa.func.coalesce(source_business, bh.c.business_minutes, 0.0)
    elif scope.scheduled:  # a schedule without open hours in the tickets' span: no time passed
        business = sa.func.coalesce(source_business, 0.0)
    # An unacknowledged ticket is overdue in business time once its business age passes the
    # target: counted only on a schedule (a source's business minutes come with the reply).
    business_overdue = sa.false()
    if scope.business_intervals and scope.wants("is_business_within_target"):
        ba = _business_age(scope, as_of)
        from_clause = from_clause.outerjoin(
            ba, sa.and_(ba.c.source == t.source, ba.c.ticket_id == t.ticket_id)
        )
        business_overdue = sa.and_(
            ~is_acknowledged, ~is_solved, ~t.is_reply_unknown, ba.c.business_age > target
        )

    columns = [
        week_start(t.created_at).label("week_start"),
        sa.case((is_acknowledged, tta_minutes)).label("tta_minutes"),
        _flag(
            (sa.and_(is_acknowledged, tta_minutes <= target), 1.0),
            (is_acknowledged, 0.0),
            (is_overdue, 0.0),
        ).label("is_within_target"),
        one_touch.label("is_one_touch"),
        _flag(
            (sa.and_(is_solved, handoff.known, handoff.holds), 1.0),
            (sa.and_(is_solved, handoff.known), 0.0),
        ).label("is_handoff"),
        sa.literal(1.0, sa.Float()).label("is_ticket"),
        _flag(
            (sa.and_(is_solved, t.reopens > 0), 1.0), (sa.and_(is_solved, t.reopens == 0), 0.0)
        ).label("is_reopened"),
        _flag((t.csat == "good", 1.0), (t.csat == "bad", 0.0)).label("is_csat_good"),
        _flag((t.csat.in_(("good", "bad")), 1.0), (t.csat == "offered", 0.0)).label(
            "is_csat_rated"
        ),
        sa.case((has_solve_time, resolution)).label("resolution_minutes"),
        sa.case(
            (
                sa.and_(t.first_resolution_minutes.is_not(None), t.first_resolution_minutes <= age),
                sa.cast(t.first_resolution_minutes, sa.Double()),
            )
        ).label("first_resolution_minutes"),
        _always_flag(failure).label("is_failure"),
        _flag((recovered, 1.0), (solved_failure, 0.0)).label("is_recovered"),
        sa.case((recovered, resolution)).label("recovery_minutes"),
        _flag(
            (sa.and_(recovered, resolution <= window), 1.0),
            (solved_failure, 0.0),
            (sa.and_(failure, ~is_solved, age > window), 0.0),
        ).label("is_recovered_in_window"),
        sa.case((is_acknowledged, business)).label("business_tta_minutes"),
        _flag(
            (sa.and_(is_acknowledged, business <= target), 1.0),
            (sa.and_(is_acknowledged, business.is_not(None)), 0.0),
            (business_overdue, 0.0),
        ).label("is_business_within_target"),
        # What failure episodes are built from (metrics/episodes.py).
        t.source.label("ep_source"),
        t.ticket_id.label("ep_ticket"),
        t.customer_id.label("ep_customer"),
        t.created_at.label("ep_created"),
        sa.case((has_solve_time, t.solved_at)).label("ep_solved_at"),
        _always_flag(is_solved).label("ep_is_solved"),  # solved as one touch judges it
        t.agent_replies.label("ep_replies"),
        t.follow_up_of.label("ep_follow_up_of"),
        # What the ticket list shows beside the measures (metrics/tickets.py).
        t.status.label("t_status"),
        t.reopens.label("t_reopens"),
        t.csat.label("t_csat"),
    ]
    src = Sources(base, src_customers, recovery, t.created_at)
    period = (
        local_period_start(t.created_at, scope.grain, params.reporting_timezone)
        if scope.grain
        else None
    )
    columns, conditions = _sliced(columns, scope, src, params, period)
    query = sa.select(*columns).select_from(from_clause).where(*conditions)
    return query.subquery("ticket_facts")


def is_failure(failure_tags: tuple[str, ...]) -> ColumnElement[bool]:
    """Whether a row of ``tickets`` is a service failure (data_contracts.recovery_rules)."""
    return is_failure_sql(tickets.c.type, tickets.c.tags, failure_tags, has_any_tag)


def lookback_days(params: MetricParams) -> int | None:
    """How many days before t a customer's failures group them at t: None under a set of
    definitions that looks at every failure since the data begins."""
    return None if params.definitions in GROUPS_SINCE_BEGINNING else params.lookback_days


def lookback_start(at: dt.datetime, params: MetricParams) -> dt.datetime:
    """The first instant before ``at`` that the current rule's look-back excludes: failures
    created in ``(lookback_start, at]`` group a customer at ``at``."""
    return at - dt.timedelta(days=params.lookback_days)


def failed_customers(
    windows: sa.FromClause,
    at: str,
    params: MetricParams,
    last_solved_before: dt.datetime | None = None,
    history: bool = False,
) -> Subquery:
    """One row per customer and window with a failure ticket that groups them at the
    window's instant ``at`` (a column of ``windows``): under the 2026-12 definitions one
    created in the look-back ``(at - params.lookback_days, at]``, under 2026-11 any created
    at or before ``at``.

    ``windows`` numbers its rows in ``w_id`` (joins match on it: an equality every warehouse
    can hash). Columns: customer_id, w_id, recovery_group (unrecovered | in_recovery |
    recovered), and with ``last_solved_before`` last_solved_at: for a customer recovered
    then, when their last failure was solved (under 2026-12 the last of the look-back at
    the window's instant, which the caller puts at ``last_solved_before``; under 2026-11 the
    latest solved_at of the failures created at or before ``last_solved_before``).

    A failure's state at t is its version valid at t (``ticket_states``; without history,
    its one row); it is recovered by the rule of ``params.definitions``.
    """
    days = lookback_days(params)
    if days is None:
        return _failed_customers_since_beginning(windows, at, params, last_solved_before, history)
    failures = _failures(params, history)
    c = failures.c
    t = windows.c[at]
    # Each failure of the look-back, in its version valid at t: a range join that gives
    # each customer's window a row per failure it looks at.
    looked_at = sa.and_(c.created_at <= t, add_days(c.created_at, float(days)) > t)
    if history:
        looked_at = sa.and_(looked_at, c.valid_from <= t, c.valid_to > t)
    is_solved = sa.and_(c.solved_at.is_not(None), c.solved_at <= t)
    put_right = is_put_right_sql(c.reopens, c.csat, params.definitions)

    def any_of(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return sa.func.max(sa.case((condition, 1), else_=0)) == 1

    recovery_group = recovery_group_sql(
        {UNRECOVERED: any_of(sa.and_(is_solved, ~put_right)), IN_RECOVERY: any_of(~is_solved)}
    )
    columns = [c.customer_id, windows.c.w_id, recovery_group.label("recovery_group")]
    if last_solved_before is not None:
        columns.append(sa.func.max(c.solved_at).label("last_solved_at"))
    return (
        sa.select(*columns)
        .select_from(failures.join(windows, looked_at))
        .group_by(c.customer_id, windows.c.w_id)
        .subquery("failed_customers")
    )


def _failures(params: MetricParams, history: bool) -> sa.CTE:
    """One row per failure ticket (per version with history): customer_id, created_at,
    solved_at, reopens, csat, valid_from, valid_to."""
    k = tickets.c
    if history:
        states = ticket_states(True)
        s_ = states.c
        versioned = [s_.solved_at, s_.reopens, s_.csat, s_.valid_from, s_.valid_to]
        source = tickets.join(states, sa.and_(s_.source == k.source, s_.ticket_id == k.ticket_id))
    else:  # each ticket's one row, valid always: no join
        versioned = [
            k.solved_at,
            k.reopens,
            k.csat,
            _at(BEGINNING).label("valid_from"),
            _at(NEVER).label("valid_to"),
        ]
        source = tickets
    return (
        sa.select(k.customer_id, k.created_at, *versioned)
        .select_from(source)
        .where(is_failure(params.failure_tags))
        .cte("failures")
    )


def _failed_customers_since_beginning(
    windows: sa.FromClause,
    at: str,
    params: MetricParams,
    last_solved_before: dt.datetime | None,
    history: bool,
) -> Subquery:
    """``failed_customers`` under the 2026-11 definitions: every failure created at or
    before the window's instant, from the beginning of the data.

    Each customer's failures are summarised once, whatever the number of windows: when the
    first one was created, and from when a not-recovered state (solved, then reopened or
    rated bad) held for good; a customer is unrecovered at t from that instant on. Only
    what holds for a while (a not-recovered state a later version undid, a failure still
    open) is matched against the windows.
    """
    failures = _failures(params, history)
    c = failures.c
    t = windows.c[at]
    is_not_recovered = sa.and_(
        c.solved_at.is_not(None), ~is_put_right_sql(c.reopens, c.csat, params.definitions)
    )
    # From when a not-recovered state holds: created, solved, and this version valid.
    unrecovered_from = sa.func.greatest(c.created_at, c.solved_at, c.valid_from)
    for_good = c.valid_to == _at(NEVER)
    summary_columns = [
        c.customer_id,
        sa.func.min(c.created_at).label("first_failure_at"),
        sa.func.min(sa.case((sa.and_(is_not_recovered, for_good), unrecovered_from))).label(
            "first_unrecovered_at"
        ),
    ]
    if last_solved_before is not None:
        valid_then = sa.and_(c.valid_from <= last_solved_before, c.valid_to > last_solved_before)
        summary_columns.append(
            sa.func.max(
                sa.case((sa.and_(c.created_at <= last_solved_before, valid_then), c.solved_at))
            ).label("last_solved_at")
        )
    summary = sa.select(*summary_columns).group_by(c.customer_id).subquery("failure_summary")
    is_open = sa.and_(c.created_at <= t, sa.or_(c.solved_at.is_(None), c.solved_at > t))
    if history:
        is_open = sa.and_(is_open, c.valid_from <= t, c.valid_to > t)
    still_open = (
        sa.select(c.customer_id, windows.c.w_id)
        .select_from(failures.join(windows, is_open))
        .group_by(c.customer_id, windows.c.w_id)
        .subquery("open_failures")
    )
    s, o = summary.c, still_open.c
    unrecovered = s.first_unrecovered_at <= t
    from_clause = summary.join(windows, s.first_failure_at <= t).outerjoin(
        still_open,
        sa.and_(
            o.customer_id == s.customer_id,
            o.w_id == windows.c.w_id,
        ),
    )
    if history:  # a not-recovered state that a later version undid: matched per window
        undone = sa.and_(is_not_recovered, ~for_good, unrecovered_from <= t, c.valid_to > t)
        for_a_while = (
            sa.select(c.customer_id, windows.c.w_id)
            .select_from(failures.join(windows, undone))
            .group_by(c.customer_id, windows.c.w_id)
            .subquery("unrecovered_for_a_while")
        )
        from_clause = from_clause.outerjoin(
            for_a_while,
            sa.and_(
                for_a_while.c.customer_id == s.customer_id,
                for_a_while.c.w_id == windows.c.w_id,
            ),
        )
        unrecovered = sa.or_(unrecovered, for_a_while.c.customer_id.is_not(None))
    recovery_group = recovery_group_sql(
        {UNRECOVERED: unrecovered, IN_RECOVERY: o.customer_id.is_not(None)}
    )
    columns = [s.customer_id, windows.c.w_id, recovery_group.label("recovery_group")]
    if last_solved_before is not None:
        columns.append(s.last_solved_at)
    return sa.select(*columns).select_from(from_clause).subquery("failed_customers")


def _churn_time() -> ColumnElement[dt.datetime]:
    return sa.func.coalesce(customers.c.churned_at, _at(NEVER))


def _is_active_at(t: ColumnElement) -> ColumnElement[bool]:
    """Signed up at or before t and not churned by then. Two plain inequalities (no OR), so
    that joining customers to many windows is a range join."""
    return sa.and_(customers.c.signup_at <= t, _churn_time() > t)


def _same_window(failed: Subquery, w: Subquery) -> ColumnElement[bool]:
    return sa.and_(
        failed.c.customer_id == customers.c.customer_id,
        failed.c.w_id == w.c.w_id,
    )


def _customer_sliced(
    columns: list[ColumnElement],
    scope: Scope,
    params: MetricParams,
    w: Subquery,
    recovery: ColumnElement | None,
    at: ColumnElement,
) -> tuple[list[ColumnElement], list[ColumnElement]]:
    src = Sources(None, customers, recovery, at)
    period = w.c.period_start if scope.grain else None
    return _sliced(columns, scope, src, params, period)


def retention_facts(points: TimePoints, params: MetricParams, scope: Scope = NO_SCOPE) -> Subquery:
    """One row per customer active at a window's t0: recovery_group at t0, is_retained at
    t0 + H (the window's end)."""
    c = customers.c
    w = _windows(scope, points)
    failed = failed_customers(w, "w_t0", params, history=scope.history)
    is_retained = sa.or_(c.churned_at.is_(None), c.churned_at > w.c.w_end)
    group = sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED)
    columns, conditions = _customer_sliced(
        [
            group.label("recovery_group"),
            _always_flag(is_retained).label("is_retained"),
            c.customer_id.label("r_customer"),  # for recovery economics (metrics/recovery.py)
            c.mrr.label("r_mrr"),
            c.churned_at.label("r_churned_at"),  # what a KPI's unit list shows (metrics/units)
        ],
        scope,
        params,
        w,
        group,
        w.c.w_t0,
    )
    return (
        sa.select(*columns)
        .select_from(
            customers.join(w, _is_active_at(w.c.w_t0)).outerjoin(failed, _same_window(failed, w))
        )
        .where(*conditions)
        .subquery("retention_facts")
    )


def attrition_facts(points: TimePoints, params: MetricParams, scope: Scope = NO_SCOPE) -> Subquery:
    """One row per customer active at a window's year start, measured month's start or
    current month's start: is_churned and has_failure since the year start, is_churned_month
    in the measured month (metrics.params.attrition_month), is_churned_mtd since the start
    of the window end's month (each NULL for a customer not active at its start)."""
    c, t = customers.c, tickets.c
    w = _windows(scope, points)
    active_year = _is_active_at(w.c.w_year_start)
    # NULL in every window reads as text on PostgreSQL: the cast keeps it a timestamp.
    active_month = _is_active_at(sa.cast(w.c.w_month_start, sa.DateTime()))
    active_mtd = _is_active_at(w.c.w_mtd_start)
    churned_by_end = sa.and_(c.churned_at.is_not(None), c.churned_at <= w.c.w_end)
    churned_by_month_end = sa.and_(c.churned_at.is_not(None), c.churned_at <= w.c.w_month_end)
    recovery = None
    # Active at the year's start or at a month's (which come later, the current month's
    # last): signed up by the current month's start and not churned by the year's; the
    # WHERE drops those active at none of them.
    from_clause = customers.join(
        w, sa.and_(c.signup_at <= w.c.w_mtd_start, _churn_time() > w.c.w_year_start)
    )
    has_failure = sa.null()
    if scope.wants("has_failure"):  # costly per window: only when a KPI asks for it
        in_window = sa.and_(t.created_at > w.c.w_year_start, t.created_at <= w.c.w_end)
        failed_in = (
            sa.select(t.customer_id, w.c.w_id)
            .select_from(tickets.join(w, in_window))
            .where(is_failure(params.failure_tags))
            .group_by(t.customer_id, w.c.w_id)
            .subquery("failed_in_window")
        )
        from_clause = from_clause.outerjoin(
            failed_in,
            sa.and_(failed_in.c.customer_id == c.customer_id, failed_in.c.w_id == w.c.w_id),
        )
        had_failure = failed_in.c.customer_id.is_not(None)
        has_failure = _flag((sa.and_(active_year, had_failure), 1.0), (active_year, 0.0))
    if scope.uses("recovery"):
        failed = failed_customers(w, "w_year_start", params, history=scope.history)
        from_clause = from_clause.outerjoin(failed, _same_window(failed, w))
        recovery = sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED)
    columns, conditions = _customer_sliced(
        [
            _flag((sa.and_(active_year, churned_by_end), 1.0), (active_year, 0.0)).label(
                "is_churned"
            ),
            has_failure.label("has_failure"),
            _flag((sa.and_(active_month, churned_by_month_end), 1.0), (active_month, 0.0)).label(
                "is_churned_month"
            ),
            _flag((sa.and_(active_mtd, churned_by_end), 1.0), (active_mtd, 0.0)).label(
                "is_churned_mtd"
            ),
            c.customer_id.label("a_customer"),  # what a KPI's unit list shows (metrics/units)
            c.churned_at.label("a_churned_at"),
        ],
        scope,
        params,
        w,
        recovery,
        w.c.w_end,
    )
    return (
        sa.select(*columns)
        .select_from(from_clause)
        .where(sa.or_(active_year, active_month, active_mtd), *conditions)
        .subquery("attrition_facts")
    )


def nps_facts(points: TimePoints, params: MetricParams, scope: Scope = NO_SCOPE) -> Subquery:
    """One row per NPS response in (as_of - 365 days, as_of] (from ``scope.since`` on, when
    given): nps_points (+100, 0, -100) and the responder's recovery group at as_of; NULL
    group for a recovered customer's response given before (or when) their last failure was
    solved. Under the current definitions also NULL for a response given before the
    responder's last failure to leave the look-back left it (``_last_exits``): a response
    counts for the group its customer was in from then to as_of, whatever the group."""
    r = nps_responses.c
    failed = failed_customers(
        _windows(NO_SCOPE, points),
        "w_end",
        params,
        last_solved_before=points.as_of,
        history=scope.history,
    )
    raw_group = sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED)
    settled = []
    from_clause = nps_responses.outerjoin(failed, failed.c.customer_id == r.customer_id)
    days = lookback_days(params)
    if days is not None:
        exits = _last_exits(points.as_of, params, days)
        from_clause = from_clause.outerjoin(exits, exits.c.customer_id == r.customer_id)
        settled = [
            (
                sa.and_(exits.c.last_exit.is_not(None), r.responded_at < exits.c.last_exit),
                sa.null(),
            )
        ]
    recovery_group = sa.case(
        *settled,
        (failed.c.recovery_group.is_(None), NEVER_FAILED),
        (failed.c.recovery_group != RECOVERED, failed.c.recovery_group),
        (r.responded_at > failed.c.last_solved_at, RECOVERED),
    )
    nps_points = sa.case((r.score >= 9, 100.0), (r.score <= 6, -100.0), else_=0.0)
    if scope.uses_level("customer"):
        from_clause = from_clause.outerjoin(customers, customers.c.customer_id == r.customer_id)
    src = Sources(None, customers, raw_group, r.responded_at)
    period = (
        local_period_start(r.responded_at, scope.grain, params.reporting_timezone)
        if scope.grain
        else None
    )
    columns, conditions = _sliced(
        [
            sa.cast(nps_points, sa.Float()).label("nps_points"),
            recovery_group.label("recovery_group"),
            r.customer_id.label("n_customer"),  # the cluster of a clustered NPS (metrics/clusters)
            # what a KPI's unit list shows (metrics/units)
            r.response_id.label("n_response"),
            r.responded_at.label("n_responded_at"),
            r.score.label("n_score"),
        ],
        scope,
        src,
        params,
        period,
    )
    start = (
        r.responded_at > points.nps_start
        if scope.since is None
        else (r.responded_at >= scope.since)
    )
    return (
        sa.select(*columns)
        .select_from(from_clause)
        .where(start, r.responded_at <= points.as_of, *conditions)
        .subquery("nps_facts")
    )


def _last_exits(as_of: dt.datetime, params: MetricParams, days: int) -> Subquery:
    """Per customer with a failure that left the look-back by ``as_of`` (created at or
    before as_of - ``days``): last_exit, the latest such failure's creation + ``days``, the
    last moment a failure leaving the look-back changed their group."""
    t = tickets.c
    return (
        sa.select(
            t.customer_id,
            add_days(sa.func.max(t.created_at), float(days)).label("last_exit"),
        )
        .where(
            is_failure(params.failure_tags),
            t.customer_id.is_not(None),
            t.created_at <= as_of - dt.timedelta(days=days),
        )
        .group_by(t.customer_id)
        .subquery("last_exits")
    )


FACT_SETS = {
    "tickets": lambda points, params, scope=NO_SCOPE: ticket_facts(points, params, scope=scope),
    "retention": retention_facts,
    "attrition": attrition_facts,
    "nps": nps_facts,
}
