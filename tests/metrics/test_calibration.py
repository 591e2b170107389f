"""The calibration statistics (metrics.calibration): false claims with their exact binomial
test and Clopper-Pearson interval, coverage, and a verdict's status; hand-computed numbers,
checked against scipy."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from metrics.calibration import coverage, false_claims, status

# 3 claims (2 holds, 1 reversed) among 20 verdicts given, 5 worlds without a verdict.
VERDICTS = ["holds", "holds", "reversed"] + ["not_detected"] * 17 + ["not_enough_data"] * 5


def test_false_claims_count_only_verdicts_given() -> None:
    found = false_claims(VERDICTS)
    assert (found["worlds"], found["judged"], found["claims"]) == (25, 20, 3)
    assert found["rate"] == pytest.approx(0.15)  # 3 / 20


def test_the_one_sided_binomial_test_by_hand_and_by_scipy() -> None:
    # P(X >= 3 | n 20, p 0.05) = 1 - P0 - P1 - P2
    #   P0 = 0.95^20 = 0.358486; P1 = 20 * 0.05 * 0.95^19 = 0.377354;
    #   P2 = 190 * 0.0025 * 0.95^18 = 0.188677  ->  1 - 0.924516 = 0.075484
    found = false_claims(VERDICTS)
    assert found["p_value"] == pytest.approx(0.075484, abs=1e-6)
    assert found["p_value"] == pytest.approx(binomtest(3, 20, 0.05, alternative="greater").pvalue)
    assert found["passes"] is True  # 0.0755 >= 0.01: "at most 5%" is not rejected


def test_too_many_false_claims_fail() -> None:
    # 5 of 20: P3 = 1140 * 0.05^3 * 0.95^17 = 0.059582; P4 = 4845 * 0.05^4 * 0.95^16 = 0.013328
    #   P(X >= 5) = 1 - (0.924516 + 0.059582 + 0.013328) = 0.002574 < 0.01
    found = false_claims(["holds"] * 5 + ["not_detected"] * 15)
    assert found["p_value"] == pytest.approx(0.002574, abs=1e-6)
    assert found["passes"] is False


def test_clopper_pearson_ends_by_hand() -> None:
    # 0 of 20: upper end 1 - 0.025^(1/20) = 1 - exp(ln(0.025) / 20) = 0.168433
    none = false_claims(["not_detected"] * 20)
    assert (none["ci_low"], none["ci_high"]) == (0.0, pytest.approx(0.168433, abs=1e-5))
    # 20 of 20: lower end 0.025^(1/20) = 0.831567
    every = false_claims(["reversed"] * 20)
    assert (every["ci_low"], every["ci_high"]) == (pytest.approx(0.831567, abs=1e-5), 1.0)


def test_clopper_pearson_matches_scipy() -> None:
    found = false_claims(VERDICTS)
    ci = binomtest(3, 20).proportion_ci(confidence_level=0.95, method="exact")
    assert (found["ci_low"], found["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_no_verdict_given_gives_no_rate() -> None:
    found = false_claims(["not_enough_data", None])
    assert found == {
        "worlds": 2,
        "judged": 0,
        "claims": 0,
        "rate": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "passes": None,
    }


def test_coverage_counts_intervals_that_hold_the_truth_ends_included() -> None:
    # truth 1.0: [-1, 1] holds it (its end), [0.5, 2] holds it, [2, 3] does not; the interval
    # without ends is not counted. 2 of 3 = 66.7% < 93%.
    found = coverage([(-1.0, 1.0), (0.5, 2.0), (2.0, 3.0), (None, None)], 1.0)
    assert found == {"intervals": 3, "covered": 2, "share": pytest.approx(2 / 3), "passes": False}
    # 14 of 15 = 93.3% >= 93%
    assert coverage([(0.0, 2.0)] * 14 + [(3.0, 4.0)], 1.0)["passes"] is True


def test_coverage_without_truth_or_intervals() -> None:
    assert coverage([(0.0, 1.0)], None)["share"] is None
    assert coverage([], 0.0) == {"intervals": 0, "covered": None, "share": None, "passes": None}


def test_status() -> None:
    assert status(True, None, True) == "pass"
    assert status(True, False) == "fail"
    assert status(None, None) == "not_available"
