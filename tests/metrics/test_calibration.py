"""The calibration statistics (metrics.calibration): false claims with their exact binomial
test and Clopper-Pearson interval, coverage, and a verdict's status; hand-computed numbers,
checked against scipy."""

from __future__ import annotations

import pytest
from scipy.stats import binom, binomtest

from metrics.calibration import (
    coverage,
    critical_claims,
    critical_misses,
    false_claims,
    power,
    status,
)

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
        "critical_claims": None,
        "power": None,
        "enough_worlds": None,
    }


def test_coverage_counts_intervals_that_hold_the_truth_ends_included() -> None:
    # truth 1.0: [-1, 1] holds it (its end), [0.5, 2] holds it, [2, 3] does not; the interval
    # without ends is not counted. 2 of 3 = 66.7% < 93%.
    found = coverage([(-1.0, 1.0), (0.5, 2.0), (2.0, 3.0), (None, None)], 1.0)
    assert (found["intervals"], found["covered"], found["passes"]) == (3, 2, False)
    assert found["share"] == pytest.approx(2 / 3)
    # 14 of 15 = 93.3% >= 93%
    assert coverage([(0.0, 2.0)] * 14 + [(3.0, 4.0)], 1.0)["passes"] is True


def test_coverage_without_truth_or_intervals() -> None:
    assert coverage([(0.0, 1.0)], None)["share"] is None
    assert coverage([], 0.0) == {
        "intervals": 0,
        "covered": None,
        "share": None,
        "passes": None,
        "critical_misses": None,
        "power": None,
        "enough_worlds": None,
    }


def _scipy_critical(n: int) -> int | None:
    """The fewest claims binomtest rejects at 0.01: the reference for critical_claims."""
    return next(
        (k for k in range(n + 1) if binomtest(k, n, 0.05, alternative="greater").pvalue < 0.01),
        None,
    )


def test_the_fewest_false_claims_the_test_rejects_by_hand_and_by_scipy() -> None:
    # n 10: P(X >= 3) = 1 - 0.95^10 - 10 * 0.05 * 0.95^9 - 45 * 0.0025 * 0.95^8
    #   = 1 - 0.598737 - 0.315125 - 0.074635 = 0.011504 >= 0.01: 3 claims are not rejected;
    #   P(X >= 4) = 0.011504 - 120 * 0.05^3 * 0.95^7 = 0.011504 - 0.010475 = 0.001028 < 0.01
    assert critical_claims(10) == 4
    # n 1: one claim of one has p 0.05: the test can never reject
    assert critical_claims(1) is None
    for n in (2, 5, 10, 20, 45, 50, 200):
        assert critical_claims(n) == _scipy_critical(n)


def test_power_against_a_15_percent_rate_by_hand_and_by_scipy() -> None:
    # n 10, 4 claims needed, true rate 0.15: P(X >= 4) = 1 - 0.85^10 - 10 * 0.15 * 0.85^9
    #   - 45 * 0.0225 * 0.85^8 - 120 * 0.003375 * 0.85^7 = 1 - 0.196874 - 0.347425
    #   - 0.275897 - 0.129834 = 0.049970
    assert power(10, 4) == pytest.approx(0.049970, abs=1e-6)
    assert power(1, None) == 0.0
    for n in (10, 45, 50, 200):
        assert power(n, _scipy_critical(n)) == pytest.approx(
            binom.sf(_scipy_critical(n) - 1, n, 0.15)
        )


def test_enough_worlds_is_half_a_chance_of_catching_15_percent() -> None:
    # scipy: 45 verdicts need 7 claims, caught with probability 0.5218; 50 need 8: 0.4812
    assert false_claims(["not_detected"] * 45)["enough_worlds"] is True
    assert false_claims(["not_detected"] * 50)["enough_worlds"] is False
    assert false_claims(["not_detected"] * 200)["enough_worlds"] is True
    # 10 worlds (make test's run): 4 claims needed, caught with probability 0.05
    found = false_claims(["not_detected"] * 10)
    assert (found["critical_claims"], found["enough_worlds"]) == (4, False)


def test_coverage_has_enough_worlds_from_five_intervals() -> None:
    # 14 intervals: 13/14 = 92.9% < 93%, one miss fails; 15: 14/15 = 93.3%, two are needed
    assert (critical_misses(14), critical_misses(15)) == (1, 2)
    # one miss needed: P(a miss | 15%) = 1 - 0.85^n: n 4 -> 0.4780, n 5 -> 0.5563
    assert coverage([(0.0, 2.0)] * 4, 1.0)["enough_worlds"] is False
    found = coverage([(0.0, 2.0)] * 5, 1.0)
    assert found["power"] == pytest.approx(0.556295, abs=1e-6)
    assert found["enough_worlds"] is True


ENOUGH = {"passes": True, "enough_worlds": True}
FEW = {"passes": True, "enough_worlds": False}
NONE = {"passes": None, "enough_worlds": None}


def test_a_verdict_passes_only_when_every_check_was_made_with_enough_worlds() -> None:
    assert status(ENOUGH, ENOUGH, ENOUGH) == "pass"
    assert status(None, ENOUGH, ENOUGH) == "pass"  # CSAT: no false-claim check applies
    # NPS without a verdict in a world without an effect: the false claims are not checked
    assert status(NONE, ENOUGH, ENOUGH) == "not_checked"
    assert status(ENOUGH, NONE, ENOUGH) == "not_checked"  # no truth or no interval
    assert status(None) == "not_checked"  # nothing applies
    # one world without an effect, its interval holding the truth (1/1): too few to judge
    one = false_claims(["not_detected"])
    held = coverage([(0.0, 2.0)], 1.0)
    assert (one["passes"], held["passes"]) == (True, True)
    assert status(one, held, held) == "too_few_worlds"


def test_failures_and_too_few_worlds() -> None:
    # 3 claims of 3: p = 0.05^3 = 0.000125 < 0.01, an exact test: fails with few worlds
    three = false_claims(["holds"] * 3)
    assert (three["passes"], three["enough_worlds"]) == (False, False)
    assert status(three, ENOUGH, ENOUGH) == "fail"
    # 0 of 1 intervals: a correct interval misses once in 20, too few to fail the verdict
    missed = coverage([(2.0, 3.0)], 1.0)
    assert (missed["passes"], missed["enough_worlds"]) == (False, False)
    assert status(ENOUGH, missed, ENOUGH) == "too_few_worlds"
    # 4 of 5 (80%) with enough intervals fails
    assert status(ENOUGH, coverage([(0.0, 2.0)] * 4 + [(2.0, 3.0)], 1.0)) == "fail"
    assert status(NONE, {"passes": False, "enough_worlds": True}) == "fail"
