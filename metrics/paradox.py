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

Definitions "2026-12" (the default) cluster by customer: the NPS delta, the CSAT delta and
every matched comparison get a Wald interval on a cluster-robust (sandwich) variance, centred
on the value (Cameron & Miller 2015); the retention delta keeps Newcombe's interval (one row
per customer). "2026-11" keeps the intervals above for the NPS and retention deltas.

A comparison with a group below the minimum size (default 30; customers under "2026-12") is
``not_enough_data`` (its values are still shown when there are any); a group without data
gives null values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from data_contracts.options import BEFORE_2026_12
from data_contracts.recovery_rules import NEVER_FAILED, RECOVERED
from metrics.catalog import (
    PARADOX_DELTAS,
    PRIMARY_COMPARISON,
    PRIMARY_DELTA,
    ParadoxDelta,
    Unit,
)
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

EMPTY = Estimate(None, 0)
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


def paradox_inputs() -> list[str]:
    """The catalog KPIs the paradox compares."""
    return [
        name
        for d in PARADOX_DELTAS.values()
        if d.compares == "customers"
        for name in (d.minuend, d.subtrahend)
    ]


# Definitions "2026-12": intervals that respect clustering (docs/metrics.md, "Recovery
# paradox"). A customer's several responses (or rated tickets) are one cluster; a comparison
# is a Wald interval on a cluster-robust (sandwich) variance, centred on its own value.
CLUSTERED_METHOD = "cluster_robust_wald"
CLUSTERED_VARIANCE = "cluster_robust"
MIN_STRATUM_CLUSTERS = 2  # a never-failed stratum mean needs two customers for its noise


@dataclass(frozen=True)
class Cell:
    """One cluster's (customer's) observations in one stratum: their number ``n`` and the sum
    ``total`` of their values; ``weight`` identical clusters when more than one."""

    cluster: object
    stratum: tuple = ()
    n: int = 1
    total: float = 0.0
    weight: int = 1


def customer_cells(strata: Iterable[tuple[tuple, Estimate]]) -> list[Cell]:
    """Cells of a 0/1 measure with one row per customer (retention), from each stratum's
    estimate: the customers retained and those not, each as identical one-row clusters."""
    cells = []
    for stratum, estimate in strata:
        if estimate.value is None or not estimate.count:
            continue
        ones = round(estimate.value * estimate.count)
        for value, weight in ((1.0, ones), (0.0, estimate.count - ones)):
            if weight:
                # a key of its own: never the same cluster as a cell of another group
                cells.append(Cell(object(), stratum, 1, value, weight))
    return cells


@dataclass(frozen=True)
class Difference:
    """first - second from cells, its cluster-robust variance (None when it cannot be had)
    and what it was computed on."""

    value: float | None
    variance: float | None
    n: tuple[int, int]  # observations of each group compared
    clusters: tuple[int, int]  # clusters (customers) of each group compared
    strata: int = 1
    dropped: int = 0  # strata left out: no never-failed data, or one never-failed customer
    unmatched: int = 0  # first's observations in the strata left out


def _small_sample(clusters: int, n: int, parameters: int) -> float | None:
    """statsmodels' default cluster correction G/(G-1) * (N-1)/(N-K); None when undefined."""
    if clusters < 2 or n <= parameters:
        return None
    return clusters / (clusters - 1) * (n - 1) / (n - parameters)


def clustered_mean(cells: Iterable[Cell]) -> tuple[float | None, float | None, int, int]:
    """(mean, variance, observations, clusters) of a ratio mean of clustered observations:
    sum_i (s_i - mean n_i)^2 / (sum n_i)^2 times G/(G-1) (Cameron & Miller 2015)."""
    by_cluster: dict[object, list[float]] = {}
    for c in cells:
        entry = by_cluster.setdefault(c.cluster, [0, 0.0, c.weight])
        entry[0] += c.n
        entry[1] += c.total
    n = sum(count * weight for count, _, weight in by_cluster.values())
    clusters = sum(weight for _, _, weight in by_cluster.values())
    if not n:
        return None, None, 0, 0
    mean = sum(total * weight for _, total, weight in by_cluster.values()) / n
    factor = _small_sample(clusters, n, 1)
    if factor is None:
        return mean, None, n, clusters
    residuals = sum(w * (total - mean * count) ** 2 for count, total, w in by_cluster.values())
    return mean, factor * residuals / n**2, n, clusters


def standardised_difference(
    first: Iterable[Cell], second: Iterable[Cell], by_stratum: bool = True
) -> Difference:
    """first - second, second directly standardised to first's mix of strata (``by_stratum``)
    or crude (every cell in one stratum), with its linearised cluster-robust variance.

    value = sum_s w_s (m1_s - m2_s), w_s = N1_s / N1 over the strata kept, m the ratio means.
    A stratum is kept when it has first's data and second's data from at least
    MIN_STRATUM_CLUSTERS clusters (crude: always). Each cluster's influence is
    e_i = sum_s (s_is - n_is (m2_s + value)) / N1 in first, and
    -sum_s w_s (s_js - m2_s n_js) / N2_s in second (summed when a cluster is in both);
    variance = G/(G-1) (N-1)/(N-2) sum_i e_i^2, the correction statsmodels applies to a
    regression on a group dummy, whose clustered variance this equals when crude.
    """
    first, second = list(first), list(second)

    def key(cell: Cell) -> tuple:
        return cell.stratum if by_stratum else ()

    sums: dict[tuple, list[float]] = {}  # stratum -> [N1, S1, N2, S2, clusters of second]
    for index, cells in ((0, first), (2, second)):
        for c in cells:
            entry = sums.setdefault(key(c), [0, 0.0, 0, 0.0, 0])
            entry[index] += c.n * c.weight
            entry[index + 1] += c.total * c.weight
            if index == 2:
                entry[4] += c.weight
    needed = MIN_STRATUM_CLUSTERS if by_stratum else 1
    kept = {k: e for k, e in sums.items() if e[0] and e[2] and e[4] >= needed}
    dropped = [k for k, e in sums.items() if e[0] and k not in kept]
    unmatched = sum(sums[k][0] for k in dropped)
    n1, n2 = sum(e[0] for e in kept.values()), sum(e[2] for e in kept.values())
    g1 = sum({c.cluster: c.weight for c in first if key(c) in kept}.values())
    g2 = sum({c.cluster: c.weight for c in second if key(c) in kept}.values())
    if not kept:  # crude: each group's size all the same; matched: nothing compared
        sizes = (sum(e[0] for e in sums.values()), sum(e[2] for e in sums.values()))
        clusters = tuple(sum({c.cluster: c.weight for c in g}.values()) for g in (first, second))
        if by_stratum:
            sizes = clusters = (0, 0)
        return Difference(None, None, sizes, clusters, 0, len(dropped), unmatched)
    means = {k: e[3] / e[2] for k, e in kept.items()}
    value = sum(e[1] - e[0] * means[k] for k, e in kept.items()) / n1
    influence: dict[object, float] = {}
    weights: dict[object, int] = {}
    for c in first:
        if key(c) in kept:
            share = (c.total - c.n * (means[key(c)] + value)) / n1
            influence[c.cluster] = influence.get(c.cluster, 0.0) + share
            weights[c.cluster] = c.weight
    for c in second:
        if key(c) in kept:
            n1_s, _, n2_s, _, _ = kept[key(c)]
            share = -(n1_s / n1) * (c.total - means[key(c)] * c.n) / n2_s
            influence[c.cluster] = influence.get(c.cluster, 0.0) + share
            weights[c.cluster] = c.weight
    factor = _small_sample(sum(weights.values()), n1 + n2, 2)
    variance = None
    if factor is not None and g1 >= 2 and g2 >= 2:
        variance = factor * sum(weights[i] * e * e for i, e in influence.items())
    return Difference(
        value,
        variance,
        (int(n1), int(n2)),
        (g1, g2),
        len(kept),
        len(dropped),
        int(unmatched),
    )


def _wald(difference: Difference, unit: Unit) -> tuple[float | None, float | None]:
    """value -/+ z sqrt(variance), within the delta's range (None without a variance)."""
    if difference.value is None or difference.variance is None:
        return None, None
    span = VALUE_RANGE[unit][1] - VALUE_RANGE[unit][0]
    margin = Z_95 * math.sqrt(difference.variance)
    return max(difference.value - margin, -span), min(difference.value + margin, span)


def clustered_delta(difference: Difference, unit: Unit, min_size: int) -> dict:
    """The crude comparison of ``difference`` (``standardised_difference(by_stratum=False)``):
    judged on customers, the units of its variance; ``n`` counts observations."""
    low, high = _wald(difference, unit)
    judged = _judged(difference.value, low, high, difference.clusters, min_size)
    if difference.value is not None and low is None:
        judged["verdict"] = NOT_ENOUGH_DATA  # one customer: no interval, no verdict
    return judged | {
        "n": dict(zip(GROUP_NAMES, difference.n, strict=True)),
        "customers": dict(zip(GROUP_NAMES, difference.clusters, strict=True)),
        "method": CLUSTERED_METHOD,
    }


def clustered_matched(difference: Difference, unit: Unit, min_size: int) -> dict:
    """The like-for-like comparison of ``difference`` (``standardised_difference``)."""
    low, high = _wald(difference, unit)
    judged = _judged(difference.value, low, high, difference.clusters, min_size)
    if difference.value is not None and low is None:
        judged["verdict"] = NOT_ENOUGH_DATA
    return judged | {
        "n": dict(zip(GROUP_NAMES, difference.n, strict=True)),
        "customers": dict(zip(GROUP_NAMES, difference.clusters, strict=True)),
        "method": MATCHED_METHOD,
        "variance": CLUSTERED_VARIANCE,
        "matched_on": list(MATCH_ON),
        "strata": difference.strata,
        "strata_dropped": difference.dropped,
        "unmatched": {GROUP_NAMES[0]: difference.unmatched},
    }


def _clustered_crude(delta: ParadoxDelta, cells: Mapping[str, list[Cell]], min_size: int) -> dict:
    first, second = cells.get(delta.minuend, []), cells.get(delta.subtrahend, [])
    found = clustered_delta(standardised_difference(first, second, False), delta.unit, min_size)
    return _named(found, delta)


def _named(found: dict, delta: ParadoxDelta) -> dict:
    """``found`` with its group counts named as the delta names its groups."""
    for key in ("n", "customers"):
        if key in found:
            found[key] = dict(zip(delta.groups, found[key].values(), strict=True))
    return found


def paradox(
    estimates: Mapping[str, Estimate],
    strata: Iterable[Mapping[str, Estimate]] = (),
    min_size: int = 30,
    cells: Mapping[str, list[Cell]] | None = None,
    definitions: str = "2026-12",
) -> dict:
    """The ``"paradox"`` object: per delta, the crude comparison and ``"matched"``, and
    ``"primary"`` (the delta the verdict leads with) and ``"primary_comparison"``.

    ``strata`` holds the same estimates per stratum of MATCH_ON (one mapping each);
    ``cells`` the clustered data of metrics.clusters. Definitions "2026-11" keep the
    earlier intervals of nps_delta and retention_delta (adjusted Wald, pseudo-counts per
    stratum); "2026-12" makes them cluster-robust and centred on their values.
    """
    strata, cells = list(strata), cells or {}
    result: dict = {}
    for name, delta in PARADOX_DELTAS.items():
        if delta.compares == "tickets":
            result[name] = _clustered_crude(delta, cells, min_size)
            continue
        if definitions in BEFORE_2026_12:
            pairs = [_groups(delta, stratum) for stratum in strata]
            crude = paradox_delta(delta, estimates, min_size)
            result[name] = crude | {"matched": matched_delta(pairs, delta.unit, min_size)}
            continue
        if delta.unit == "nps":
            first, second = cells.get(delta.minuend, []), cells.get(delta.subtrahend, [])
            crude = _clustered_crude(delta, cells, min_size)
        else:  # customers are the units: Newcombe's interval needs no clustering
            crude = paradox_delta(delta, estimates, min_size)
            first, second = (
                customer_cells(((i,), s.get(kpi, EMPTY)) for i, s in enumerate(strata))
                for kpi in (delta.minuend, delta.subtrahend)
            )
        matched = standardised_difference(first, second, by_stratum=True)
        result[name] = crude | {"matched": clustered_matched(matched, delta.unit, min_size)}
    result["primary"] = PRIMARY_DELTA
    result["primary_comparison"] = PRIMARY_COMPARISON
    return result


def segment_paradox(
    segment: object,
    estimates: Mapping[str, Estimate],
    cells: Mapping[str, list[Cell]],
    min_size: int = 30,
    definitions: str = "2026-12",
) -> dict:
    """One ``paradox_by_segment`` entry: the crude comparisons of customer groups within
    ``segment`` (``estimates`` its pooled strata; ``cells`` all strata, kept to the segment's)."""
    index = MATCH_ON.index("segment")
    found: dict = {"segment": segment}
    for name, delta in PARADOX_DELTAS.items():
        if delta.compares != "customers":
            continue
        if definitions in BEFORE_2026_12 or delta.unit != "nps":
            found[name] = paradox_delta(delta, estimates, min_size)
            continue
        kept = {
            kpi: [c for c in cells.get(kpi, []) if c.stratum[index] == segment]
            for kpi in (delta.minuend, delta.subtrahend)
        }
        found[name] = _clustered_crude(delta, kept, min_size)
    return found
