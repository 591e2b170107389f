"""95% intervals of a KPI's change between two periods, one method per unit, and whether a
change is beyond noise (its interval excludes zero). Pure functions; docs/metrics.md
("Changes between periods") gives the methods.

- a rate (share of units): Newcombe's hybrid score interval of the difference of two
  independent proportions (metrics.paradox.newcombe);
- an NPS (a mean of clustered responses): the cluster-robust Wald interval of the paradox
  (metrics.paradox.standardised_difference, crude), a customer answering in both periods
  one cluster;
- a median or a p90: each period's distribution-free (order-statistic) interval at 97.5%,
  combined conservatively (lowest minus highest, highest minus lowest): both periods'
  intervals hold together at least 95% of the time (Bonferroni), and then so does this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scipy.stats import binom

from metrics.paradox import (
    Z_95,
    Cell,
    Group,
    newcombe,
    standardised_difference,
)

Interval = tuple[float | None, float | None]
NO_INTERVAL: Interval = (None, None)
# The per-period level of a quantile's interval: two at 97.5% give a difference at >= 95%.
QUANTILE_PERIOD_LEVEL = 0.975
METHODS = {
    "ratio": "newcombe_hybrid_score",
    "nps": "cluster_robust_wald",
    "minutes": "order_statistic_bonferroni",
}


def rate_change(now: tuple[float, int], before: tuple[float, int]) -> Interval:
    """Newcombe's 95% interval of ``now`` rate minus ``before`` rate, each given as (share,
    units); (None, None) when a period has no units."""
    (p1, n1), (p2, n2) = now, before
    if not n1 or not n2:
        return NO_INTERVAL
    return newcombe(Group(n1, p1), Group(n2, p2))


def mean_change(now: Iterable[Cell], before: Iterable[Cell], span: float = 200.0) -> Interval:
    """The cluster-robust 95% Wald interval of the mean of ``now``'s cells minus ``before``'s
    (a cluster in both periods counted once, with both its parts), within +/- ``span``;
    (None, None) when there is no variance (fewer than two clusters in a period)."""
    found = standardised_difference(now, before, by_stratum=False)
    if found.value is None or found.variance is None:
        return NO_INTERVAL
    margin = Z_95 * found.variance**0.5
    return max(found.value - margin, -span), min(found.value + margin, span)


def quantile_interval(values: Sequence[float], q: float, level: float = 0.95) -> Interval:
    """The distribution-free interval of the ``q`` quantile from the order statistics of
    ``values`` (as scipy.stats.quantile_test's): with B ~ Binomial(n, q), the
    ppf((1 - level) / 2)-th smallest value and the isf((1 - level) / 2) + 1-th smallest. A
    bound the sample is too small for is None."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return NO_INTERVAL
    tail = (1 - level) / 2
    low_index = int(binom.ppf(tail, n, q)) - 1
    high_index = int(binom.isf(tail, n, q))
    low = ordered[low_index] if low_index >= 0 else None
    high = ordered[high_index] if high_index < n else None
    return low, high


def quantile_change(now: Sequence[float], before: Sequence[float], q: float) -> Interval:
    """A 95% (at least) interval of ``now``'s ``q`` quantile minus ``before``'s: each
    period's order-statistic interval at QUANTILE_PERIOD_LEVEL, combined as (low now - high
    before, high now - low before). (None, None) when a bound is missing."""
    l1, h1 = quantile_interval(now, q, QUANTILE_PERIOD_LEVEL)
    l2, h2 = quantile_interval(before, q, QUANTILE_PERIOD_LEVEL)
    if None in (l1, h1, l2, h2):
        return NO_INTERVAL
    return l1 - h2, h1 - l2


def beyond_noise(interval: Interval) -> bool:
    """Whether a change is beyond noise: its interval is known and excludes zero."""
    low, high = interval
    return low is not None and high is not None and (low > 0 or high < 0)
