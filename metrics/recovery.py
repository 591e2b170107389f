"""What recovery buys, and how the company behaves: the value of recovery against the
unrecovered path, what compensation costs and whether it changes retention, proactive
disclosure against customer-reported failures, and close-the-loop time after a detractor
response or a bad rating.

Definitions and choices are in docs/metrics.md ("Recovery economics and behaviour"). All
aggregation runs in the warehouse; Python only combines a handful of sums.
"""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa

from data_contracts.options import BEFORE_2026_12
from data_contracts.recovery_rules import IN_RECOVERY, NEVER_FAILED, RECOVERED, UNRECOVERED
from data_contracts.times import isoformat_utc
from metrics.as_of import resolve_as_of
from metrics.facts import (
    Scope,
    _valid_at,
    has_any_tag,
    has_history,
    is_failure,
    lookback_start,
    retention_facts,
    ticket_facts,
    ticket_states,
)
from metrics.live import tickets
from metrics.paradox import Z_95, Group, newcombe
from metrics.params import MetricParams, TimePoints
from metrics.queries import quantile_cont
from metrics.survival import first_failures
from warehouse.dialect import minutes_between
from warehouse.schema import customers, nps_responses, ticket_ratings

DAYS_PER_MONTH = 365.25 / 12


def _compensation_by_customer(t0: dt.datetime, params: MetricParams):
    t = tickets.c
    return (
        sa.select(t.customer_id, sa.func.sum(t.compensation).label("compensation"))
        .where(is_failure(params.failure_tags), t.created_at <= t0, t.compensation > 0)
        .group_by(t.customer_id)
        .subquery("compensation_by_customer")
    )


def economics(conn: sa.Connection, points: TimePoints, params: MetricParams, scope: Scope) -> dict:
    """Compensation and MRR of the customers active at t0, by their recovery group then;
    under the 2026-12 definitions also ``value_of_recovery`` and ``compensation_effect``
    (null under 2026-11, where ``net_gain`` and ``roi`` keep their earlier meaning; under
    2026-12 those two are null: docs/metrics.md)."""
    facts = retention_facts(points, params, scope)
    paid = _compensation_by_customer(points.retention_start, params)
    f = facts.c
    rows = conn.execute(
        sa.select(
            f.recovery_group,
            sa.func.count().label("customers"),
            sa.func.sum(f.is_retained).label("retained"),
            sa.func.coalesce(sa.func.sum(f.r_mrr), 0.0).label("mrr"),
            sa.func.coalesce(sa.func.sum(f.r_mrr * f.is_retained), 0.0).label("mrr_kept"),
            sa.func.coalesce(sa.func.sum(paid.c.compensation), 0.0).label("compensation"),
        )
        .select_from(facts.outerjoin(paid, paid.c.customer_id == f.r_customer))
        .group_by(f.recovery_group)
    ).mappings()
    groups = {row["recovery_group"]: dict(row) for row in rows}
    recovered = groups.get(RECOVERED)
    unrecovered = groups.get(UNRECOVERED)
    spent = sum(float(g["compensation"]) for g in groups.values())
    earlier = params.definitions in BEFORE_2026_12
    result: dict = {
        "at": points.retention_start,
        "horizon_days": params.horizon_days,
        "compensation_total": spent,
        "compensation_recovered": None,
        "compensation_per_recovered_customer": None,
        "recovered_customers": 0,
        "mrr_kept": None,
        "mrr_kept_at_unrecovered_rate": None,
        "mrr_gained": None,
        "net_gain": None,
        "roi": None,
    }
    if not earlier:
        sums = _customer_sums(conn, points, params, scope)
        result["value_of_recovery"] = value_of_recovery(sums, points, params)
        result["compensation_effect"] = compensation_effect(sums, points, params)
    else:
        result["value_of_recovery"] = result["compensation_effect"] = None
    if recovered is None or not recovered["customers"]:
        return result
    paid_recovered = float(recovered["compensation"])
    result |= {
        "compensation_recovered": paid_recovered,
        "compensation_per_recovered_customer": paid_recovered / recovered["customers"],
        "recovered_customers": int(recovered["customers"]),
        "mrr_kept": float(recovered["mrr_kept"]),
    }
    if unrecovered is None or not unrecovered["customers"]:
        return result
    unrecovered_rate = float(unrecovered["retained"]) / unrecovered["customers"]
    expected = unrecovered_rate * float(recovered["mrr"])
    gained = float(recovered["mrr_kept"]) - expected
    net = gained * params.horizon_days / DAYS_PER_MONTH - paid_recovered
    result |= {"mrr_kept_at_unrecovered_rate": expected, "mrr_gained": gained}
    if earlier:  # 2026-12 replaces these two by value_of_recovery (docs/metrics.md)
        result |= {"net_gain": net, "roi": net / paid_recovered if paid_recovered else None}
    return result


FAILED_GROUPS = (RECOVERED, UNRECOVERED, IN_RECOVERY)


def _lookback_compensation(t0: dt.datetime, params: MetricParams):
    """Per customer with a failure created in the look-back (t0 - lookback_days, t0]: the
    compensation on those failures (0 when none was paid), each ticket as known at as_of."""
    t = tickets.c
    start = lookback_start(t0, params)
    return (
        sa.select(
            t.customer_id,
            sa.func.sum(sa.func.coalesce(t.compensation, 0.0)).label("compensation"),
        )
        .where(is_failure(params.failure_tags), t.created_at > start, t.created_at <= t0)
        .group_by(t.customer_id)
        .subquery("lookback_compensation")
    )


def _customer_sums(
    conn: sa.Connection, points: TimePoints, params: MetricParams, scope: Scope
) -> list[dict]:
    """The customers active at t0, summed per recovery group at t0 and whether their
    look-back failures were compensated (``compensated`` 1 or 0): ``customers``,
    ``retained`` (still customers at t0 + H), ``days`` (days active in (t0, t0 + H]),
    ``mrr``, ``mrr_days`` (MRR x days active), ``mrr2``, ``mrr2_days``, ``mrr2_days2`` (MRR²,
    x days, x days²) and ``compensation`` (on look-back failures)."""
    facts = retention_facts(points, params, scope)
    paid = _lookback_compensation(points.retention_start, params)
    f, c = facts.c, customers.c
    t0 = sa.literal(points.retention_start, sa.DateTime())
    end = sa.literal(points.retention_end, sa.DateTime())
    # Active at t0, so churned after it: days to the churn, or to t0 + H when still there.
    left = sa.case((c.churned_at < end, c.churned_at), else_=end)
    days = minutes_between(t0, left) / 1440.0
    mrr = sa.func.coalesce(f.r_mrr, 0.0)  # a customer without MRR adds no money either side
    compensation = sa.func.coalesce(paid.c.compensation, 0.0)
    compensated = sa.case((compensation > 0, 1), else_=0)
    rows = conn.execute(
        sa.select(
            f.recovery_group,
            compensated.label("compensated"),
            sa.func.count().label("customers"),
            sa.func.sum(f.is_retained).label("retained"),
            sa.func.sum(days).label("days"),
            sa.func.sum(mrr).label("mrr"),
            sa.func.sum(mrr * days).label("mrr_days"),
            # for the gain's variance (value_of_recovery): sums of MRR² (x days, x days²)
            sa.func.sum(mrr * mrr).label("mrr2"),
            sa.func.sum(mrr * mrr * days).label("mrr2_days"),
            sa.func.sum(mrr * mrr * days * days).label("mrr2_days2"),
            sa.func.sum(compensation).label("compensation"),
        )
        .select_from(
            facts.join(customers, c.customer_id == f.r_customer).outerjoin(
                paid, paid.c.customer_id == f.r_customer
            )
        )
        .group_by(f.recovery_group, compensated)
    ).mappings()
    return [
        {k: v if k == "recovery_group" else float(v or 0) for k, v in row.items()} for row in rows
    ]


def _total(sums: list[dict], key: str, groups: tuple[str, ...], compensated=(0.0, 1.0)) -> float:
    return sum(
        row[key]
        for row in sums
        if row["recovery_group"] in groups and row["compensated"] in compensated
    )


def value_of_recovery(sums: list[dict], points: TimePoints, params: MetricParams) -> dict:
    """What recovered customers paid over (t0, t0 + H] above what they would have paid on
    the unrecovered group's retention path, against all compensation on the look-back
    failures of the customers grouped at t0 (docs/metrics.md, "Value of recovery")."""
    t0 = points.retention_start
    recovered = _total(sums, "customers", (RECOVERED,))
    unrecovered = _total(sums, "customers", (UNRECOVERED,))
    cost_by_group = {g: _total(sums, "compensation", (g,)) for g in FAILED_GROUPS}
    cost = sum(cost_by_group.values())
    found: dict = {
        "window_start": isoformat_utc(t0),
        "window_end": isoformat_utc(points.retention_end),
        "cost_window_start": isoformat_utc(lookback_start(t0, params)),
        "currency": params.currency,
        "recovered_customers": int(recovered),
        "unrecovered_customers": int(unrecovered),
        "small": min(recovered, unrecovered) < params.min_group_size,
        "unrecovered_path_days": None,
        "unrecovered_revenue_path_days": None,
        "customer_months_kept": _total(sums, "days", (RECOVERED,)) / DAYS_PER_MONTH,
        "customer_months_at_unrecovered_path": None,
        "revenue_from_recovered": _total(sums, "mrr_days", (RECOVERED,)) / DAYS_PER_MONTH,
        "revenue_at_unrecovered_path": None,
        "gain": None,
        "gain_ci_low": None,
        "gain_ci_high": None,
        "cost": cost,
        "cost_by_group": cost_by_group,
        "return": None,
        "return_ci_low": None,
        "return_ci_high": None,
        "method": "mrr_weighted_ratio_sandwich",
    }
    if not recovered or not unrecovered:
        return found
    # The area under the unrecovered group's retention curve over (0, H], in days: nobody
    # is censored before t0 + H, so it is their mean days active (restricted mean survival).
    path_days = _total(sums, "days", (UNRECOVERED,)) / unrecovered
    # Money weighs every day by MRR on both sides: where customers with more MRR stay longer
    # in every group, an unweighted path would credit recovery with that difference.
    unrecovered_mrr = _total(sums, "mrr", (UNRECOVERED,))
    revenue_path_days = (
        _total(sums, "mrr_days", (UNRECOVERED,)) / unrecovered_mrr
        if unrecovered_mrr > 0
        else path_days
    )
    recovered_mrr = _total(sums, "mrr", (RECOVERED,))
    at_path = recovered_mrr * revenue_path_days / DAYS_PER_MONTH
    gain = found["revenue_from_recovered"] - at_path
    found |= {
        "unrecovered_path_days": path_days,
        "unrecovered_revenue_path_days": revenue_path_days,
        "customer_months_at_unrecovered_path": recovered * path_days / DAYS_PER_MONTH,
        "revenue_at_unrecovered_path": at_path,
        "gain": gain,
        "return": (gain - cost) / cost if cost > 0 else None,
    }
    if recovered_mrr <= 0 or unrecovered_mrr <= 0:
        return found
    # gain = recovered MRR x (their MRR-weighted mean days - the unrecovered ones') / month:
    # a difference of two ratio estimators, each with its linearised (sandwich) variance.
    variance = _ratio_variance(sums, RECOVERED) + _ratio_variance(sums, UNRECOVERED)
    half = Z_95 * math.sqrt(variance) * recovered_mrr / DAYS_PER_MONTH
    found |= {"gain_ci_low": gain - half, "gain_ci_high": gain + half}
    if cost > 0:
        found |= {
            "return_ci_low": (gain - half - cost) / cost,
            "return_ci_high": (gain + half - cost) / cost,
        }
    return found


def _ratio_variance(sums: list[dict], group: str) -> float:
    """The variance of a group's MRR-weighted mean days active, R = Σ m d / Σ m, by
    linearisation: Σ m² (d - R)² / (Σ m)² (the sandwich variance of a weighted mean)."""
    weight = _total(sums, "mrr", (group,))
    ratio = _total(sums, "mrr_days", (group,)) / weight
    spread = (
        _total(sums, "mrr2_days2", (group,))
        - 2 * ratio * _total(sums, "mrr2_days", (group,))
        + ratio**2 * _total(sums, "mrr2", (group,))
    )
    return max(spread, 0.0) / weight**2


def compensation_effect(sums: list[dict], points: TimePoints, params: MetricParams) -> dict:
    """H-day retention of the customers grouped at t0 whose look-back failures were
    compensated against those whose were not, with Newcombe's interval of the difference
    (docs/metrics.md, "Compensation's own effect")."""
    found: dict = {"window_start": isoformat_utc(points.retention_start)}
    groups = {}
    for name, flag in (("compensated", 1.0), ("not_compensated", 0.0)):
        n = _total(sums, "customers", FAILED_GROUPS, (flag,))
        kept = _total(sums, "retained", FAILED_GROUPS, (flag,))
        groups[name] = Group(int(n), kept / n if n else 0.0)
        found[name] = {"customers": int(n), "retention": kept / n if n else None}
    first, second = groups["compensated"], groups["not_compensated"]
    found |= {"difference": None, "ci_low": None, "ci_high": None}
    found["method"] = "newcombe_hybrid_score"
    if first.n and second.n:
        low, high = newcombe(first, second)
        found |= {"difference": first.share - second.share, "ci_low": low, "ci_high": high}
    return found


def _is_proactive(params: MetricParams):
    return has_any_tag(tickets.c.tags, params.proactive_tags)


def disclosure(conn: sa.Connection, points: TimePoints, params: MetricParams, scope: Scope) -> dict:
    """Proactive (tagged) against customer-reported failures: tickets, recovery rate, and
    the H-day retention of customers active at t0 by how their first failure was reported."""
    t = tickets.c
    facts = ticket_facts(points, params, scope=scope)
    f = facts.c
    tagged = sa.select(t.source, t.ticket_id).where(_is_proactive(params)).subquery("proactive")
    kind = sa.case((tagged.c.ticket_id.is_not(None), "proactive"), else_="reactive")
    found = conn.execute(
        sa.select(
            kind.label("kind"),
            sa.func.count().label("failures"),
            sa.func.avg(f.is_recovered).label("recovery_rate"),
            sa.func.count(f.is_recovered).label("solved"),
        )
        .select_from(
            facts.outerjoin(
                tagged, sa.and_(tagged.c.source == f.ep_source, tagged.c.ticket_id == f.ep_ticket)
            )
        )
        .where(f.is_failure == 1.0)
        .group_by(kind)
    ).mappings()
    result = {
        name: {
            "failures": 0,
            "recovery_rate": None,
            "solved": 0,
            "customers_at_t0": 0,
            "retention": None,
        }
        for name in ("proactive", "reactive")
    }
    for row in found:
        result[row["kind"]] |= {
            "failures": int(row["failures"]),
            "recovery_rate": None if row["recovery_rate"] is None else float(row["recovery_rate"]),
            "solved": int(row["solved"]),
        }
    # Retention at t0 + H of customers active at t0, by their first failure's reporting.
    t0 = points.retention_start
    first = first_failures(t0, params)
    facts_t0 = retention_facts(points, params, scope)
    r = facts_t0.c
    proactive = has_any_tag(first.c.tags, params.proactive_tags)
    first_kind = sa.case((proactive, "proactive"), else_="reactive")
    for row in conn.execute(
        sa.select(
            first_kind.label("kind"),
            sa.func.count().label("customers"),
            sa.func.avg(r.is_retained).label("retention"),
        )
        .select_from(facts_t0.join(first, first.c.customer_id == r.r_customer))
        .where(r.recovery_group != NEVER_FAILED)
        .group_by(first_kind)
    ).mappings():
        result[row["kind"]] |= {
            "customers_at_t0": int(row["customers"]),
            "retention": float(row["retention"]),
        }
    return result


def _loop_signals(points: TimePoints, params: MetricParams, history: bool):
    """One row per signal in (as_of - 365 days, as_of]: customer_id, signal_at, kind."""
    t, n, g = tickets.c, nps_responses.c, ticket_ratings.c
    as_of, start = points.as_of, points.nps_start
    dated = sa.exists().where(g.source == t.source, g.ticket_id == t.ticket_id)
    # A bad rating at the time it was given (satisfaction ratings).
    bad_ratings = (
        sa.select(
            t.customer_id, g.updated_at.label("signal_at"), sa.literal("bad_csat").label("kind")
        )
        .select_from(
            ticket_ratings.join(tickets, sa.and_(t.source == g.source, t.ticket_id == g.ticket_id))
        )
        .where(g.score == "bad", g.updated_at > start, g.updated_at <= as_of)
    )
    detractors = sa.select(
        n.customer_id, n.responded_at.label("signal_at"), sa.literal("detractor").label("kind")
    ).where(n.score <= 6, n.responded_at > start, n.responded_at <= as_of)
    if params.definitions in BEFORE_2026_12:
        # A ticket without dated ratings signalled at its solve time.
        rated_at = sa.func.coalesce(t.solved_at, t.updated_at, t.created_at)
        undated = sa.select(
            t.customer_id, rated_at.label("signal_at"), sa.literal("bad_csat").label("kind")
        ).where(t.csat == "bad", ~dated, rated_at > start, rated_at <= as_of)
    else:
        undated = _undated_bad_ratings(points, history, timed=True)
    return sa.union_all(bad_ratings, detractors, undated).subquery("signals")


def _undated_bad_ratings(points: TimePoints, history: bool, timed: bool):
    """Bad ratings of tickets without dated ratings. ``timed``: one row per version that
    turned the ticket's CSAT bad, in (as_of - 365 days, as_of], signalled at that version's
    source ``updated_at`` (the rating came after the version before it, by this one); else
    the tickets bad in their version valid at as_of whose first version loaded was already
    bad (when it was given is not known), solved in the 365 days."""
    t, g = tickets.c, ticket_ratings.c
    states = ticket_states(history)
    v = states.c
    order = {"partition_by": (v.source, v.ticket_id), "order_by": v.valid_from}
    ranked = (
        sa.select(
            v.source,
            v.ticket_id,
            v.csat,
            v.valid_from,
            v.valid_to,
            sa.func.lag(v.csat).over(**order).label("before"),
            sa.func.row_number().over(**order).label("version"),
        )
        .where(~sa.exists().where(g.source == v.source, g.ticket_id == v.ticket_id))
        .subquery("csat_versions")
    )
    r = ranked.c
    joined = tickets.join(ranked, sa.and_(r.source == t.source, r.ticket_id == t.ticket_id))
    if timed:
        turned_bad = sa.and_(
            r.csat == "bad", r.version > 1, sa.not_(r.before.is_not_distinct_from("bad"))
        )
        return (
            sa.select(
                t.customer_id, r.valid_from.label("signal_at"), sa.literal("bad_csat").label("kind")
            )
            .select_from(joined)
            .where(turned_bad, r.valid_from > points.nps_start, r.valid_from <= points.as_of)
        )
    first_bad = (
        sa.select(r.source, r.ticket_id)
        .where(r.version == 1, r.csat == "bad")
        .subquery("bad_when_first_loaded")
    )
    solved = sa.func.coalesce(t.solved_at, t.updated_at, t.created_at)
    return (
        sa.select(sa.func.count())
        .select_from(
            joined.join(
                first_bad,
                sa.and_(first_bad.c.source == r.source, first_bad.c.ticket_id == r.ticket_id),
            )
        )
        .where(
            r.csat == "bad",
            r.valid_from <= points.as_of,
            r.valid_to > points.as_of,
            solved > points.nps_start,
            solved <= points.as_of,
        )
    )


def _loop_contacts(numbered, points: TimePoints, params: MetricParams, history: bool):
    """Per signal (``sid``), the contact that closes its loop, ranked first (``rank`` 1):
    its first_reply_at (NULL where unknown) and first_reply_bracket."""
    g = numbered.c
    as_of = points.as_of
    if params.definitions in BEFORE_2026_12:
        # The first reply on the customer's next ticket created after the signal.
        later = tickets.alias("next_ticket")
        lt = later.c
        rank = sa.func.row_number().over(
            partition_by=g.sid, order_by=(lt.created_at, lt.source, lt.ticket_id)
        )
        return (
            sa.select(
                g.sid,
                g.signal_at,
                lt.first_reply_at,
                lt.first_reply_bracket,
                rank.label("rank"),
            )
            .select_from(
                numbered.outerjoin(
                    later,
                    sa.and_(
                        lt.customer_id == g.customer_id,
                        lt.created_at > g.signal_at,
                        lt.created_at <= as_of,
                    ),
                )
            )
            .subquery("next_tickets")
        )
    # The first agent reply after the signal on any of the customer's tickets, each ticket as
    # its version valid at as_of knows it. A reply known only by its bracket, on a ticket
    # created after the signal, came after the signal at an unknown time: it is placed at the
    # ticket's creation.
    t = tickets.c
    states = ticket_states(history)
    s = states.c
    reply = sa.case((s.first_reply_at <= as_of, s.first_reply_at))
    bracket_only = sa.and_(s.first_reply_at.is_(None), t.first_reply_bracket.is_not(None))
    contact = sa.case((bracket_only, t.created_at), else_=reply)
    customer_tickets = (
        sa.select(
            t.customer_id,
            t.source,
            t.ticket_id,
            reply.label("first_reply_at"),
            sa.case((bracket_only, t.first_reply_bracket)).label("first_reply_bracket"),
            contact.label("contact_at"),
        )
        .select_from(
            tickets.join(
                states,
                sa.and_(s.source == t.source, s.ticket_id == t.ticket_id, _valid_at(states, as_of)),
            )
        )
        .where(t.created_at <= as_of, contact.is_not(None))
        .subquery("customer_tickets")
    )
    c = customer_tickets.c
    rank = sa.func.row_number().over(
        partition_by=g.sid, order_by=(c.contact_at, c.source, c.ticket_id)
    )
    return (
        sa.select(g.sid, g.signal_at, c.first_reply_at, c.first_reply_bracket, rank.label("rank"))
        .select_from(
            numbered.outerjoin(
                customer_tickets,
                sa.and_(c.customer_id == g.customer_id, c.contact_at > g.signal_at),
            )
        )
        .subquery("first_contacts")
    )


def close_the_loop(
    conn: sa.Connection, points: TimePoints, params: MetricParams, history: bool = False
) -> dict:
    """From each detractor response or bad rating in the last 365 days to the first agent
    reply after it on any of that customer's tickets (2026-11: on the customer's next
    ticket). ``history``: the warehouse holds ticket versions (facts.has_history)."""
    as_of = points.as_of
    signals = _loop_signals(points, params, history)
    s = signals.c
    numbered = (
        sa.select(
            signals,
            sa.func.row_number().over(order_by=(s.customer_id, s.signal_at, s.kind)).label("sid"),
        )
        .where(s.customer_id.is_not(None))
        .subquery("numbered_signals")
    )
    candidates = _loop_contacts(numbered, points, params, history)
    c = candidates.c
    replied = sa.and_(c.first_reply_at.is_not(None), c.first_reply_at <= as_of)
    # a reply known only by its bracket: answered, but when is not known (no time, not judged)
    unknown = sa.and_(c.first_reply_at.is_(None), c.first_reply_bracket.is_not(None))
    minutes = sa.case((replied, minutes_between(c.signal_at, c.first_reply_at)))
    limit = float(params.close_the_loop_hours) * 60
    judged = c.signal_at <= sa.literal(
        as_of - dt.timedelta(hours=params.close_the_loop_hours), sa.DateTime()
    )
    in_time = sa.case((sa.and_(judged, ~unknown), sa.case((minutes <= limit, 1.0), else_=0.0)))
    row = (
        conn.execute(
            sa.select(
                sa.func.count().label("signals"),
                sa.func.count(sa.case((sa.or_(replied, unknown), 1))).label("closed"),
                quantile_cont(minutes, [0.5]).label("median"),
                sa.func.avg(in_time).label("within"),
                sa.func.count(in_time).label("judged"),
            ).where(c.rank == 1)
        )
        .mappings()
        .one()
    )
    median = row["median"][0] if row["median"] else None
    undated = None
    if params.definitions not in BEFORE_2026_12:
        undated = int(conn.execute(_undated_bad_ratings(points, history, timed=False)).scalar())
    return {
        "signals": int(row["signals"]),
        "closed": int(row["closed"]),
        "median_hours": None if median is None else float(median) / 60,
        "within_hours": params.close_the_loop_hours,
        "within_share": None if row["within"] is None else float(row["within"]),
        "judged": int(row["judged"]),
        "undated_bad_ratings": undated,
    }


def compute_recovery(engine: sa.Engine, params: MetricParams = MetricParams()) -> dict:  # noqa: B008
    """``{"as_of", "economics", "disclosure", "close_the_loop"}`` (docs/metrics.md)."""
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return {"as_of": None, "economics": None, "disclosure": None, "close_the_loop": None}
        points = TimePoints.at(as_of, params)
        scope = Scope(history=has_history(conn))
        found = {
            "as_of": isoformat_utc(points.as_of),
            "economics": economics(conn, points, params, scope),
            "disclosure": disclosure(conn, points, params, scope),
            "close_the_loop": close_the_loop(conn, points, params, scope.history),
        }
    found["economics"]["at"] = isoformat_utc(found["economics"]["at"])
    return found
