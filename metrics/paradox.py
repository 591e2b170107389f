"""Confidence intervals and verdicts for the recovery paradox.

Normal approximation at 95%: a mean of n values with population variance s² has standard
error sqrt(s² / n); a difference of two independent means adds the squared errors. For a
0/1 flag this is the Wald interval (s² = p(1 - p)); for NPS each response is +100, 0 or
-100. Intervals are clipped to the range the quantity can take.
"""

from __future__ import annotations

import math

from metrics.catalog import ParadoxDelta, Unit
from metrics.queries import Estimate

Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal
VALUE_RANGE: dict[Unit, tuple[float, float]] = {"ratio": (0.0, 1.0), "nps": (-100.0, 100.0)}

EMPTY_DELTA = {"value": None, "ci_low": None, "ci_high": None, "verdict": None}


def _has_data(estimate: Estimate) -> bool:
    return estimate.value is not None and bool(estimate.count)


def mean_interval(estimate: Estimate, unit: Unit) -> tuple[float | None, float | None]:
    """The 95% interval of one group's mean (None, None without data)."""
    if not _has_data(estimate):
        return None, None
    low, high = VALUE_RANGE[unit]
    margin = Z_95 * math.sqrt(estimate.variance / estimate.count)
    return max(estimate.value - margin, low), min(estimate.value + margin, high)


def verdict(ci_low: float, ci_high: float) -> str:
    """holds when the interval is above 0, reversed when below, else not_detected."""
    if ci_low > 0:
        return "holds"
    if ci_high < 0:
        return "reversed"
    return "not_detected"


def paradox_delta(delta: ParadoxDelta, estimates: dict[str, Estimate]) -> dict:
    """``{"value", "ci_low", "ci_high", "verdict"}`` for minuend - subtrahend."""
    first, second = estimates[delta.minuend], estimates[delta.subtrahend]
    if not (_has_data(first) and _has_data(second)):
        return dict(EMPTY_DELTA)
    value = first.value - second.value
    margin = Z_95 * math.sqrt(first.variance / first.count + second.variance / second.count)
    low, high = VALUE_RANGE[delta.unit]
    span = high - low  # a difference of two values in [low, high] lies in [-span, span]
    ci_low, ci_high = max(value - margin, -span), min(value + margin, span)
    return {
        "value": value,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "verdict": verdict(ci_low, ci_high),
    }
