"""The recovery-paradox test: intervals that behave on small and extreme groups, a minimum
group size, a like-for-like comparison beside the crude one, and the deltas per segment.

Methods (docs/metrics.md, "Recovery paradox" gives the formulas and references):
- a retention rate: the Wilson score interval; the difference of two rates: Newcombe's
  hybrid score interval (Newcombe 1998, method 10), built from the two Wilson intervals;
- an NPS and the difference of two: the adjusted Wald interval of Rocks (2016): each group
  gets 3/4 of a promoter, 3/4 of a detractor and 3 responses more before the normal
  approximation, so that a group of one response, or of promoters only, still has width;
- like for like: the never-failed group directly standardised to the recovered group's mix
  of tenure band, segment and plan (strata weighted by their recovered customers), with
  adjusted proportions in each stratum (Agresti & Caffo 2000 for rates, Rocks 2016 for NPS).

A comparison with a group below the minimum size (default 30) is ``not_enough_data`` (its
values are still shown when there are any); a group without data gives null values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from data_contracts.recovery_rules import NEVER_FAILED, RECOVERED
from metrics.catalog import PARADOX_DELTAS, ParadoxDelta, Unit
from metrics.queries import Estimate

Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal
VALUE_RANGE: dict[Unit, tuple[float, float]] = {"ratio": (0.0, 1.0), "nps": (-100.0, 100.0)}
NOT_ENOUGH_DATA = "not_enough_data"
CRUDE_METHODS: dict[Unit, str] = {
    "ratio": "newcombe_hybrid_score",
    "nps": "adjusted_wald_nps",
}
MATCHED_METHOD = "direct_standardisation"
MATCH_ON = ("tenure_band", "segment", "plan")
# The groups a delta compares, as the JSON's "n" names them.
GROUP_NAMES = (RECOVERED, NEVER_FAILED)

EMPTY_DELTA = {"value": None, "ci_low": None, "ci_high": None, "verdict": NOT_ENOUGH_DATA}


@dataclass(frozen=True)
class Group:
    """One group's data behind a rate or an NPS: its size and, for an NPS, the shares of
    promoters and detractors (for a rate, ``share`` is the rate)."""

    n: int
    share: float = 0.0  # a rate; for NPS the promoters' share
    detractors: float = 0.0  # for NPS: the detractors' share

    @classmethod
    def of(cls, estimate: Estimate, unit: Unit) -> Group:
        """A group from a catalog estimate (mean and mean square give NPS's two shares)."""
        if estimate.value is None or not estimate.count:
            return cls(0)
        if unit == "ratio":
            return cls(estimate.count, estimate.value)
        mean, square = estimate.value / 100, (estimate.mean_square or 0.0) / 10_000
        promoters, detractors = (square + mean) / 2, (square - mean) / 2
        return cls(estimate.count, max(promoters, 0.0), max(detractors, 0.0))

    def value(self, unit: Unit) -> float:
        return self.share if unit == "ratio" else 100 * (self.share - self.detractors)


def wilson(share: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``share`` observed on ``n``."""
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    margin = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(centre - margin, 0.0), min(centre + margin, 1.0)


def newcombe(first: Group, second: Group, z: float = Z_95) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``first.share - second.share`` (method 10)."""
    l1, u1 = wilson(first.share, first.n, z)
    l2, u2 = wilson(second.share, second.n, z)
    d = first.share - second.share
    low = d - math.sqrt((first.share - l1) ** 2 + (u2 - second.share) ** 2)
    high = d + math.sqrt((u1 - first.share) ** 2 + (second.share - l2) ** 2)
    return max(low, -1.0), min(high, 1.0)


def adjusted_nps(group: Group) -> tuple[float, float, float]:
    """Rocks's (2016) adjusted NPS of a group, as a fraction in [-1, 1]: (estimate, variance
    of one response, adjusted size) after adding 3/4 promoter, 3/4 detractor, 3 responses."""
    n = group.n + 3
    promoters = (group.share * group.n + 0.75) / n
    detractors = (group.detractors * group.n + 0.75) / n
    estimate = promoters - detractors
    return estimate, promoters + detractors - estimate**2, n


def nps_interval(group: Group, z: float = Z_95) -> tuple[float, float]:
    """The adjusted Wald interval of one group's NPS, on the -100..100 scale."""
    estimate, variance, n = adjusted_nps(group)
    margin = z * math.sqrt(variance / n)
    return max(100 * (estimate - margin), -100.0), min(100 * (estimate + margin), 100.0)


def nps_difference(first: Group, second: Group, z: float = Z_95) -> tuple[float, float]:
    """The adjusted Wald interval of NPS(first) - NPS(second), on the -200..200 scale."""
    e1, v1, n1 = adjusted_nps(first)
    e2, v2, n2 = adjusted_nps(second)
    margin = z * math.sqrt(v1 / n1 + v2 / n2)
    return max(100 * (e1 - e2 - margin), -200.0), min(100 * (e1 - e2 + margin), 200.0)


def rate_interval(group: Group) -> tuple[float | None, float | None]:
    """The Wilson interval of one group's rate (None, None without data)."""
    return (None, None) if not group.n else wilson(group.share, group.n)


def verdict(ci_low: float, ci_high: float) -> str:
    """holds when the interval is above 0, reversed when below, else not_detected."""
    if ci_low > 0:
        return "holds"
    if ci_high < 0:
        return "reversed"
    return "not_detected"


def _judged(value, low, high, sizes: tuple[int, int], min_size: int) -> dict:
    if value is None:
        return dict(EMPTY_DELTA)
    small = min(sizes) < min_size
    return {
        "value": value,
        "ci_low": low,
        "ci_high": high,
        "verdict": NOT_ENOUGH_DATA if small else verdict(low, high),
    }


def crude_delta(first: Group, second: Group, unit: Unit, min_size: int) -> dict:
    """``{"value", "ci_low", "ci_high", "verdict", "n", "method"}`` of first - second."""
    sizes = (first.n, second.n)
    result = {"value": None, "ci_low": None, "ci_high": None}
    if first.n and second.n:
        low, high = newcombe(first, second) if unit == "ratio" else nps_difference(first, second)
        result = {"value": first.value(unit) - second.value(unit), "ci_low": low, "ci_high": high}
    return _judged(*result.values(), sizes, min_size) | {
        "n": dict(zip(GROUP_NAMES, sizes, strict=True)),
        "method": CRUDE_METHODS[unit],
    }


def _adjusted(group: Group, unit: Unit) -> tuple[float, float, float]:
    """(adjusted estimate, variance of one member, adjusted size) in the delta's unit."""
    if unit == "ratio":  # Agresti & Caffo: one success and one failure more
        share = (group.share * group.n + 1) / (group.n + 2)
        return share, share * (1 - share), group.n + 2
    estimate, variance, n = adjusted_nps(group)
    return 100 * estimate, 10_000 * variance, n


def matched_delta(strata: Iterable[tuple[Group, Group]], unit: Unit, min_size: int) -> dict:
    """first - second with second directly standardised to first's mix of strata.

    ``strata`` holds (first, second) per stratum. A stratum without members of second
    cannot be matched: its members of first are counted in ``unmatched`` and left out.
    Value: sum of w * (first - second) over matched strata, w the stratum's share of
    first's matched members; the interval is centred on the same sum of adjusted
    proportions, with standard error sqrt(sum of w^2 (v1/n1 + v2/n2)).
    """
    pairs = [(a, b) for a, b in strata if a.n]
    matched = [(a, b) for a, b in pairs if b.n]
    unmatched = sum(a.n for a, b in pairs if not b.n)
    n_first, n_second = sum(a.n for a, _ in matched), sum(b.n for _, b in matched)
    value = low = high = None
    if matched:
        value = centre = variance = 0.0
        for a, b in matched:
            w = a.n / n_first
            value += w * (a.value(unit) - b.value(unit))
            (e1, v1, m1), (e2, v2, m2) = _adjusted(a, unit), _adjusted(b, unit)
            centre += w * (e1 - e2)
            variance += w * w * (v1 / m1 + v2 / m2)
        span = VALUE_RANGE[unit][1] - VALUE_RANGE[unit][0]
        margin = Z_95 * math.sqrt(variance)
        low, high = max(centre - margin, -span), min(centre + margin, span)
    return _judged(value, low, high, (n_first, n_second), min_size) | {
        "n": dict(zip(GROUP_NAMES, (n_first, n_second), strict=True)),
        "method": MATCHED_METHOD,
        "matched_on": list(MATCH_ON),
        "strata": len(matched),
        "unmatched": {GROUP_NAMES[0]: unmatched},
    }


def _groups(delta: ParadoxDelta, estimates: Mapping[str, Estimate]) -> tuple[Group, Group]:
    empty = Estimate(None, 0)
    return (
        Group.of(estimates.get(delta.minuend, empty), delta.unit),
        Group.of(estimates.get(delta.subtrahend, empty), delta.unit),
    )


def paradox_delta(
    delta: ParadoxDelta, estimates: Mapping[str, Estimate], min_size: int = 30
) -> dict:
    """The crude comparison of one delta (``minuend - subtrahend`` of the catalog)."""
    return crude_delta(*_groups(delta, estimates), delta.unit, min_size)


def paradox(
    estimates: Mapping[str, Estimate],
    strata: Iterable[Mapping[str, Estimate]] = (),
    min_size: int = 30,
) -> dict:
    """The ``"paradox"`` object: per delta, the crude comparison and ``"matched"``.

    ``strata`` holds the same estimates per stratum of MATCH_ON (one mapping each).
    """
    strata = list(strata)
    return {
        name: paradox_delta(delta, estimates, min_size)
        | {
            "matched": matched_delta(
                (_groups(delta, stratum) for stratum in strata), delta.unit, min_size
            )
        }
        for name, delta in PARADOX_DELTAS.items()
    }


def paradox_inputs() -> list[str]:
    """The catalog KPIs the paradox compares."""
    return [name for d in PARADOX_DELTAS.values() for name in (d.minuend, d.subtrahend)]
