"""Retention curves under the 2026-11 definitions (from each customer's first failure): the
warehouse's per-day counts give the Kaplan-Meier curves, bands and log-rank test lifelines
computes from the same customers' durations (on DuckDB and PostgreSQL); the follow-up rules
and the splits by hand. tests/metrics/test_survival_landmark.py checks the current ones."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import replace

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from metrics import MetricParams
from metrics.survival import SurvivalError, compute_survival, kaplan_meier, logrank
from tests.metrics.rows import insert

EARLIER = MetricParams(as_of=dt.datetime(2024, 12, 31, 12, 0), definitions="2026-11")

AS_OF = dt.datetime(2024, 12, 31, 12, 0)
SIGNUP = dt.datetime(2023, 1, 1)
DAY = dt.timedelta(days=1)


def _population(seed: int) -> tuple[list[dict], list[dict], dict]:
    """Customers and failure tickets, and per customer what the definition says by hand:
    (group, start, end, churned) for the failed ones."""
    rng = random.Random(seed)
    customers, tickets, failed = [], [], {}
    for i in range(60):
        customer_id = f"c{i:02d}"
        kind = ("recovered", "unrecovered", "never")[i % 3]
        churned_at = None
        row = {"customer_id": customer_id, "signup_at": SIGNUP, "churned_at": None}
        if kind != "never":
            created = dt.datetime(2023, 6, 1) + dt.timedelta(hours=rng.randrange(0, 24 * 200))
            solved = created + dt.timedelta(hours=rng.randrange(1, 24 * 5))
            tickets.append(
                {
                    "ticket_id": f"f-{customer_id}",
                    "customer_id": customer_id,
                    "created_at": created,
                    "first_reply_at": created + dt.timedelta(minutes=rng.randrange(5, 3000)),
                    "solved_at": solved,
                    "status": "solved",
                    "type": "incident",
                    "csat": "good" if kind == "recovered" else "bad",
                    "reopens": 0 if kind == "recovered" else 1,
                    "agent_replies": rng.randrange(1, 4),
                }
            )
            if rng.random() < 0.5:
                churned_at = solved + dt.timedelta(days=rng.randrange(0, 500), hours=3)
            failed[customer_id] = (kind, solved, churned_at)
        elif rng.random() < 0.4:
            churned_at = dt.datetime(2023, 9, 1) + dt.timedelta(days=rng.randrange(0, 600))
        row["churned_at"] = churned_at if churned_at is None or churned_at <= AS_OF else None
        customers.append(row)
    # Two never-failed customers fail later: their follow-up ends (censored) at that failure.
    for customer_id, when in (("c02", dt.datetime(2024, 8, 1)), ("c05", dt.datetime(2024, 9, 1))):
        tickets.append(
            {
                "ticket_id": f"late-{customer_id}",
                "customer_id": customer_id,
                "created_at": when,
                "status": "open",
                "type": "problem",
            }
        )
    return customers, tickets, failed


def _days(start: dt.datetime, end: dt.datetime) -> int:
    return math.floor((end - start).total_seconds() / 86400)


def _expected_durations(customers, tickets, failed) -> dict[str, list[tuple[int, int]]]:
    """(days, churned) per group, computed from the rows without the code under test."""
    churn = {c["customer_id"]: c["churned_at"] for c in customers}
    groups: dict[str, list[tuple[int, int]]] = {
        "recovered": [],
        "unrecovered": [],
        "never_failed": [],
    }
    starts = []
    for customer_id, (kind, start, _) in failed.items():
        churned_at = churn[customer_id]
        if churned_at is not None and churned_at <= start:
            continue
        starts.append(start)
        end, event = (churned_at, 1) if churned_at is not None else (AS_OF, 0)
        groups[kind].append((_days(start, end), event))
    minutes = sorted((s - dt.datetime(2000, 1, 1)).total_seconds() / 60 for s in starts)
    landmark = dt.datetime(2000, 1, 1) + dt.timedelta(minutes=float(np.median(minutes)))
    first_failure = {}
    for t in tickets:
        first_failure[t["customer_id"]] = min(
            t["created_at"], first_failure.get(t["customer_id"], AS_OF)
        )
    for customer_id, churned_at in churn.items():
        failure = first_failure.get(customer_id)
        if failure is not None and failure <= landmark:
            continue
        if churned_at is not None and churned_at <= landmark:
            continue
        if churned_at is not None and (failure is None or churned_at <= failure):
            groups["never_failed"].append((_days(landmark, churned_at), 1))
        else:
            groups["never_failed"].append((_days(landmark, failure or AS_OF), 0))
    return groups


@pytest.mark.parametrize("seed", [1, 2])
def test_curves_and_logrank_agree_with_lifelines(any_engine, seed):
    customers, tickets, failed = _population(seed)
    insert(any_engine, "customers", customers)
    insert(any_engine, "tickets", tickets)
    result = compute_survival(any_engine, EARLIER)
    expected = _expected_durations(customers, tickets, failed)

    found = {g["group"]: g for g in result["groups"]}
    assert set(found) == set(expected)
    for name, durations in expected.items():
        group = found[name]
        assert group["customers"] == len(durations)
        assert group["events"] == sum(e for _, e in durations)
        kmf = KaplanMeierFitter().fit([d for d, _ in durations], [e for _, e in durations])
        assert len(group["curve"]) > 5  # churns and censorings on many days
        bands = kmf.confidence_interval_
        for point in group["curve"]:
            assert point["survival"] == pytest.approx(
                kmf.survival_function_.loc[point["day"]].iloc[0], abs=1e-6
            )
            if 0 < point["survival"] < 1:
                low, high = bands.loc[point["day"]].iloc[0], bands.loc[point["day"]].iloc[1]
                assert (point["ci_low"], point["ci_high"]) == pytest.approx((low, high), abs=1e-6)
            assert point["at_risk"] == kmf.event_table.loc[point["day"], "at_risk"]

    labels = [name for name, ds in expected.items() for _ in ds]
    reference = multivariate_logrank_test(
        [d for ds in expected.values() for d, _ in ds],
        labels,
        [e for ds in expected.values() for _, e in ds],
    )
    assert result["logrank"]["statistic"] == pytest.approx(reference.test_statistic, abs=1e-6)
    assert result["logrank"]["p_value"] == pytest.approx(reference.p_value, abs=1e-6)
    assert result["logrank"]["df"] == 2


def test_a_textbook_curve_by_hand():
    # Six customers: churn on days 3, 3 and 8; censored on days 5, 8 and 10.
    # S(3) = 1 - 2/6 = 2/3; S(8) = 2/3 * (1 - 1/3) = 4/9 (3 at risk on day 8: 8, 8, 10).
    curve = kaplan_meier([(3, 2, 0), (5, 0, 1), (8, 1, 1), (10, 0, 1)])
    assert [(p.day, p.at_risk) for p in curve] == [(3, 6), (5, 4), (8, 3), (10, 1)]
    assert [p.survival for p in curve] == pytest.approx([2 / 3, 2 / 3, 4 / 9, 4 / 9])


def test_two_identical_groups_have_a_logrank_statistic_of_zero():
    rows = [(3, 1, 0), (5, 0, 1), (8, 2, 0)]
    test = logrank({"a": rows, "b": rows})
    assert test["statistic"] == pytest.approx(0.0) and test["p_value"] == pytest.approx(1.0)
    assert logrank({"a": rows})["statistic"] is None


def test_splits_by_recovery_quality(engine):
    customers = [{"customer_id": f"q{i}", "signup_at": SIGNUP} for i in range(4)]
    created = dt.datetime(2024, 3, 1, 9)
    tickets = [
        {
            "ticket_id": f"t{i}",
            "customer_id": f"q{i}",
            "created_at": created,
            "first_reply_at": None if reply is None else created + dt.timedelta(minutes=reply),
            "solved_at": created + 2 * DAY,
            "status": "solved",
            "type": "incident",
            "agent_replies": replies,
            "compensation": money,
        }
        for i, (reply, replies, money) in enumerate(
            [(30, 1, 25.0), (90, 2, None), (600, 3, 0.0), (None, 0, None)]
        )
    ]
    insert(engine, "customers", customers)
    insert(engine, "tickets", tickets)

    def sizes(by: str) -> dict[str, int]:
        result = compute_survival(engine, EARLIER, by=by)
        assert result["landmark"] is None  # only the recovery-group split follows never-failed
        return {g["group"]: g["customers"] for g in result["groups"]}

    assert sizes("tta_bucket") == {"under 1 h": 1, "1 to 4 h": 1, "4 to 24 h": 1, "no reply": 1}
    assert sizes("one_touch") == {"one touch": 2, "not one touch": 2}  # 1 and 0; 2 and 3
    dbt = compute_survival(engine, replace(EARLIER, one_touch="dbt_zendesk"), "one_touch")
    assert {g["group"]: g["customers"] for g in dbt["groups"]} == {
        "one touch": 1,  # exactly one reply
        "not one touch": 3,
    }
    assert sizes("compensation") == {"compensated": 1, "not compensated": 3}
    with pytest.raises(SurvivalError, match="recovery_group"):
        compute_survival(engine, EARLIER, by="channel")


def test_an_empty_warehouse_has_no_curves(engine):
    result = compute_survival(engine, MetricParams(definitions="2026-11"))
    assert result["as_of"] is None and result["groups"] == []
    assert result["logrank"]["statistic"] is None


def test_a_reply_known_only_by_its_bracket_is_its_own_tta_group(engine):
    created = dt.datetime(2024, 3, 1, 9)
    insert(engine, "customers", [{"customer_id": c, "signup_at": SIGNUP} for c in ("b1", "b2")])
    base = {"created_at": created, "solved_at": created + 2 * DAY, "status": "solved"}
    insert(
        engine,
        "tickets",
        [
            {
                **base,
                "ticket_id": "b1",
                "customer_id": "b1",
                "type": "incident",
                "first_reply_bracket": "1-8 hrs",
            },  # replied, time unknown
            {**base, "ticket_id": "b2", "customer_id": "b2", "type": "incident"},  # no reply
        ],
    )
    result = compute_survival(engine, EARLIER, by="tta_bucket")
    assert {g["group"]: g["customers"] for g in result["groups"]} == {
        "reply time unknown": 1,
        "no reply": 1,
    }
