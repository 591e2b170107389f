"""The value of recovery against the unrecovered path, its cost and return, and
compensation's own effect on retention (definitions 2026-12), by hand, on DuckDB and
PostgreSQL; the 2026-11 fields keep their earlier values."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from statsmodels.regression.linear_model import WLS
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.tools import add_constant

from metrics import MetricParams
from metrics.recovery import compute_recovery
from tests.metrics.rows import insert

AS_OF = dt.datetime(2024, 6, 1)  # H = 90 days: t0 = 3 March 2024; look-back from 4 March 2023
SIGNUP = dt.datetime(2023, 1, 1)
DAYS_PER_MONTH = 365.25 / 12  # 30.4375


def customer(customer_id, mrr, churned_at=None):
    return {"customer_id": customer_id, "signup_at": SIGNUP, "churned_at": churned_at, "mrr": mrr}


def failure(customer_id, created_at, compensation=None, ticket_id=None, **columns):
    return {
        "ticket_id": ticket_id or f"f-{customer_id}",
        "customer_id": customer_id,
        "created_at": created_at,
        "first_reply_at": created_at + dt.timedelta(hours=1),
        "solved_at": created_at + dt.timedelta(days=1),
        "status": "solved",
        "type": "incident",
        "reopens": 0,
        "compensation": compensation,
    } | columns


JANUARY = dt.datetime(2024, 1, 10, 9)


@pytest.fixture
def warehouse(any_engine):
    """At t0 (3 March), in (t0, t0 + 90 d]:
    recovered r1 (MRR 100, stays: 90 days, paid 10), r2 (MRR 200, churns 2 May: 60 days,
    paid 30); unrecovered (reopened) u1 (MRR 50, churns 18 March: 15 days, paid 5) and u2
    (MRR 150, stays: 90 days, paid nothing); in_recovery i1 (MRR 80, failure open at t0,
    paid 20, stays); never-failed n1. Not in the cost: r1's 1000 on a failure before the
    look-back and 7 on one after t0, and x1's 500 (churned before t0, not grouped then)."""
    insert(
        any_engine,
        "customers",
        [
            customer("r1", 100.0),
            customer("r2", 200.0, dt.datetime(2024, 5, 2)),
            customer("u1", 50.0, dt.datetime(2024, 3, 18)),
            customer("u2", 150.0),
            customer("i1", 80.0),
            customer("n1", 80.0),
            customer("x1", 60.0, dt.datetime(2024, 2, 1)),
        ],
    )
    insert(
        any_engine,
        "tickets",
        [
            failure("r1", JANUARY, 10.0),
            failure("r1", dt.datetime(2023, 1, 15), 1000.0, ticket_id="f-r1-old"),
            failure("r1", dt.datetime(2024, 4, 1), 7.0, ticket_id="f-r1-later"),
            failure("r2", JANUARY, 30.0),
            failure("u1", JANUARY, 5.0, reopens=1),
            failure("u2", JANUARY, reopens=2),
            failure("i1", dt.datetime(2024, 2, 20), 20.0, solved_at=dt.datetime(2024, 3, 10)),
            failure("x1", JANUARY, 500.0),
        ],
    )
    return any_engine


def test_value_of_recovery_by_hand(warehouse):
    money = compute_recovery(warehouse, MetricParams(as_of=AS_OF))["economics"]
    value = money["value_of_recovery"]
    assert value["window_start"] == "2024-03-03T00:00:00Z"
    assert value["window_end"] == "2024-06-01T00:00:00Z"
    assert value["cost_window_start"] == "2023-03-04T00:00:00Z"
    assert value["currency"] == "USD"
    assert (value["recovered_customers"], value["unrecovered_customers"]) == (2, 2)
    assert value["small"] is True  # 2 customers each, below 30
    # The unrecovered path: u1 15 days, u2 90 days -> (15 + 90) / 2 = 52.5 days of 90.
    assert value["unrecovered_path_days"] == pytest.approx(52.5)
    # ... weighed by MRR for money: (50 x 15 + 150 x 90) / (50 + 150) = 14250 / 200 = 71.25.
    assert value["unrecovered_revenue_path_days"] == pytest.approx(71.25)
    # Recovered customer-months: (90 + 60) / 30.4375; at the path: 2 x 52.5 / 30.4375.
    assert value["customer_months_kept"] == pytest.approx(150 / DAYS_PER_MONTH)
    assert value["customer_months_at_unrecovered_path"] == pytest.approx(105 / DAYS_PER_MONTH)
    # Revenue: (100 x 90 + 200 x 60) / 30.4375 = 21000 / 30.4375 = 689.94;
    # at the path: (100 + 200) x 71.25 / 30.4375 = 21375 / 30.4375 = 702.26.
    assert value["revenue_from_recovered"] == pytest.approx(21000 / DAYS_PER_MONTH)
    assert value["revenue_at_unrecovered_path"] == pytest.approx(21375 / DAYS_PER_MONTH)
    # gain = -375 / 30.4375 = -12.32: the unrecovered customer who stayed pays the most, so
    # recovered customers' revenue stayed below the unrecovered path's. (Unweighted, the path
    # of 52.5 days would have shown a gain of 5250 / 30.4375 = +172.48.)
    assert value["gain"] == pytest.approx(-12.320328542094456)
    # cost = 10 + 30 (recovered) + 5 + 0 (unrecovered) + 20 (in recovery) = 65
    assert value["cost_by_group"] == {"recovered": 40.0, "unrecovered": 5.0, "in_recovery": 20.0}
    assert value["cost"] == pytest.approx(65.0)
    # return = (-12.32 - 65) / 65 = -1.1895
    assert value["return"] == pytest.approx((-12.320328542094456 - 65.0) / 65.0)
    assert value["return"] == pytest.approx(-1.1895435160322225)
    # The interval: gain = 300 / 30.4375 x (R_r - R_u), the MRR-weighted mean days
    # R_r = 21000 / 300 = 70, R_u = 71.25. Sandwich variances Σ m² (d - R)² / (Σ m)²:
    # recovered (100² x 20² + 200² x 10²) / 300² = 8,000,000 / 90,000 = 88.889;
    # unrecovered (50² x 56.25² + 150² x 18.75²) / 200² = 15,820,312.5 / 40,000 = 395.508.
    # half width 1.959964 x sqrt(484.397) x 300 / 30.4375 = 1.959964 x 22.00901 x 9.85626.
    half = 1.959963984540054 * math.sqrt(8_000_000 / 90_000 + 15_820_312.5 / 40_000) * 300
    half /= DAYS_PER_MONTH
    assert half == pytest.approx(425.16, abs=0.01)
    assert (value["gain_ci_low"], value["gain_ci_high"]) == pytest.approx(
        (-12.320328542094456 - half, -12.320328542094456 + half)
    )
    assert (value["return_ci_low"], value["return_ci_high"]) == pytest.approx(
        ((-12.320328542094456 - half - 65) / 65, (-12.320328542094456 + half - 65) / 65)
    )
    assert value["method"] == "mrr_weighted_ratio_sandwich"


def test_the_currency_is_the_configured_one(warehouse):
    money = compute_recovery(warehouse, MetricParams(as_of=AS_OF, currency="EUR"))["economics"]
    assert money["value_of_recovery"]["currency"] == "EUR"


def test_compensation_effect_by_hand(warehouse):
    effect = compute_recovery(warehouse, MetricParams(as_of=AS_OF))["economics"][
        "compensation_effect"
    ]
    # Compensated: r1 (stays), r2 (churns), u1 (churns), i1 (stays): 2 of 4.
    # Not compensated: u2 (stays): 1 of 1. Difference 0.5 - 1.0 = -0.5.
    assert effect["compensated"] == {"customers": 4, "retention": 0.5}
    assert effect["not_compensated"] == {"customers": 1, "retention": 1.0}
    assert effect["difference"] == pytest.approx(-0.5)
    low, high = confint_proportions_2indep(2, 4, 1, 1, method="newcomb", compare="diff")
    assert (effect["ci_low"], effect["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert effect["ci_low"] < 0 < effect["ci_high"]  # no effect shown on 5 customers


def test_without_unrecovered_customers_there_is_no_path_but_a_cost(any_engine):
    insert(any_engine, "customers", [customer("r1", 100.0)])
    insert(any_engine, "tickets", [failure("r1", JANUARY, 10.0)])
    value = compute_recovery(any_engine, MetricParams(as_of=AS_OF))["economics"][
        "value_of_recovery"
    ]
    assert value["customer_months_kept"] == pytest.approx(90 / DAYS_PER_MONTH)
    assert value["gain"] is None and value["return"] is None
    assert value["cost"] == pytest.approx(10.0)


def test_earlier_definitions_keep_net_gain_and_roi(warehouse):
    """2026-11: net_gain multiplies the end-of-horizon MRR gap by H in months and weighs it
    against the compensation of recovered customers since the data starts."""
    earlier = compute_recovery(warehouse, MetricParams(as_of=AS_OF, definitions="2026-11"))
    money = earlier["economics"]
    assert money["value_of_recovery"] is None and money["compensation_effect"] is None
    # Recovered r1 + r2 paid 10 + 1000 + 30 = 1040 by t0 (r1's April ticket came later).
    assert money["compensation_recovered"] == pytest.approx(1040.0)
    # MRR kept: r1's 100 (r2 left); at the unrecovered rate (u2 of u1, u2: 1/2): 150.
    assert money["mrr_gained"] == pytest.approx(100.0 - 150.0)
    net = -50.0 * 90 / DAYS_PER_MONTH - 1040.0
    assert money["net_gain"] == pytest.approx(net)
    assert money["roi"] == pytest.approx(net / 1040.0)
    current = compute_recovery(warehouse, MetricParams(as_of=AS_OF))["economics"]
    assert current["net_gain"] is None and current["roi"] is None  # replaced, not redefined
    for same in ("compensation_total", "compensation_recovered", "mrr_kept", "mrr_gained"):
        assert current[same] == pytest.approx(money[same])


@pytest.mark.parametrize("seed", range(3))
def test_value_of_recovery_matches_plain_python_on_random_worlds(engine, seed):
    """The warehouse's sums against the definition computed customer by customer."""
    rng = random.Random(seed)
    t0 = AS_OF - dt.timedelta(days=90)
    people, tickets, expected = [], [], {"recovered": [], "unrecovered": []}
    cost = 0.0
    for i in range(12):
        mrr = float(rng.choice([20, 50, 80, 200]))
        days = rng.choice([None, 3.5, 20.25, 60.0, 89.0])  # None: still a customer
        churned = None if days is None else t0 + dt.timedelta(days=days)
        people.append(customer(f"c{i}", mrr, churned))
        group = rng.choice(["recovered", "unrecovered"])
        paid = rng.choice([None, 0.0, 15.0, 40.0])
        reopens = 0 if group == "recovered" else 1
        tickets.append(failure(f"c{i}", JANUARY, paid, reopens=reopens))
        cost += paid or 0.0
        expected[group].append((mrr, 90.0 if days is None else days))
    insert(engine, "customers", people)
    insert(engine, "tickets", tickets)
    value = compute_recovery(engine, MetricParams(as_of=AS_OF))["economics"]["value_of_recovery"]
    if not expected["recovered"] or not expected["unrecovered"]:
        assert value["gain"] is None
        return
    path = sum(d for _, d in expected["unrecovered"]) / len(expected["unrecovered"])
    weights = sum(m for m, _ in expected["unrecovered"])
    revenue_path = sum(m * d for m, d in expected["unrecovered"]) / weights
    gain = sum(m * (d - revenue_path) for m, d in expected["recovered"]) / DAYS_PER_MONTH
    assert value["unrecovered_path_days"] == pytest.approx(path)
    assert value["unrecovered_revenue_path_days"] == pytest.approx(revenue_path)
    assert value["gain"] == pytest.approx(gain)
    assert value["cost"] == pytest.approx(cost)
    assert value["return"] == (pytest.approx((gain - cost) / cost) if cost else None)
    # The gain's interval against statsmodels: weighted least squares of days on a
    # recovered indicator, weights MRR, with the HC0 sandwich covariance; its slope is the
    # difference of the MRR-weighted mean days.
    rows = [(1.0, m, d) for m, d in expected["recovered"]]
    rows += [(0.0, m, d) for m, d in expected["unrecovered"]]
    fit = WLS(
        [d for *_, d in rows], add_constant([x for x, *_ in rows]), weights=[m for _, m, _ in rows]
    ).fit(cov_type="HC0")
    scale = sum(m for m, _ in expected["recovered"]) / DAYS_PER_MONTH
    assert fit.params[1] * scale == pytest.approx(gain)
    half = 1.959963984540054 * fit.bse[1] * scale
    assert value["gain_ci_low"] == pytest.approx(gain - half)
    assert value["gain_ci_high"] == pytest.approx(gain + half)
