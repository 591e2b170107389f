"""Retention curves: Kaplan-Meier survival per recovery group or per recovery quality, with
95% bands, a log-rank test and, per recovery group, the recovered - never_failed difference of
survival on a fixed day.

Who is followed, from when (docs/metrics.md, "Retention curves"), under the current
definitions: every customer active at the landmark (as_of - max_day), classified once by
their recovery group at the landmark (or, in a split by recovery quality, by their last
look-back failure solved by then), followed from the landmark to churn (an event) or as_of
(censored): the same rule for every group, no customer in two groups.

Under the 2026-11 definitions:
- a customer with a failure ticket, from the moment their first failure was solved or
  closed (by as_of), when they were active then; their group is that failure's outcome:
  ``recovered`` (not reopened, CSAT not bad) or ``unrecovered``;
- a never-failed customer, from a landmark date matched to the failed customers' start:
  the median of their start instants; followed while active and never failed (a first
  failure after the landmark ends the follow-up, as a censoring).
Follow-up ends with churn (an event) or at as_of (censored). Durations are whole days.

The warehouse returns one row per group and day (customers churned that day and censored
that day), never one row per customer; the curve and the test are computed from those
counts here, as lifelines computes them (exponential Greenwood bands, the k-sample log-rank).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from scipy.stats import chi2

from data_contracts.options import BEFORE_2026_12, SURVIVAL_SPLITS
from data_contracts.recovery_rules import (
    IN_RECOVERY,
    NEVER_FAILED,
    RECOVERED,
    SOLVED_STATUSES,
    UNRECOVERED,
    is_put_right_sql,
    one_touch_sql,
)
from data_contracts.times import isoformat_utc, to_naive_utc
from metrics.as_of import resolve_as_of
from metrics.facts import failed_customers, has_history, is_failure, lookback_start
from metrics.live import tickets
from metrics.paradox import NOT_ENOUGH_DATA, Z_95, verdict
from metrics.params import MetricParams
from warehouse.dialect import minutes_between, quantile_cont
from warehouse.schema import customers

MINUTES_PER_DAY = 1440
# TTA of the first failure, in minutes: the buckets of the tta_bucket split.
TTA_BUCKETS = ((60, "under 1 h"), (240, "1 to 4 h"), (1440, "4 to 24 h"))
SPLITS = SURVIVAL_SPLITS
# Follow-up from the landmark (as_of - this many days) to as_of, by default.
MAX_DAY = 365
# Look-back ticket (and failure) counts from this many on are one stratum ("3+").
COUNT_CAP = 3

# The order groups are shown in, per split.
GROUP_ORDER = {
    "recovery_group": (RECOVERED, UNRECOVERED, IN_RECOVERY, NEVER_FAILED),
    "tta_bucket": (
        *(label for _, label in TTA_BUCKETS),
        "over 24 h",
        "reply time unknown",
        "no reply",
    ),
    "one_touch": ("one touch", "not one touch", "replies unknown"),
    "compensation": ("compensated", "not compensated"),
}


class SurvivalError(ValueError):
    """A survival request that cannot be computed as asked."""


def _failure_columns() -> tuple:
    """The columns of a failure a split by recovery quality classifies by (_split_label)."""
    t = tickets.c
    return (
        t.customer_id,
        t.created_at,
        t.first_reply_at,
        t.first_reply_bracket,
        t.agent_replies,
        t.compensation,
    )


def first_failures(as_of: dt.datetime, params: MetricParams):
    """Each customer's first failure ticket created at or before as_of, one row each."""
    t = tickets.c
    order = sa.func.row_number().over(
        partition_by=t.customer_id, order_by=(t.created_at, t.source, t.ticket_id)
    )
    ranked = (
        sa.select(
            *_failure_columns(),
            t.solved_at,
            t.status,
            t.reopens,
            t.csat,
            t.tags,
            order.label("rank"),
        )
        .where(is_failure(params.failure_tags), t.created_at <= as_of, t.customer_id.is_not(None))
        .subquery("ranked_failures")
    )
    return sa.select(ranked).where(ranked.c.rank == 1).subquery("first_failures")


def _split_label(f, split: str, params: MetricParams):
    """The group of a failed customer under ``split``."""
    if split == "recovery_group":  # a solved first failure: its state
        put_right = is_put_right_sql(f.c.reopens, f.c.csat, params.definitions)
        return sa.case((put_right, RECOVERED), else_=UNRECOVERED)
    if split == "one_touch":  # the one-touch preset's definition; unknown replies apart
        touch = one_touch_sql(f.c.agent_replies, params.one_touch)
        return sa.case(
            (~touch.known, "replies unknown"),
            (touch.holds, "one touch"),
            else_="not one touch",
        )
    if split == "compensation":
        return sa.case((f.c.compensation > 0, "compensated"), else_="not compensated")
    reply = minutes_between(f.c.created_at, f.c.first_reply_at)
    whens = [(reply < limit, label) for limit, label in TTA_BUCKETS]
    unknown = sa.and_(f.c.first_reply_at.is_(None), f.c.first_reply_bracket.is_not(None))
    return sa.case(
        (unknown, "reply time unknown"),  # a bracket only: replied, but when is not known
        (f.c.first_reply_at.is_(None), "no reply"),
        *whens,
        else_="over 24 h",
    )


def _days(start, end):
    return sa.func.floor(minutes_between(start, end) / MINUTES_PER_DAY)


def failed_followups(as_of: dt.datetime, params: MetricParams, split: str):
    """One row per failed customer followed: grp, start, days, is_event."""
    c = customers.c
    f = first_failures(as_of, params)
    start = f.c.solved_at
    is_event = sa.and_(c.churned_at.is_not(None), c.churned_at <= as_of)
    end = sa.case((is_event, c.churned_at), else_=sa.literal(as_of, sa.DateTime()))
    return (
        sa.select(
            _split_label(f, split, params).label("grp"),
            start.label("start"),
            _days(start, end).label("days"),
            sa.case((is_event, 1), else_=0).label("is_event"),
        )
        .select_from(f.join(customers, c.customer_id == f.c.customer_id))
        .where(
            f.c.status.in_(SOLVED_STATUSES),
            start.is_not(None),
            start <= as_of,
            c.signup_at <= start,
            sa.or_(c.churned_at.is_(None), c.churned_at > start),
        )
        .subquery("failed_followups")
    )


def never_failed_followups(as_of: dt.datetime, params: MetricParams, landmark: dt.datetime):
    """One row per customer active and never failed at the landmark: grp, days, is_event
    (a failure after the landmark censors the follow-up there)."""
    c = customers.c
    f = first_failures(as_of, params)
    churned = sa.and_(c.churned_at.is_not(None), c.churned_at <= as_of)
    failed_later = f.c.created_at.is_not(None)
    is_event = sa.and_(churned, sa.or_(~failed_later, c.churned_at <= f.c.created_at))
    censored_at = sa.func.coalesce(f.c.created_at, sa.literal(as_of, sa.DateTime()))
    end = sa.case((is_event, c.churned_at), else_=censored_at)
    at = sa.literal(landmark, sa.DateTime())
    return (
        sa.select(
            sa.literal(NEVER_FAILED).label("grp"),
            _days(at, end).label("days"),
            sa.case((is_event, 1), else_=0).label("is_event"),
        )
        .select_from(customers.outerjoin(f, f.c.customer_id == c.customer_id))
        .where(
            c.signup_at <= at,
            sa.or_(c.churned_at.is_(None), c.churned_at > at),
            sa.or_(f.c.created_at.is_(None), f.c.created_at > at),
        )
        .subquery("never_failed_followups")
    )


def lookback_counts(landmark: dt.datetime, params: MetricParams, failures: bool):
    """Per customer with a ticket (``failures``: a failure ticket) created in the look-back
    (landmark - lookback_days, landmark]: customer_id, tickets (how many)."""
    t = tickets.c
    since = lookback_start(landmark, params)
    kept = [t.customer_id.is_not(None), t.created_at > since, t.created_at <= landmark]
    if failures:
        kept.append(is_failure(params.failure_tags))
    name = "lookback_failures" if failures else "lookback_tickets"
    return (
        sa.select(t.customer_id, sa.func.count().label("tickets"))
        .where(*kept)
        .group_by(t.customer_id)
        .subquery(name)
    )


def last_solved_failures(landmark: dt.datetime, params: MetricParams):
    """Per customer, the failure that classifies them in a split by recovery quality: the
    last (by solved_at) of their look-back failures solved at or before the landmark."""
    t = tickets.c
    since = lookback_start(landmark, params)
    order = sa.func.row_number().over(
        partition_by=t.customer_id,
        order_by=(t.solved_at.desc(), t.created_at.desc(), t.source.desc(), t.ticket_id.desc()),
    )
    ranked = (
        sa.select(*_failure_columns(), order.label("rank"))
        .where(
            is_failure(params.failure_tags),
            t.customer_id.is_not(None),
            t.created_at > since,
            t.created_at <= landmark,
            t.status.in_(SOLVED_STATUSES),
            t.solved_at <= landmark,
        )
        .subquery("ranked_solved_failures")
    )
    return sa.select(ranked).where(ranked.c.rank == 1).subquery("last_solved_failures")


def landmark_followups(
    as_of: dt.datetime, landmark: dt.datetime, params: MetricParams, split: str, history: bool
):
    """One row per customer active at the landmark (signed up at or before it, not churned
    at or before it) and in a group of ``split`` then: grp, failures and tickets (their
    look-back failure and ticket counts, each capped at COUNT_CAP), days, is_event. Every
    group is followed from the landmark to churn (an event) or as_of (censored)."""
    c = customers.c
    at = sa.literal(landmark, sa.DateTime())
    failures = lookback_counts(landmark, params, failures=True)
    all_tickets = lookback_counts(landmark, params, failures=False)
    if split == "recovery_group":  # the product's group rule, at the landmark
        window = sa.values(
            sa.column("w_id", sa.Integer()), sa.column("w_at", sa.DateTime()), name="landmark"
        ).data([(0, landmark)])
        failed = failed_customers(window, "w_at", params, history=history)
        grp = sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED)
        source = customers.outerjoin(failed, failed.c.customer_id == c.customer_id)
    else:
        last = last_solved_failures(landmark, params)
        grp = _split_label(last, split, params)
        source = customers.join(last, last.c.customer_id == c.customer_id)
    is_event = sa.and_(c.churned_at.is_not(None), c.churned_at <= as_of)
    end = sa.case((is_event, c.churned_at), else_=sa.literal(as_of, sa.DateTime()))
    return (
        sa.select(
            grp.label("grp"),
            _capped(failures.c.tickets).label("failures"),
            _capped(all_tickets.c.tickets).label("tickets"),
            _days(at, end).label("days"),
            sa.case((is_event, 1), else_=0).label("is_event"),
        )
        .select_from(
            source.outerjoin(failures, failures.c.customer_id == c.customer_id).outerjoin(
                all_tickets, all_tickets.c.customer_id == c.customer_id
            )
        )
        .where(c.signup_at <= at, sa.or_(c.churned_at.is_(None), c.churned_at > at))
        .subquery("landmark_followups")
    )


def _capped(count) -> sa.ColumnElement:
    """A look-back count (null: none) capped at COUNT_CAP."""
    return sa.func.least(sa.func.coalesce(count, 0), COUNT_CAP)


def _stratified_counts(followups) -> sa.Select:
    """One row per group, look-back failure and ticket count, and day: events, censored."""
    f = followups.c
    events = sa.func.sum(f.is_event)
    keys = (f.grp, f.failures, f.tickets, f.days)
    return (
        sa.select(*keys, events.label("events"), (sa.func.count() - events).label("censored"))
        .group_by(*keys)
        .order_by(*keys)
    )


def _counts(followups) -> sa.Select:
    """One row per group and day: events, censored."""
    events = sa.func.sum(followups.c.is_event)
    return (
        sa.select(
            followups.c.grp,
            followups.c.days,
            events.label("events"),
            (sa.func.count() - events).label("censored"),
        )
        .group_by(followups.c.grp, followups.c.days)
        .order_by(followups.c.grp, followups.c.days)
    )


@dataclass(frozen=True)
class CurvePoint:
    day: int
    at_risk: int
    events: int
    censored: int
    survival: float
    ci_low: float
    ci_high: float
    greenwood: float = 0.0  # sum of d / (n (n - d)) so far; not in the JSON

    def as_json(self) -> dict:
        """The point as the JSON gives it."""
        return {key: value for key, value in self.__dict__.items() if key != "greenwood"}


def kaplan_meier(counts: list[tuple[int, int, int]]) -> list[CurvePoint]:
    """The Kaplan-Meier curve from (day, events, censored) rows: one point per day with an
    event or a censoring. At risk on a day: those followed that long (censored ones leave
    after the day's events). Bands: exponential Greenwood (log(-log S)), as lifelines."""
    rows = sorted(counts)
    at_risk = sum(events + censored for _, events, censored in rows)
    survival, greenwood = 1.0, 0.0
    points = []
    for day, events, censored in rows:
        if events:
            survival *= 1 - events / at_risk
            greenwood += events / (at_risk * (at_risk - events)) if at_risk > events else math.inf
        points.append(
            CurvePoint(
                day, at_risk, events, censored, survival, *_band(survival, greenwood), greenwood
            )
        )
        at_risk -= events + censored
    return points


def _band(survival: float, greenwood: float) -> tuple[float, float]:
    if survival >= 1.0:
        return 1.0, 1.0
    if survival <= 0.0 or math.isinf(greenwood):
        return 0.0, 0.0
    log_s = math.log(survival)
    spread = Z_95 * math.sqrt(greenwood) / log_s  # negative: log S < 0
    low = math.exp(-math.exp(math.log(-log_s) - spread))
    high = math.exp(-math.exp(math.log(-log_s) + spread))
    return low, high


EMPTY_TEST = {"statistic": None, "df": None, "p_value": None}


def logrank(groups: dict[str, list[tuple[int, int, int]]]) -> dict:
    """The k-sample log-rank test from each group's (day, events, censored) rows:
    ``{"statistic", "df", "p_value"}`` (None with fewer than two groups or no events)."""
    return stratified_logrank({name: {0: rows} for name, rows in groups.items()})


def stratified_logrank(groups: dict[str, dict[int, list[tuple[int, int, int]]]]) -> dict:
    """The k-sample log-rank test stratified: each group's (day, events, censored) rows per
    stratum; observed minus expected and its variance are summed over the strata, each
    stratum's computed within it (a stratum one group lacks adds nothing).
    ``{"statistic", "df", "p_value"}`` (None with fewer than two groups or no events)."""
    names = sorted(groups)
    if len(names) < 2:
        return dict(EMPTY_TEST)
    k = len(names)
    observed_minus_expected = [0.0] * k
    covariance = [[0.0] * k for _ in range(k)]
    for stratum in sorted({s for name in names for s in groups[name]}):
        rows = {name: groups[name].get(stratum, []) for name in names}
        _add_logrank_terms(rows, names, observed_minus_expected, covariance)
    statistic = _quadratic_form(observed_minus_expected[:-1], [r[:-1] for r in covariance[:-1]])
    if statistic is None:
        return dict(EMPTY_TEST)
    return {"statistic": statistic, "df": k - 1, "p_value": float(chi2.sf(statistic, k - 1))}


def _add_logrank_terms(
    groups: dict[str, list[tuple[int, int, int]]],
    names: list[str],
    observed_minus_expected: list[float],
    covariance: list[list[float]],
) -> None:
    """Add one stratum's observed minus expected events and hypergeometric covariance."""
    by_day: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    at_risk = {}
    for name in names:
        at_risk[name] = sum(e + c for _, e, c in groups[name])
        for day, events, censored in groups[name]:
            by_day[day][name] = (events, censored)
    k = len(names)
    for day in sorted(by_day):
        today = by_day[day]
        d = [today.get(name, (0, 0))[0] for name in names]
        n = [at_risk[name] for name in names]
        total_d, total_n = sum(d), sum(n)
        if total_d and total_n > 1:
            factor = total_d * (total_n - total_d) / (total_n - 1)
            for i in range(k):
                observed_minus_expected[i] += d[i] - total_d * n[i] / total_n
                for j in range(k):
                    share = (1.0 if i == j else 0.0) - n[j] / total_n
                    covariance[i][j] += factor * n[i] / total_n * share
        for name in names:
            events, censored = today.get(name, (0, 0))
            at_risk[name] -= events + censored


def _quadratic_form(vector: list[float], matrix: list[list[float]]) -> float | None:
    """vector' matrix^-1 vector, or None when the matrix is singular."""
    import numpy as np

    m = np.array(matrix, dtype=float)
    if not m.size or abs(np.linalg.det(m)) < 1e-12:
        return None
    v = np.array(vector, dtype=float)
    return float(v @ np.linalg.solve(m, v))


def survival_at(points: list, day: int) -> dict | None:
    """``{"survival", "ci_low", "ci_high"}`` on ``day``: the curve's last point at or before
    it (1 before the first point), provided follow-up reaches that day; None otherwise.
    ``points`` are CurvePoints or their JSON dicts."""
    rows = [p if isinstance(p, dict) else p.as_json() for p in points]
    if not rows or rows[-1]["day"] < day:
        return None
    found = [p for p in rows if p["day"] <= day]
    if not found:
        return {"survival": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    return {key: found[-1][key] for key in ("survival", "ci_low", "ci_high")}


def at_risk_on(points: list, day: int) -> int:
    """How many of a curve's customers are still followed on ``day`` (at risk then: neither
    churned nor censored before it), as a Kaplan-Meier table prints under its curves; 0 past
    the curve's last point. ``points`` are CurvePoints or their JSON dicts."""
    rows = [p if isinstance(p, dict) else p.as_json() for p in points]
    later = [p for p in rows if p["day"] >= day]
    return later[0]["at_risk"] if later else 0


def survival_with_variance(
    rows: list[tuple[int, int, int]], day: int
) -> tuple[float, float] | None:
    """The Kaplan-Meier survival on ``day`` from (day, events, censored) rows and its
    Greenwood variance ``S² Σ d / (n (n - d))``; None where follow-up does not reach the day
    (as ``survival_at``), unless everyone followed churned before it (survival 0)."""
    points = kaplan_meier(rows)
    if not points or (points[-1].day < day and points[-1].survival > 0.0):
        return None
    found = [p for p in points if p.day <= day]
    if not found:
        return 1.0, 0.0
    point = found[-1]
    return point.survival, 0.0 if point.survival <= 0.0 else point.survival**2 * point.greenwood


def survival_difference(
    first: list[tuple[int, int, int]],
    second: list[tuple[int, int, int]],
    day: int,
    min_size: int,
) -> dict:
    """Survival on ``day`` of the first group minus the second's, two independent
    Kaplan-Meier estimates: ``{"day", "value", "ci_low", "ci_high", "verdict"}``, the 95%
    interval ``value ± z √(V₁ + V₂)`` with Greenwood variances; verdict holds, not_detected,
    reversed, or not_enough_data (a group below ``min_size``, or follow-up short of the day)."""
    found = survival_with_variance(first, day), survival_with_variance(second, day)
    sizes = _size(first), _size(second)
    if found[0] is None or found[1] is None:
        return {
            "day": day,
            "value": None,
            "ci_low": None,
            "ci_high": None,
            "verdict": NOT_ENOUGH_DATA,
        }
    (s1, v1), (s2, v2) = found
    value = s1 - s2
    half = Z_95 * math.sqrt(v1 + v2)
    low, high = value - half, value + half
    return {
        "day": day,
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "verdict": NOT_ENOUGH_DATA if min(sizes) < min_size else verdict(low, high),
    }


def standardised_difference(
    first: dict[int, list[tuple[int, int, int]]],
    second: dict[int, list[tuple[int, int, int]]],
    day: int,
    min_size: int,
) -> dict:
    """Survival on ``day`` of the first group minus the second's within each stratum, averaged
    over the strata with the first group's weights (direct standardisation to the first
    group's mix): ``{"day", "value", "ci_low", "ci_high", "verdict", "left_out"}``, the 95%
    interval ``value ± z √(Σ w² (V₁ + V₂))`` with Greenwood variances, strata independent.
    Strata the second group lacks are left out (``left_out``: the first group's customers
    in them). Verdict as ``survival_difference``; not_enough_data as well without a stratum
    in common or where follow-up falls short of the day."""
    common = sorted(set(first) & set(second))
    left_out = sum(_size(rows) for stratum, rows in first.items() if stratum not in second)
    result = {
        "day": day,
        "value": None,
        "ci_low": None,
        "ci_high": None,
        "verdict": NOT_ENOUGH_DATA,
        "left_out": left_out,
    }
    found = {
        stratum: (
            survival_with_variance(first[stratum], day),
            survival_with_variance(second[stratum], day),
        )
        for stratum in common
    }
    if not found or any(a is None or b is None for a, b in found.values()):
        return result
    total = sum(_size(first[stratum]) for stratum in common)
    value = variance = 0.0
    for stratum, ((s1, v1), (s2, v2)) in found.items():
        weight = _size(first[stratum]) / total
        value += weight * (s1 - s2)
        variance += weight**2 * (v1 + v2)
    half = Z_95 * math.sqrt(variance)
    low, high = value - half, value + half
    sizes = sum(map(_size, first.values())), sum(map(_size, second.values()))
    return result | {
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "verdict": NOT_ENOUGH_DATA if min(sizes) < min_size else verdict(low, high),
    }


def compute_survival(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    by: str = "recovery_group",
    max_day: int = MAX_DAY,
) -> dict:
    """Kaplan-Meier curves per group of ``by`` (one of SPLITS), and the log-rank test.

    ``{"as_of", "by", "landmark", "horizon_days", "groups": [{"group", "customers",
    "events", "at_horizon": {"survival", "ci_low", "ci_high"} or None, "curve": [{"day",
    "at_risk", "events", "censored", "survival", "ci_low", "ci_high"}]}], "logrank":
    {"statistic", "df", "p_value"}}``.

    Under the current definitions, from the landmark as_of - ``max_day`` (docs/metrics.md,
    "Retention curves"), plus ``"max_day"``, per group
    ``"failure_counts"`` and ``"ticket_counts"`` (customers per look-back failure and
    ticket count), ``"groups"`` and ``"strata"`` in ``"logrank"`` (the groups it compares,
    stratified on the look-back ticket count), and ``"difference"`` (recovered -
    never_failed survival on day min(H, max_day) within the same look-back ticket count,
    ``standardised_difference``, with the crude difference and the crude log-rank test of
    the two beside it; null outside recovery_group). Under 2026-11, from each customer's
    first failure, and ``landmark`` is the never-failed customers' start (only under
    recovery_group).
    """
    if by not in SPLITS:
        raise SurvivalError(f"--by must be one of {', '.join(SPLITS)}, not {by!r}")
    if params.definitions in BEFORE_2026_12:
        return _first_failure_survival(engine, params, by)
    if isinstance(max_day, bool) or not isinstance(max_day, int) or max_day < 1:
        raise SurvivalError(f"--days must be a whole number of days, 1 or more, not {max_day!r}")
    return _landmark_survival(engine, params, by, max_day)


STRATA = "lookback_tickets"  # the strata compared within: look-back ticket count 0, 1, 2, 3+


def _count_label(stratum: int) -> str:
    return f"{stratum}+" if stratum >= COUNT_CAP else str(stratum)


def _landmark_survival(engine: sa.Engine, params: MetricParams, by: str, max_day: int) -> dict:
    """compute_survival under the current definitions: every group from the landmark."""
    tested = [RECOVERED, UNRECOVERED] if by == "recovery_group" else []
    result: dict = {
        "as_of": None,
        "by": by,
        "landmark": None,
        "horizon_days": params.horizon_days,
        "max_day": max_day,
        "groups": [],
        "logrank": {**EMPTY_TEST, "groups": tested, "strata": STRATA},
        "difference": None,
    }
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return result
        as_of = to_naive_utc(as_of)
        landmark = as_of - dt.timedelta(days=max_day)
        followed = landmark_followups(as_of, landmark, params, by, has_history(conn))
        rows = [
            (grp, int(failures), int(count), int(days), int(events), int(censored))
            for grp, failures, count, days, events, censored in conn.execute(
                _stratified_counts(followed)
            )
        ]
    result["as_of"] = isoformat_utc(as_of)
    result["landmark"] = isoformat_utc(landmark)
    strata = _by_stratum(rows, key=2)  # look-back ticket count
    groups = {name: _merged(by_stratum) for name, by_stratum in strata.items()}
    failure_counts = _by_stratum(rows, key=1)
    for name in sorted(groups, key=GROUP_ORDER[by].index):
        curve = kaplan_meier(groups[name])
        result["groups"].append(
            {
                "group": name,
                "customers": curve[0].at_risk if curve else 0,
                "events": sum(p.events for p in curve),
                "at_horizon": survival_at(curve, params.horizon_days),
                "curve": [point.as_json() for point in curve],
                "failure_counts": _sizes(failure_counts[name]),
                "ticket_counts": _sizes(strata[name]),
            }
        )
    # Groups are compared within the same look-back ticket count: customers who write more
    # fail again more often after the landmark, and churn with it, whatever their group.
    tested = [name for name in (tested or GROUP_ORDER[by]) if name in groups]
    result["logrank"] = {
        **stratified_logrank({name: strata[name] for name in tested}),
        "groups": tested,
        "strata": STRATA,
    }
    if by == "recovery_group":
        first, second = groups.get(RECOVERED, []), groups.get(NEVER_FAILED, [])
        day = min(params.horizon_days, max_day)
        crude = survival_difference(first, second, day, params.min_group_size)
        result["difference"] = {
            "groups": [RECOVERED, NEVER_FAILED],
            **standardised_difference(
                strata.get(RECOVERED, {}), strata.get(NEVER_FAILED, {}), day, params.min_group_size
            ),
            "method": "standardised_greenwood_wald",
            "strata": STRATA,
            "crude": {key: crude[key] for key in ("value", "ci_low", "ci_high", "verdict")},
            "n": {RECOVERED: _size(first), NEVER_FAILED: _size(second)},
            "logrank": logrank({RECOVERED: first, NEVER_FAILED: second})
            if first and second
            else dict(EMPTY_TEST),
        }
    return result


def _size(rows: list[tuple[int, int, int]]) -> int:
    """The customers followed: every row's churns and censorings."""
    return sum(events + censored for _, events, censored in rows)


def _by_stratum(
    rows: list[tuple[str, int, int, int, int, int]], key: int
) -> dict[str, dict[int, list[tuple[int, int, int]]]]:
    """(grp, failures, tickets, days, events, censored) rows as group -> stratum (the value
    at ``key``) -> (day, events, censored) rows, one per day."""
    cells: dict[str, dict[int, dict[int, list[int]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: [0, 0]))
    )
    for row in rows:
        cell = cells[row[0]][row[key]][row[3]]
        cell[0] += row[4]
        cell[1] += row[5]
    return {
        grp: {
            stratum: [(day, e, c) for day, (e, c) in sorted(days.items())]
            for stratum, days in by_stratum.items()
        }
        for grp, by_stratum in cells.items()
    }


def _sizes(by_stratum: dict[int, list[tuple[int, int, int]]]) -> dict[str, int]:
    """Customers per stratum, labelled "0", "1", "2", "3+"."""
    return {_count_label(s): _size(rows) for s, rows in sorted(by_stratum.items())}


def _merged(by_stratum: dict[int, list[tuple[int, int, int]]]) -> list[tuple[int, int, int]]:
    """(day, events, censored) rows of all strata together, one per day."""
    days: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for rows in by_stratum.values():
        for day, events, censored in rows:
            days[day][0] += events
            days[day][1] += censored
    return [(day, events, censored) for day, (events, censored) in sorted(days.items())]


def _first_failure_survival(engine: sa.Engine, params: MetricParams, by: str) -> dict:
    """compute_survival under the 2026-11 definitions: from each customer's first failure."""
    result: dict = {
        "as_of": None,
        "by": by,
        "landmark": None,
        "horizon_days": params.horizon_days,
        "groups": [],
        "logrank": {"statistic": None, "df": None, "p_value": None},
    }
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return result
        as_of = to_naive_utc(as_of)
        failed = failed_followups(as_of, params, by)
        rows = list(conn.execute(_counts(failed)))
        if by == "recovery_group":
            landmark = _median_start(conn, failed)
            if landmark is not None:
                result["landmark"] = isoformat_utc(landmark)
                rows += list(conn.execute(_counts(never_failed_followups(as_of, params, landmark))))
    result["as_of"] = isoformat_utc(as_of)
    groups: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for grp, days, events, censored in rows:
        groups[grp].append((int(days), int(events), int(censored)))
    for name in sorted(groups, key=GROUP_ORDER[by].index):
        curve = kaplan_meier(groups[name])
        horizon = survival_at(curve, params.horizon_days)
        result["groups"].append(
            {
                "group": name,
                "customers": curve[0].at_risk if curve else 0,
                "events": sum(p.events for p in curve),
                "at_horizon": horizon,
                "curve": [point.as_json() for point in curve],
            }
        )
    result["logrank"] = logrank(groups)
    return result


EPOCH = dt.datetime(2000, 1, 1)


def _median_start(conn: sa.Connection, failed) -> dt.datetime | None:
    """The median start of the failed customers' follow-ups (None without any), computed
    in minutes since an epoch so that every warehouse interpolates it the same way."""
    minutes = minutes_between(sa.literal(EPOCH, sa.DateTime()), failed.c.start)
    found = conn.execute(sa.select(quantile_cont(minutes, [0.5]))).scalar()
    if not found or found[0] is None:
        return None
    return EPOCH + dt.timedelta(minutes=float(found[0]))
