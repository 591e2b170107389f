"""NPS, NPS per recovery group and the recovery paradox on hand-computed rows."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest

from metrics import MetricParams, compute_kpis, recovery_groups
from metrics.catalog import PARADOX_DELTAS
from metrics.paradox import paradox_delta, verdict
from metrics.queries import Estimate
from tests.metrics.rows import insert


@pytest.fixture
def engine(any_engine):
    """Every test here runs on DuckDB and on PostgreSQL."""
    return any_engine


AS_OF = dt.datetime(2024, 6, 1)
YEAR_AGO = AS_OF - dt.timedelta(days=365)
DAY = dt.timedelta(days=1)
Z = 1.959964
_ids = itertools.count()


def response(customer_id: str, responded_at: dt.datetime, score: int) -> dict:
    return {
        "response_id": f"r{next(_ids)}",
        "customer_id": customer_id,
        "responded_at": responded_at,
        "score": score,
    }


def failure(customer_id: str, solved_at: dt.datetime | None, **columns) -> dict:
    return {
        "ticket_id": f"t{next(_ids)}",
        "customer_id": customer_id,
        "created_at": AS_OF - 100 * DAY,
        "type": "problem",
        "status": "solved" if solved_at else "open",
        "solved_at": solved_at,
    } | columns


def result(engine) -> dict:
    return compute_kpis(engine, MetricParams(as_of=AS_OF))


def earlier(engine) -> dict:
    """Definitions "2026-11": Rocks's adjusted Wald interval for the NPS delta."""
    return compute_kpis(engine, MetricParams(as_of=AS_OF, definitions="2026-11"))


def test_nps_counts_responses_in_the_365_days_up_to_as_of(engine):
    insert(
        engine,
        "nps_responses",
        [
            response("c1", YEAR_AGO, 0),  # window start is excluded
            response("c1", YEAR_AGO + dt.timedelta(minutes=1), 10),
            response("c2", AS_OF - 9 * DAY, 9),
            response("c2", AS_OF - 8 * DAY, 7),  # passive
            response("c3", AS_OF, 6),  # as_of itself is included
            response("c3", AS_OF + dt.timedelta(seconds=1), 0),  # not given yet
        ],
    )
    assert result(engine)["kpis"]["nps"] == pytest.approx(100 * (2 - 1) / 4)


def test_nps_recovered_counts_responses_after_the_last_failure_was_solved(engine):
    first_solved, last_solved = AS_OF - 50 * DAY, AS_OF - 20 * DAY
    insert(
        engine,
        "tickets",
        [
            failure("rec", first_solved),
            failure("rec", last_solved, tags=["billing_error"], type=None),
            failure("unrec", first_solved, reopens=1, csat="bad"),
        ],
    )
    insert(
        engine,
        "nps_responses",
        [
            response("rec", first_solved + DAY, 0),  # between two failures: not recovered yet
            response("rec", last_solved, 0),  # at the moment of solving: not after it
            response("rec", last_solved + DAY, 10),
            response("rec", last_solved + 2 * DAY, 8),
            response("unrec", last_solved + DAY, 0),
            response("never", AS_OF - DAY, 9),
            response("never", AS_OF - DAY, 3),
            response("never", AS_OF - DAY, 4),
        ],
    )
    kpis = result(engine)["kpis"]
    assert kpis["nps_recovered"] == pytest.approx(100 * 1 / 2)
    assert kpis["nps_never_failed"] == pytest.approx(100 * (1 - 2) / 3)
    assert kpis["nps"] == pytest.approx(100 * (2 - 5) / 8)
    rows = {
        row["group"]: row
        for row in recovery_groups(engine, MetricParams(as_of=AS_OF)).rows(named=True)
    }
    assert rows["unrecovered"]["nps_responses"] == 1
    assert rows["unrecovered"]["nps"] == pytest.approx(-100.0)


def test_a_response_counts_once_the_group_it_counts_for_has_settled(engine):
    # Look-back 365 days. "left": never failed at as_of, but a failure created 400 days
    # before as_of left the look-back 35 days before as_of; "rec": recovered at as_of (a
    # failure solved 60 days before), with an older reopened failure that left the
    # look-back 30 days before as_of; "never": no failure at all.
    insert(
        engine,
        "tickets",
        [
            failure("left", AS_OF - 399 * DAY, created_at=AS_OF - 400 * DAY),
            failure("rec", AS_OF - 60 * DAY, created_at=AS_OF - 61 * DAY),
            failure("rec", AS_OF - 380 * DAY, created_at=AS_OF - 395 * DAY, reopens=1),
        ],
    )
    insert(
        engine,
        "nps_responses",
        [
            response("left", AS_OF - 36 * DAY, 0),  # failure still in the look-back: out
            response("left", AS_OF - 35 * DAY, 10),  # at its leaving: never failed since
            response("rec", AS_OF - 40 * DAY, 10),  # after the solve, still unrecovered: out
            response("rec", AS_OF - 10 * DAY, 9),
            response("never", AS_OF - 300 * DAY, 8),
        ],
    )
    kpis = result(engine)
    # never failed: left +100, never 0 -> 50 of 2; recovered: +100 of 1.
    assert kpis["kpis"]["nps_never_failed"] == pytest.approx(50.0)
    assert kpis["n"]["nps_never_failed"] == 2
    assert kpis["kpis"]["nps_recovered"] == pytest.approx(100.0)
    assert kpis["n"]["nps_recovered"] == 1
    # Under 2026-11 every failure since the data began groups a customer ("left" recovered,
    # "rec" unrecovered by its reopened failure): the never-failed NPS is "never" alone.
    assert earlier(engine)["kpis"]["nps_never_failed"] == pytest.approx(0.0)


def test_nps_of_a_group_without_responses_is_none(engine):
    insert(engine, "nps_responses", [response("never", AS_OF - DAY, 10)])
    kpis = result(engine)["kpis"]
    assert kpis["nps_recovered"] is None
    delta = result(engine)["paradox"]["nps_delta"]
    assert delta["verdict"] == "not_enough_data"
    assert (delta["value"], delta["ci_low"], delta["ci_high"]) == (None, None, None)
    assert delta["n"] == {"recovered": 0, "never_failed": 1}


def _paradox_rows(engine, recovered_scores: list[int], never_failed_scores: list[int]) -> None:
    solved_at = AS_OF - 30 * DAY
    recovered = [f"rec{i}" for i in range(len(recovered_scores))]
    insert(engine, "tickets", [failure(c, solved_at, csat="good") for c in recovered])
    insert(
        engine,
        "nps_responses",
        [response(c, AS_OF - DAY, s) for c, s in zip(recovered, recovered_scores, strict=True)]
        + [response(f"never{i}", AS_OF - DAY, s) for i, s in enumerate(never_failed_scores)],
    )


def _adjusted_wald(first: tuple[int, int, int], second: tuple[int, int, int]) -> tuple:
    """Rocks (2016): per group (promoters, detractors, n), add 3/4 promoter, 3/4 detractor
    and 3 responses; the difference's interval on the -100..100 scale."""

    def adjusted(promoters, detractors, n):
        pro, det = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
        return pro - det, (pro + det - (pro - det) ** 2) / (n + 3)

    (e1, v1), (e2, v2) = adjusted(*first), adjusted(*second)
    margin = Z * math.sqrt(v1 + v2)
    return 100 * (e1 - e2 - margin), 100 * (e1 - e2 + margin)


def test_nps_paradox_holds_when_the_interval_is_above_zero(engine):
    _paradox_rows(engine, [10, 10, 10, 0] * 10, [0, 0, 0, 10] * 10)
    delta = earlier(engine)["paradox"]["nps_delta"]
    low, high = _adjusted_wald((30, 10, 40), (10, 30, 40))
    # 50 - (-50): the raw difference; the interval is centred on the adjusted one (46.5)
    assert delta["value"] == pytest.approx(100.0)
    assert (delta["ci_low"], delta["ci_high"]) == pytest.approx((low, high))
    assert delta["verdict"] == "holds"
    assert delta["method"] == "adjusted_wald_nps"
    assert delta["n"] == {"recovered": 40, "never_failed": 40}


def test_nps_paradox_is_reversed_when_the_interval_is_below_zero(engine):
    _paradox_rows(engine, [0, 0, 0, 10] * 10, [10, 10, 10, 0] * 10)
    assert result(engine)["paradox"]["nps_delta"]["verdict"] == "reversed"


def test_nps_paradox_on_few_responses_is_not_enough_data(engine):
    _paradox_rows(engine, [10, 10, 10, 0], [0, 0, 0, 10])
    delta = earlier(engine)["paradox"]["nps_delta"]
    assert delta["value"] == pytest.approx(100.0)
    assert (delta["ci_low"], delta["ci_high"]) == pytest.approx(
        _adjusted_wald((3, 1, 4), (1, 3, 4))
    )
    assert delta["ci_low"] < 0 < delta["ci_high"]
    assert delta["verdict"] == "not_enough_data"  # 4 responses a group, below 30


def test_retention_paradox_uses_newcombes_interval(engine):
    from statsmodels.stats.proportion import confint_proportions_2indep

    t0 = AS_OF - 90 * DAY
    signup_at = t0 - 200 * DAY
    recovered = [f"rec{i}" for i in range(40)]
    never = [f"never{i}" for i in range(40)]
    insert(
        engine,
        "customers",
        [{"customer_id": c, "signup_at": signup_at, "churned_at": None} for c in recovered]
        + [
            {
                "customer_id": c,
                "signup_at": signup_at,
                "churned_at": AS_OF - DAY if i < 20 else None,
            }
            for i, c in enumerate(never)
        ],
    )
    insert(
        engine,
        "tickets",
        [failure(c, t0 - 150 * DAY, created_at=t0 - 160 * DAY) for c in recovered[:36]],
    )
    # recovered: 36 customers, all retained; never_failed: 4 retained + 40 with 20 churned
    low, high = confint_proportions_2indep(36, 36, 24, 44, method="newcomb", compare="diff")
    delta = result(engine)["paradox"]["retention_delta"]
    assert delta["value"] == pytest.approx(1 - 24 / 44)
    assert (delta["ci_low"], delta["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    assert delta["verdict"] == "holds"
    assert delta["method"] == "newcombe_hybrid_score"
    assert delta["n"] == {"recovered": 36, "never_failed": 44}


def test_verdict_boundaries():
    assert verdict(0.1, 0.5) == "holds"
    assert verdict(0.0, 0.5) == "not_detected"
    assert verdict(-0.5, 0.0) == "not_detected"
    assert verdict(-0.5, -0.1) == "reversed"


def test_paradox_delta_without_data_in_a_group_is_none():
    estimates = {
        "nps_recovered": Estimate(None, 0, None),
        "nps_never_failed": Estimate(20.0, 10, 6000.0),
    }
    delta = paradox_delta(PARADOX_DELTAS["nps_delta"], estimates)
    assert delta["value"] is None and delta["verdict"] == "not_enough_data"
