"""compute_changes on hand-made rows, on DuckDB and on PostgreSQL: each side's value is the
trend's (compute_slice) or the range's (compute_kpis), and its interval is the unit's.

Rows (as_of 2024-06-30 12:00 UTC), customers c0..c39, each with one ticket in each week:
- week of Mon 3 Jun: every ticket solved with one reply, first reply after 10 minutes;
- week of Mon 10 Jun: c0..c9's tickets solved with one reply, the other 30 with three;
  first reply after 100 minutes;
- NPS: in the first week c0..c39 answer 10 (NPS +100); in the second c0..c19 answer 10
  and c20..c39 answer 0 (NPS 0).
"""

from __future__ import annotations

import datetime as dt

import pytest

from metrics import MetricParams, compute_kpis
from metrics.changes import compute_changes
from metrics.intervals import mean_change, quantile_change, rate_change
from metrics.paradox import Cell
from metrics.slices import SliceRequest, compute_slice
from tests.metrics.rows import insert

AS_OF = dt.datetime(2024, 6, 30, 12, 0)
PARAMS = MetricParams(as_of=AS_OF, horizon_days=30)
FIRST, SECOND = dt.date(2024, 6, 3), dt.date(2024, 6, 10)
END = dt.date(2024, 6, 30)
KPIS = ("one_touch_rate", "tta_median_minutes", "tta_p90_minutes", "nps", "recovered_retention")
LINEAGE = {"source": "test", "batch_id": "b", "source_file": "f"}


def _ticket(i: int, week: dt.date, replies: int, reply_minutes: int) -> dict:
    created = dt.datetime.combine(week, dt.time(9)) + dt.timedelta(minutes=i)
    return LINEAGE | {
        "ticket_id": f"t{week:%d}-{i}",
        "customer_id": f"c{i}",
        "created_at": created,
        "updated_at": created,
        "first_reply_at": created + dt.timedelta(minutes=reply_minutes),
        "solved_at": created + dt.timedelta(hours=5),
        "status": "solved",
        "channel": "email",
        "agent_replies": replies,
        "reopens": 0,
        "tags": [],
    }


@pytest.fixture
def weeks(any_engine):
    tickets = [_ticket(i, FIRST, 1, 10) for i in range(40)]
    tickets += [_ticket(i, SECOND, 1 if i < 10 else 3, 100) for i in range(40)]
    customers = [
        LINEAGE | {"customer_id": f"c{i}", "signup_at": dt.datetime(2023, 1, 1)} for i in range(40)
    ]
    responses = [
        LINEAGE
        | {
            "response_id": f"r{week:%d}-{i}",
            "customer_id": f"c{i}",
            "responded_at": dt.datetime.combine(week, dt.time(12)),
            "score": score,
        }
        for week, scores in ((FIRST, [10] * 40), (SECOND, [10] * 20 + [0] * 20))
        for i, score in enumerate(scores)
    ]
    insert(any_engine, "tickets", tickets)
    insert(any_engine, "customers", customers)
    insert(any_engine, "nps_responses", responses)
    return any_engine


def _week(start: dt.date) -> SliceRequest:
    return SliceRequest(kpis=KPIS, grain="week", start=start, end=END)


def test_each_side_is_the_trends_period_and_each_interval_its_units(weeks):
    found = compute_changes(weeks, PARAMS, _week(SECOND), _week(FIRST))
    trend = compute_slice(
        weeks, PARAMS, SliceRequest(kpis=KPIS, grain="week", start=FIRST, end=END)
    )
    rows = {row["period_start"]: row for row in trend["rows"]}
    changes = found["changes"]
    for name in KPIS:
        assert changes[name]["now"] == pytest.approx(rows[SECOND.isoformat()]["kpis"][name])
        assert changes[name]["before"] == pytest.approx(rows[FIRST.isoformat()]["kpis"][name])
    assert found["periods"]["now"]["start"] == "2024-06-10"
    assert found["periods"]["before"]["start"] == "2024-06-03"

    # One-touch: 10/40 = 25% against 40/40 = 100%, Newcombe's interval, clearly worse.
    one_touch = changes["one_touch_rate"]
    assert one_touch["change"] == pytest.approx(-0.75)
    assert (one_touch["ci_low"], one_touch["ci_high"]) == pytest.approx(
        rate_change((0.25, 40), (1.0, 40))
    )
    assert one_touch["n"] == {"now": 40, "before": 40}
    assert one_touch["clear"] and one_touch["method"] == "newcombe_hybrid_score"

    # Median TTA: 100 against 10 minutes, every value the same: the interval is (90, 90).
    median = changes["tta_median_minutes"]
    assert (median["change"], median["ci_low"], median["ci_high"]) == pytest.approx((90, 90, 90))
    assert median["method"] == "order_statistic_bonferroni" and median["clear"]
    assert quantile_change([100.0] * 40, [10.0] * 40, 0.5) == (90.0, 90.0)

    # NPS: 0 against +100, one response per customer and week; a customer in both weeks is
    # one cluster.
    nps = changes["nps"]
    now = [Cell(f"c{i}", (), 1, 100.0 if i < 20 else -100.0) for i in range(40)]
    before = [Cell(f"c{i}", (), 1, 100.0) for i in range(40)]
    assert nps["change"] == pytest.approx(-100)
    assert (nps["ci_low"], nps["ci_high"]) == pytest.approx(mean_change(now, before))
    assert nps["units"] == {"now": 40, "before": 40} and nps["clear"]

    # No recovered customers: no value, no interval, never clear.
    retention = changes["recovered_retention"]
    assert retention["change"] is None and retention["ci_low"] is None
    assert not retention["clear"]


def test_a_side_without_grain_is_the_range_as_compute_kpis_counts_it(weeks):
    now = SliceRequest(kpis=KPIS, start=SECOND, end=dt.date(2024, 6, 16))
    before = SliceRequest(kpis=KPIS, start=FIRST, end=dt.date(2024, 6, 9))
    found = compute_changes(weeks, PARAMS, now, before)["changes"]
    for side, request in (("now", now), ("before", before)):
        kpis = compute_kpis(weeks, PARAMS, request)["kpis"]
        for name in KPIS:
            assert found[name][side] == kpis[name]


def test_a_group_below_the_minimum_size_is_never_clear(weeks):
    params = MetricParams(as_of=AS_OF, horizon_days=30, min_group_size=41)
    found = compute_changes(weeks, params, _week(SECOND), _week(FIRST))["changes"]
    # the same -75 pp beyond noise, but 40 tickets a week is below 41
    assert found["one_touch_rate"]["ci_high"] < 0
    assert not found["one_touch_rate"]["clear"]
