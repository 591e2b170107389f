"""How often a verdict claims an effect that is not there, and how often its interval holds
the truth: the statistics of ``turnaround calibrate`` (docs/metrics.md, "Calibration").

A verdict is judged over many generated worlds. In worlds without an effect, every claim
(``holds`` or ``reversed``) is false; the false-claim rate is claims over the worlds that
gave a verdict (``not_enough_data`` claims nothing and is left out). It fails when an exact
one-sided binomial test rejects "false claims <= 5%" at alpha 0.01. Coverage is the share of
intervals that contain the true value; it fails below 93%. The rate's interval is the exact
(Clopper-Pearson) 95% interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scipy.stats import binomtest

FALSE_CLAIM_LIMIT = 0.05  # the largest share of false claims a verdict may make
ALPHA = 0.01  # the binomial test's level
COVERAGE_FLOOR = 0.93  # the smallest share of 95% intervals that may hold the truth
CLAIMS = ("holds", "reversed")  # verdicts that claim an effect
JUDGED = ("holds", "not_detected", "reversed")  # verdicts given (not not_enough_data)


def false_claims(verdicts: Sequence[str | None]) -> dict:
    """The false claims among verdicts given in worlds without an effect.

    ``{"worlds", "judged", "claims", "rate", "ci_low", "ci_high", "p_value", "passes"}``:
    worlds counts every verdict passed in, judged those in JUDGED, claims those in CLAIMS;
    rate = claims / judged with its exact 95% interval; p_value of the one-sided exact
    binomial test of "rate <= FALSE_CLAIM_LIMIT"; passes is p_value >= ALPHA. Without a
    judged verdict, rate, interval, p_value and passes are None.
    """
    judged = [v for v in verdicts if v in JUDGED]
    n, k = len(judged), sum(v in CLAIMS for v in judged)
    result = {"worlds": len(verdicts), "judged": n, "claims": k}
    if not n:
        return result | dict.fromkeys(("rate", "ci_low", "ci_high", "p_value", "passes"))
    p_value = float(binomtest(k, n, FALSE_CLAIM_LIMIT, alternative="greater").pvalue)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return result | {
        "rate": k / n,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "p_value": p_value,
        "passes": p_value >= ALPHA,
    }


def coverage(intervals: Iterable[tuple[float | None, float | None]], truth: float | None) -> dict:
    """The share of ``intervals`` (low, high) that contain ``truth``, ends included.

    ``{"intervals", "covered", "share", "passes"}``: intervals counts those with both ends;
    passes is share >= COVERAGE_FLOOR. Without an interval or a truth, share and passes are
    None.
    """
    usable = [(low, high) for low, high in intervals if low is not None and high is not None]
    if truth is None or not usable:
        return {"intervals": len(usable), "covered": None, "share": None, "passes": None}
    covered = sum(low <= truth <= high for low, high in usable)
    share = covered / len(usable)
    return {
        "intervals": len(usable),
        "covered": covered,
        "share": share,
        "passes": share >= COVERAGE_FLOOR,
    }


def status(*checks: bool | None) -> str:
    """``fail`` when a check failed, ``pass`` when at least one passed and none failed,
    else ``not_available`` (nothing could be checked)."""
    if any(check is False for check in checks):
        return "fail"
    if any(check is True for check in checks):
        return "pass"
    return "not_available"
