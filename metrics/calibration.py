"""How often a verdict claims an effect that is not there, and how often its interval holds
the truth: the statistics of ``turnaround calibrate`` (docs/metrics.md, "Calibration").

A verdict is judged over many generated worlds. In worlds without an effect, every claim
(``holds`` or ``reversed``) is false; the false-claim rate is claims over the worlds that
gave a verdict (``not_enough_data`` claims nothing and is left out). It fails when an exact
one-sided binomial test rejects "false claims <= 5%" at alpha 0.01. Coverage is the share of
intervals that contain the true value; it fails below 93%. The rate's interval is the exact
(Clopper-Pearson) 95% interval. A check has enough worlds when a true rate of 15% false
claims (or of intervals missing the truth) would make it fail at least half the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scipy.stats import binom, binomtest

FALSE_CLAIM_LIMIT = 0.05  # the largest share of false claims a verdict may make
ALPHA = 0.01  # the binomial test's level
COVERAGE_FLOOR = 0.93  # the smallest share of 95% intervals that may hold the truth
CLAIMS = ("holds", "reversed")  # verdicts that claim an effect
JUDGED = ("holds", "not_detected", "reversed")  # verdicts given (not not_enough_data)
# A check with enough worlds fails at least POWER_FLOOR of the time when the true rate of
# false claims (or of intervals missing the truth) is BAD_RATE.
BAD_RATE = 0.15
POWER_FLOOR = 0.5


def critical_claims(n: int) -> int | None:
    """The fewest false claims among ``n`` verdicts at which the one-sided binomial test
    rejects "false claims <= FALSE_CLAIM_LIMIT" at ALPHA; None when no count can."""
    # P(X >= k) = binom.sf(k - 1): binomtest(k, n, p, "greater")'s p-value
    return next((k for k in range(n + 1) if binom.sf(k - 1, n, FALSE_CLAIM_LIMIT) < ALPHA), None)


def critical_misses(n: int) -> int | None:
    """The fewest of ``n`` intervals missing the truth at which coverage is below
    COVERAGE_FLOOR; None without an interval."""
    return next((m for m in range(n + 1) if (n - m) / n < COVERAGE_FLOOR), None) if n else None


def power(n: int, critical: int | None) -> float:
    """The chance that ``critical`` or more of ``n`` go wrong when each does at BAD_RATE: how
    often the check fails a verdict that is BAD_RATE wrong (0 when it can never fail)."""
    return 0.0 if critical is None else float(binom.sf(critical - 1, n, BAD_RATE))


def false_claims(verdicts: Sequence[str | None]) -> dict:
    """The false claims among verdicts given in worlds without an effect.

    ``{"worlds", "judged", "claims", "rate", "ci_low", "ci_high", "p_value", "passes",
    "critical_claims", "power", "enough_worlds"}``: worlds counts every verdict passed in,
    judged those in JUDGED, claims those in CLAIMS; rate = claims / judged with its exact 95%
    interval; p_value of the one-sided exact binomial test of "rate <= FALSE_CLAIM_LIMIT";
    passes is p_value >= ALPHA; critical_claims, power: critical_claims(judged) and the
    test's power against BAD_RATE; enough_worlds is power >= POWER_FLOOR. Without a judged
    verdict, every value after claims is None.
    """
    judged = [v for v in verdicts if v in JUDGED]
    n, k = len(judged), sum(v in CLAIMS for v in judged)
    result = {"worlds": len(verdicts), "judged": n, "claims": k}
    if not n:
        return result | dict.fromkeys(
            (
                "rate",
                "ci_low",
                "ci_high",
                "p_value",
                "passes",
                "critical_claims",
                "power",
                "enough_worlds",
            )
        )
    critical = critical_claims(n)
    p_value = float(binomtest(k, n, FALSE_CLAIM_LIMIT, alternative="greater").pvalue)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return result | {
        "rate": k / n,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "p_value": p_value,
        "passes": p_value >= ALPHA,
        "critical_claims": critical,
        "power": power(n, critical),
        "enough_worlds": power(n, critical) >= POWER_FLOOR,
    }


def coverage(intervals: Iterable[tuple[float | None, float | None]], truth: float | None) -> dict:
    """The share of ``intervals`` (low, high) that contain ``truth``, ends included.

    ``{"intervals", "covered", "share", "passes", "critical_misses", "power",
    "enough_worlds"}``: intervals counts those with both ends; passes is share >=
    COVERAGE_FLOOR; critical_misses, power: critical_misses(intervals) and the chance of
    failing intervals that miss at BAD_RATE; enough_worlds is power >= POWER_FLOOR. Without
    an interval or a truth, every value after intervals is None.
    """
    usable = [(low, high) for low, high in intervals if low is not None and high is not None]
    n = len(usable)
    if truth is None or not n:
        return {"intervals": n} | dict.fromkeys(
            ("covered", "share", "passes", "critical_misses", "power", "enough_worlds")
        )
    covered = sum(low <= truth <= high for low, high in usable)
    critical = critical_misses(n)
    return {
        "intervals": n,
        "covered": covered,
        "share": covered / n,
        "passes": covered / n >= COVERAGE_FLOOR,
        "critical_misses": critical,
        "power": power(n, critical),
        "enough_worlds": power(n, critical) >= POWER_FLOOR,
    }


def status(claims: dict | None, *covered: dict) -> str:
    """A verdict's result from the checks that apply to it: ``claims`` (false_claims, None
    where it does not apply) and ``covered`` (coverage): ``fail`` when the binomial test
    rejects (an exact test at ALPHA, whatever the number of worlds) or a coverage with
    enough worlds is below the floor; else ``not_checked`` when a check could not be made
    (or none applies); else ``too_few_worlds`` when one lacks enough worlds (a coverage then
    below the floor included: a correct 95% interval misses once in 20); else ``pass``."""
    checks = [claims, *covered] if claims is not None else list(covered)
    if (claims is not None and claims["passes"] is False) or any(
        check["passes"] is False and check["enough_worlds"] for check in covered
    ):
        return "fail"
    if not checks or any(check["passes"] is None for check in checks):
        return "not_checked"
    if not all(check["enough_worlds"] for check in checks):
        return "too_few_worlds"
    return "pass"
