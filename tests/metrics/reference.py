"""A plain Python reading of the metric definitions (docs/contract.md, Metric definitions,
and the choices in docs/metrics.md), written without metrics/ code: the property tests
compare compute_kpis against it.

Rows are dicts of canonical columns; ``data`` holds ``tickets``, ``customers`` and
``responses`` lists.
"""

from __future__ import annotations

import datetime as dt
import math

FAILURE_TAGS = (
    "complaint",
    "outage",
    "bug",
    "defect",
    "wrong_item",
    "late_delivery",
    "billing_error",
)


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start) / dt.timedelta(minutes=1)


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def is_failure(ticket: dict) -> bool:
    return ticket["type"] in ("incident", "problem") or bool(
        set(ticket["tags"]) & set(FAILURE_TAGS)
    )


def grouping_failures(
    customer_id: str, t: dt.datetime, tickets: list[dict], definitions: str, lookback_days: int
) -> list[dict]:
    """The customer's failures that group them at t: created in (t - lookback_days, t]
    (2026-12), or at or before t (2026-11)."""
    since = None if definitions == "2026-11" else t - dt.timedelta(days=lookback_days)
    return [
        x
        for x in tickets
        if x["customer_id"] == customer_id
        and is_failure(x)
        and x["created_at"] <= t
        and (since is None or x["created_at"] > since)
    ]


def put_right(ticket: dict, definitions: str) -> bool:
    """Not reopened; under 2026-11 also not rated bad."""
    return (ticket["reopens"] or 0) == 0 and (definitions != "2026-11" or ticket["csat"] != "bad")


def group_at(
    customer_id: str,
    t: dt.datetime,
    tickets: list[dict],
    definitions: str = "2026-12",
    lookback_days: int = 365,
) -> str:
    failures = grouping_failures(customer_id, t, tickets, definitions, lookback_days)
    if not failures:
        return "never_failed"
    solved = [x for x in failures if x["solved_at"] is not None and x["solved_at"] <= t]
    if any(not put_right(x, definitions) for x in solved):
        return "unrecovered"
    if len(solved) < len(failures):
        return "in_recovery"
    return "recovered"


def nps_points(score: int) -> float:
    return 100.0 if score >= 9 else (-100.0 if score <= 6 else 0.0)


def one_touch(replies: int, preset: str, definitions: str) -> bool:
    """One touch: explore takes fewer than two agent replies, dbt_zendesk exactly one (the
    same under every set of definitions)."""
    return replies < 2 if preset == "explore" else replies == 1


def reference(
    data: dict,
    as_of: dt.datetime,
    horizon_days: int,
    target: float,
    definitions: str = "2026-12",
    lookback_days: int = 365,
) -> dict:
    def group(customer_id: str, t: dt.datetime) -> str:
        return group_at(customer_id, t, data["tickets"], definitions, lookback_days)

    tickets = [x for x in data["tickets"] if x["created_at"] <= as_of]
    customers, responses = data["customers"], data["responses"]

    def acknowledged(x):
        return x["first_reply_at"] is not None and x["first_reply_at"] <= as_of

    def solved(x):
        return x["status"] in ("solved", "closed") and (
            x["solved_at"] is None or x["solved_at"] <= as_of
        )

    ttas = [
        minutes_between(x["created_at"], x["first_reply_at"]) for x in tickets if acknowledged(x)
    ]
    overdue = [
        x
        for x in tickets
        if not acknowledged(x)
        and not solved(x)
        and minutes_between(x["created_at"], as_of) > target
    ]
    touch_known = [x for x in tickets if solved(x) and x["agent_replies"] is not None]
    stations_known = [
        x
        for x in tickets
        if solved(x) and (x["assignee_stations"] is not None or x["group_stations"] is not None)
    ]

    t0 = as_of - dt.timedelta(days=horizon_days)
    active_t0 = [
        c
        for c in customers
        if c["signup_at"] <= t0 and (c["churned_at"] is None or c["churned_at"] > t0)
    ]

    def retention(name):
        members = [c for c in active_t0 if group(c["customer_id"], t0) == name]
        kept = [
            c
            for c in members
            if c["churned_at"] is None or c["churned_at"] > t0 + dt.timedelta(days=horizon_days)
        ]
        return ratio(len(kept), len(members))

    year_ago = as_of - dt.timedelta(days=365)
    active_year_ago = [
        c
        for c in customers
        if c["signup_at"] <= year_ago and (c["churned_at"] is None or c["churned_at"] > year_ago)
    ]
    churned = [
        c for c in active_year_ago if c["churned_at"] is not None and c["churned_at"] <= as_of
    ]

    in_window = [r for r in responses if year_ago < r["responded_at"] <= as_of]

    def settled(r) -> bool:
        """Under 2026-12 a response counts once every failure that left the customer's
        look-back by as_of had left it (created + lookback_days at or before the response):
        the customer was in their as_of group from then on."""
        if definitions == "2026-11":
            return True
        exits = [
            x["created_at"] + dt.timedelta(days=lookback_days)
            for x in data["tickets"]
            if x["customer_id"] == r["customer_id"]
            and is_failure(x)
            and x["created_at"] + dt.timedelta(days=lookback_days) <= as_of
        ]
        return all(r["responded_at"] >= exit for exit in exits)

    def counts_for_recovered(r):
        if group(r["customer_id"], as_of) != "recovered":
            return False
        last_solved = max(
            x["solved_at"]
            for x in grouping_failures(
                r["customer_id"], as_of, data["tickets"], definitions, lookback_days
            )
        )
        return r["responded_at"] > last_solved and settled(r)

    return {
        "tta_median_minutes": quantile(ttas, 0.5),
        "tta_p90_minutes": quantile(ttas, 0.9),
        "tta_within_target_pct": ratio(sum(t <= target for t in ttas), len(ttas) + len(overdue)),
        "one_touch_rate": ratio(
            sum(one_touch(x["agent_replies"], "explore", definitions) for x in touch_known),
            len(touch_known),
        ),
        "handoff_rate": ratio(
            sum(
                (x["assignee_stations"] or 0) > 1 or (x["group_stations"] or 0) > 1
                for x in stations_known
            ),
            len(stations_known),
        ),
        "recovered_retention": retention("recovered"),
        "never_failed_retention": retention("never_failed"),
        "unrecovered_retention": retention("unrecovered"),
        "attrition_rate_12m": ratio(len(churned), len(active_year_ago)),
        "nps": mean([nps_points(r["score"]) for r in in_window]),
        "nps_recovered": mean(
            [nps_points(r["score"]) for r in in_window if counts_for_recovered(r)]
        ),
        "nps_never_failed": mean(
            [
                nps_points(r["score"])
                for r in in_window
                if group(r["customer_id"], as_of) == "never_failed" and settled(r)
            ]
        ),
    }


def latest_timestamp(data: dict) -> dt.datetime:
    stamps = [
        x[key]
        for x in data["tickets"]
        for key in ("created_at", "first_reply_at", "solved_at", "updated_at")
    ]
    stamps += [r["responded_at"] for r in data["responses"]]
    stamps += [c[key] for c in data["customers"] for key in ("signup_at", "churned_at")]
    return max(s for s in stamps if s is not None)


# --- the analyst KPIs (docs/metrics.md "The analyst KPIs") ---------------------------------


def analyst_ticket_kpis(
    tickets: list[dict],
    as_of: dt.datetime,
    window_hours: float = 24,
    preset: str = "explore",
    definitions: str = "2026-12",
) -> dict:
    """The ticket KPIs added for analysts, over ``tickets`` (already the slice's tickets),
    measured at ``as_of``."""
    tickets = [x for x in tickets if x["created_at"] <= as_of]

    def solved(x):
        return x["status"] in ("solved", "closed") and (
            x["solved_at"] is None or x["solved_at"] <= as_of
        )

    def solved_with_time(x):
        return solved(x) and x["solved_at"] is not None

    def recovered(x):
        return is_failure(x) and solved_with_time(x) and put_right(x, definitions)

    def resolution(x):
        return minutes_between(x["created_at"], x["solved_at"])

    window = window_hours * 60
    reopen_known = [x for x in tickets if solved(x) and x["reopens"] is not None]
    rated = [x for x in tickets if x["csat"] in ("good", "bad")]
    offered = [x for x in tickets if x["csat"] in ("good", "bad", "offered")]
    failures = [x for x in tickets if is_failure(x)]
    solved_failures = [x for x in failures if solved_with_time(x)]
    recoveries = [resolution(x) for x in failures if recovered(x)]
    window_base = solved_failures + [
        x for x in failures if not solved(x) and minutes_between(x["created_at"], as_of) > window
    ]
    resolutions = [resolution(x) for x in tickets if solved_with_time(x)]
    replies_known = [x for x in tickets if solved(x) and x["agent_replies"] is not None]
    one_touch_rate = ratio(
        sum(one_touch(x["agent_replies"], preset, definitions) for x in replies_known),
        len(replies_known),
    )
    return {
        "ticket_volume": len(tickets),
        "one_touch_rate": one_touch_rate,
        "reopen_rate": ratio(sum(x["reopens"] > 0 for x in reopen_known), len(reopen_known)),
        "csat_score": ratio(sum(x["csat"] == "good" for x in rated), len(rated)),
        "csat_response_rate": ratio(len(rated), len(offered)),
        "resolution_median_minutes": quantile(resolutions, 0.5),
        "resolution_p90_minutes": quantile(resolutions, 0.9),
        "failure_rate": ratio(len(failures), len(tickets)),
        "recovery_rate": ratio(sum(recovered(x) for x in solved_failures), len(solved_failures)),
        "time_to_recover_median_minutes": quantile(recoveries, 0.5),
        "time_to_recover_p90_minutes": quantile(recoveries, 0.9),
        "recovered_within_window_pct": ratio(
            sum(recovered(x) and resolution(x) <= window for x in window_base), len(window_base)
        ),
    }


def attrition_month(as_of: dt.datetime, definitions: str) -> tuple[dt.datetime, dt.datetime]:
    """(start, end] of the UTC month monthly_attrition_rate counts churn in: the month so far
    under 2026-11; else the last full month by as_of (as_of's own month at its last
    microsecond, else the month before)."""
    start = as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if definitions == "2026-11":
        return start, as_of
    following = (start + dt.timedelta(days=32)).replace(day=1)
    if as_of >= following - dt.timedelta(microseconds=1):
        return start, min(following, as_of)
    return (start - dt.timedelta(days=1)).replace(day=1), start


def analyst_customer_kpis(
    data: dict, customers: list[dict], as_of: dt.datetime, definitions: str = "2026-12"
) -> dict:
    """customer_failure_rate, monthly_attrition_rate and attrition_month_to_date over
    ``customers`` (UTC months)."""

    def active(c, t):
        return c["signup_at"] <= t and (c["churned_at"] is None or c["churned_at"] > t)

    def churned_by(c, t):
        return c["churned_at"] is not None and c["churned_at"] <= t

    year_ago = as_of - dt.timedelta(days=365)
    month_start = as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    active_year = [c for c in customers if active(c, year_ago)]
    active_month = [c for c in customers if active(c, month_start)]
    measured_start, measured_end = attrition_month(as_of, definitions)
    active_measured = [c for c in customers if active(c, measured_start)]

    def had_failure(c):
        return any(
            x["customer_id"] == c["customer_id"]
            and is_failure(x)
            and year_ago < x["created_at"] <= as_of
            for x in data["tickets"]
        )

    return {
        "customer_failure_rate": ratio(sum(map(had_failure, active_year)), len(active_year)),
        "monthly_attrition_rate": ratio(
            sum(churned_by(c, measured_end) for c in active_measured), len(active_measured)
        ),
        "attrition_month_to_date": ratio(
            sum(churned_by(c, as_of) for c in active_month), len(active_month)
        ),
    }
