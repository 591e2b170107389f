"""The intervals of a KPI's change between two periods (metrics.intervals): by hand and
against statsmodels and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from metrics.intervals import (
    beyond_noise,
    mean_change,
    quantile_change,
    quantile_interval,
    rate_change,
)
from metrics.paradox import Cell

Z = 1.959963984540054


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(56, 70, 48, 80), (9, 10, 3, 10), (0, 12, 5, 40), (2, 2, 1, 3), (5400, 10926, 5390, 10930)],
)
def test_rate_change_is_newcombes_interval_as_statsmodels(x1, n1, x2, n2):
    low, high = rate_change((x1 / n1, n1), (x2 / n2, n2))
    ref_low, ref_high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb")
    assert (low, high) == pytest.approx((ref_low, ref_high), abs=1e-9)


def test_a_rate_change_of_one_tenth_point_on_ten_thousand_customers_is_noise():
    # 5,400/10,926 = 49.42% against 5,390/10,930 = 49.31%: +0.1 pp, each Wilson half-width
    # about 0.94 pp, so the interval is about -1.2 to +1.4 pp: it spans zero.
    interval = rate_change((5400 / 10926, 10926), (5390 / 10930, 10930))
    assert interval[0] < 0 < interval[1]
    assert not beyond_noise(interval)


def test_a_rate_change_from_fifty_to_eighty_percent_on_two_hundred_is_beyond_noise():
    # 160/200 = 80% against 100/200 = 50%: +30 pp. Wilson 95% intervals: 80% -> [73.9, 85.0],
    # 50% -> [43.1, 56.9]; low = 0.3 - sqrt(0.061^2 + 0.069^2) = 0.3 - 0.092 = 0.208 > 0.
    interval = rate_change((0.8, 200), (0.5, 200))
    assert interval[0] == pytest.approx(0.208, abs=0.002)
    assert beyond_noise(interval)


def test_no_rate_interval_without_units():
    assert rate_change((0.5, 10), (0.0, 0)) == (None, None)
    assert not beyond_noise((None, None))


def _cells(period: dict[str, list[float]]) -> list[Cell]:
    return [Cell(c, (), len(v), float(sum(v))) for c, v in period.items()]


def test_the_nps_change_is_the_cluster_robust_interval_of_statsmodels():
    rng = np.random.default_rng(7)
    points = [-100.0, 0.0, 100.0]
    # customers c0..c14 answer this period, c10..c29 the one before: c10..c14 in both
    now = {f"c{i}": list(rng.choice(points, size=rng.integers(1, 4))) for i in range(15)}
    before = {f"c{i}": list(rng.choice(points, size=rng.integers(1, 4))) for i in range(10, 30)}
    rows = [(c, 1.0, y) for c, v in now.items() for y in v]
    rows += [(c, 0.0, y) for c, v in before.items() for y in v]
    ids = {c: i for i, c in enumerate(dict.fromkeys(c for c, _, _ in rows))}
    fit = sm.OLS(
        np.array([y for _, _, y in rows]), sm.add_constant(np.array([d for _, d, _ in rows]))
    ).fit(cov_type="cluster", cov_kwds={"groups": np.array([ids[c] for c, _, _ in rows])})
    margin = Z * math.sqrt(fit.cov_params()[1, 1])
    low, high = mean_change(_cells(now), _cells(before))
    assert (low, high) == pytest.approx((fit.params[1] - margin, fit.params[1] + margin))


def test_an_nps_change_of_one_customer_per_period_has_no_interval():
    assert mean_change(_cells({"a": [100.0]}), _cells({"b": [-100.0]})) == (None, None)


@pytest.mark.parametrize(("n", "q", "level"), [(20, 0.5, 0.95), (57, 0.9, 0.975), (300, 0.5, 0.9)])
def test_the_quantile_interval_is_scipys_order_statistic_interval(n, q, level):
    values = list(np.random.default_rng(n).exponential(30.0, size=n))
    reference = stats.quantile_test(values, p=q).confidence_interval(level)
    low, high = quantile_interval(values, q, level)
    expected = [None if math.isnan(b) else b for b in (reference.low, reference.high)]
    assert [low, high] == pytest.approx(expected)


def test_the_median_interval_of_ten_values_by_hand():
    # Binomial(10, 0.5): P(B <= 1) = 11/1024 = 0.0107 < 0.025 <= P(B <= 2) = 56/1024 = 0.0547,
    # so ppf(0.025) = 2 and the low bound is the 2nd smallest (20); isf(0.025) = 8, so the
    # high bound is the 9th smallest (90) of 10, 20, ..., 100.
    values = [10.0 * i for i in range(10, 0, -1)]
    assert quantile_interval(values, 0.5) == (20.0, 90.0)


def test_a_p90_of_five_values_has_no_upper_bound():
    assert quantile_interval([1.0, 2.0, 3.0, 4.0, 5.0], 0.9)[1] is None
    assert quantile_change([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == (
        None,
        None,
    )


def test_a_median_change_combines_each_periods_interval_conservatively():
    # Each period: 40 values. Binomial(40, 0.5) at 97.5% (tails of 1.25%): ppf(0.0125) = 13,
    # isf(0.0125) = 27, so each interval is the 13th to the 28th smallest value.
    now = [float(v) for v in range(101, 141)]  # 13th smallest 113, 28th smallest 128
    before = [float(v) for v in range(1, 41)]  # 13 and 28
    assert int(stats.binom.ppf(0.0125, 40, 0.5)) == 13
    assert int(stats.binom.isf(0.0125, 40, 0.5)) == 27
    # (113 - 28, 128 - 13) = (85, 115): beyond noise. The same periods shifted by 10: noise.
    assert quantile_change(now, before, 0.5) == (85.0, 115.0)
    assert beyond_noise(quantile_change(now, before, 0.5))
    shifted = [v + 10 for v in before]
    assert not beyond_noise(quantile_change(shifted, before, 0.5))
