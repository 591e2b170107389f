"""The paradox test's statistics: Wilson and Newcombe against statsmodels and Newcombe's
published example, Rocks's adjusted Wald NPS by hand, the minimum group size, and direct
standardisation (by hand, and through the warehouse on DuckDB and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from metrics import MetricParams, compute_kpis
from metrics.paradox import (
    Group,
    crude_delta,
    matched_delta,
    newcombe,
    nps_difference,
    nps_interval,
    wilson,
)
from tests.metrics.rows import insert

Z = 1.959963984540054
SIZES = (1, 5, 30)


def _successes(n: int) -> list[int]:
    """p = 0, p = 1 and one share between."""
    return sorted({0, n, n // 2 + (n % 2)})


@pytest.mark.parametrize("n", SIZES)
def test_wilson_matches_statsmodels_at_the_extremes(n):
    for x in _successes(n):
        expected = proportion_confint(x, n, method="wilson")
        assert wilson(x / n, n) == pytest.approx(expected, abs=1e-9)
        low, high = wilson(x / n, n)
        assert high - low > 0.05  # never zero width, even at p = 0 or 1


@pytest.mark.parametrize("n1", SIZES)
@pytest.mark.parametrize("n2", SIZES)
def test_newcombe_matches_statsmodels_at_the_extremes(n1, n2):
    for x1 in _successes(n1):
        for x2 in _successes(n2):
            expected = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
            found = newcombe(Group(n1, x1 / n1), Group(n2, x2 / n2))
            assert found == pytest.approx(expected, abs=1e-9), (x1, n1, x2, n2)
            assert found[1] - found[0] > 0.05


def test_newcombe_reproduces_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II, example (a):
    # 56/70 - 48/80, method 10 (hybrid score): 0.0524 to 0.3339.
    low, high = newcombe(Group(70, 56 / 70), Group(80, 48 / 80))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_the_adjusted_wald_nps_of_one_promoter():
    # n' = 4, promoters (1 + 3/4)/4 = 0.4375, detractors 0.75/4 = 0.1875: NPS' = 0.25,
    # variance 0.4375 + 0.1875 - 0.25^2 = 0.5625, SE sqrt(0.5625 / 4) = 0.375.
    low, high = nps_interval(Group(1, 1.0, 0.0))
    assert (low, high) == pytest.approx((100 * (0.25 - Z * 0.375), 100 * (0.25 + Z * 0.375)))


@pytest.mark.parametrize("n", SIZES)
def test_the_adjusted_wald_nps_has_width_when_every_response_is_a_promoter(n):
    promoters = (n + 0.75) / (n + 3)
    detractors = 0.75 / (n + 3)
    estimate = promoters - detractors
    margin = Z * math.sqrt((promoters + detractors - estimate**2) / (n + 3))
    low, high = nps_interval(Group(n, 1.0, 0.0))
    assert low == pytest.approx(100 * (estimate - margin))
    assert high == pytest.approx(min(100.0, 100 * (estimate + margin)))
    assert high - low > 5
    # every response a detractor: the mirror image
    assert nps_interval(Group(n, 0.0, 1.0)) == pytest.approx((-high, -low))


@pytest.mark.parametrize("n", SIZES)
def test_the_nps_difference_of_two_unanimous_groups(n):
    """Promoters only against detractors only: the adjusted interval, never zero width."""
    e = ((n + 0.75) - 0.75) / (n + 3)  # each group's adjusted NPS is +-e
    p, d = (n + 0.75) / (n + 3), 0.75 / (n + 3)
    variance = (p + d - e**2) / (n + 3)
    margin = Z * math.sqrt(2 * variance)
    low, high = nps_difference(Group(n, 1.0, 0.0), Group(n, 0.0, 1.0))
    assert (low, high) == pytest.approx((100 * (2 * e - margin), min(200, 100 * (2 * e + margin))))


def test_below_the_minimum_size_the_verdict_is_not_enough_data():
    strong = Group(30, 1.0)
    weak = Group(30, 0.0)
    assert crude_delta(strong, weak, "ratio", 30)["verdict"] == "holds"
    small = crude_delta(Group(29, 1.0), weak, "ratio", 30)
    assert small["verdict"] == "not_enough_data"
    assert small["value"] == 1.0 and small["ci_low"] is not None  # shown, not judged
    assert crude_delta(Group(1, 1.0), Group(1, 0.0), "ratio", 1)["verdict"] == "not_detected"
    empty = crude_delta(Group(0), weak, "ratio", 1)
    assert (empty["value"], empty["ci_low"], empty["verdict"]) == (None, None, "not_enough_data")


# Simpson's paradox by design: recovered customers are mostly in stratum A, where everyone
# stays more, and the never-failed mostly in B. Crude rates are equal (32/40 each); within
# each stratum recovered customers stay 0.4 more in A and 0.4 less in B.
STRATA = {
    "a": ((30, 27), (10, 5)),  # (recovered n, retained), (never_failed n, retained)
    "b": ((10, 5), (30, 27)),
}


def _hand_standardised() -> tuple[float, float, float]:
    value = centre = variance = 0.0
    total = sum(r[0] for r, _ in STRATA.values())
    for (n1, x1), (n2, x2) in STRATA.values():
        w = n1 / total
        value += w * (x1 / n1 - x2 / n2)
        a1, a2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)  # Agresti-Caffo
        centre += w * (a1 - a2)
        variance += w * w * (a1 * (1 - a1) / (n1 + 2) + a2 * (1 - a2) / (n2 + 2))
    margin = Z * math.sqrt(variance)
    return value, centre - margin, centre + margin


def test_direct_standardisation_by_hand():
    strata = [(Group(n1, x1 / n1), Group(n2, x2 / n2)) for (n1, x1), (n2, x2) in STRATA.values()]
    strata.append((Group(7, 1.0), Group(0)))  # recovered customers with no one to match
    found = matched_delta(strata, "ratio", 30)
    value, low, high = _hand_standardised()
    assert value == pytest.approx(0.2)  # 0.75 * 0.4 + 0.25 * -0.4
    assert (found["value"], found["ci_low"], found["ci_high"]) == pytest.approx((value, low, high))
    assert found["n"] == {"recovered": 40, "never_failed": 40}
    assert found["unmatched"] == {"recovered": 7}
    assert found["strata"] == 2


AS_OF = dt.datetime(2024, 6, 1)
T0 = AS_OF - dt.timedelta(days=90)


def _stratified_warehouse(engine) -> None:
    customers, tickets = [], []
    for segment, groups in STRATA.items():
        for group, (n, retained) in zip(("rec", "never"), groups, strict=True):
            for i in range(n):
                customer_id = f"{segment}-{group}-{i}"
                customers.append(
                    {
                        "customer_id": customer_id,
                        "signup_at": T0 - dt.timedelta(days=500),
                        "churned_at": None if i < retained else AS_OF - dt.timedelta(days=10),
                        "segment": segment,
                        "plan": "pro",
                    }
                )
                if group == "rec":
                    tickets.append(
                        {
                            "ticket_id": f"t-{customer_id}",
                            "customer_id": customer_id,
                            "created_at": T0 - dt.timedelta(days=60),
                            "solved_at": T0 - dt.timedelta(days=59),
                            "status": "solved",
                            "type": "incident",
                            "csat": "good",
                        }
                    )
    insert(engine, "customers", customers)
    insert(engine, "tickets", tickets)


def test_the_warehouse_standardises_and_splits_by_segment(any_engine):
    _stratified_warehouse(any_engine)
    # Definitions "2026-11": pseudo-counts per stratum (test_paradox_clusters has "2026-12").
    result = compute_kpis(any_engine, MetricParams(as_of=AS_OF, definitions="2026-11"))
    crude = result["paradox"]["retention_delta"]
    assert crude["value"] == pytest.approx(0.0)  # 32/40 against 32/40
    assert crude["verdict"] == "not_detected"
    matched = crude["matched"]
    value, low, high = _hand_standardised()
    assert (matched["value"], matched["ci_low"], matched["ci_high"]) == pytest.approx(
        (value, low, high)
    )
    assert matched["strata"] == 2 and matched["n"] == {"recovered": 40, "never_failed": 40}
    by_segment = {row["segment"]: row["retention_delta"] for row in result["paradox_by_segment"]}
    assert by_segment["a"]["value"] == pytest.approx(0.9 - 0.5)
    assert by_segment["b"]["value"] == pytest.approx(0.5 - 0.9)
    assert by_segment["a"]["n"] == {"recovered": 30, "never_failed": 10}
    assert by_segment["a"]["verdict"] == "not_enough_data"  # 10 never-failed, below 30
