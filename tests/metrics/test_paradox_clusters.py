"""Definitions "2026-12": the paradox's cluster-robust intervals. The variance by hand and
against statsmodels' clustered OLS, the matched comparison centred on its value with its
dropped strata reported, the per-customer sums and the CSAT comparison through the warehouse
(DuckDB and PostgreSQL), and the "2026-11" values unchanged."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
import statsmodels.api as sm

from metrics import MetricParams, compute_kpis, recovery_groups
from metrics.paradox import (
    Cell,
    clustered_matched,
    clustered_mean,
    customer_cells,
    standardised_difference,
)
from metrics.queries import Estimate
from tests.metrics.rows import insert

Z = 1.959963984540054


def _cells(group: dict[str, list[float]], stratum: tuple = ()) -> list[Cell]:
    return [Cell(c, stratum, len(v), float(sum(v))) for c, v in group.items()]


def _statsmodels(first: dict[str, list[float]], second: dict[str, list[float]]):
    """(coefficient, clustered variance) of the group dummy in OLS of value on it."""
    rows = [(c, 1.0, y) for c, v in first.items() for y in v]
    rows += [(c, 0.0, y) for c, v in second.items() for y in v]
    ids = {c: i for i, c in enumerate(dict.fromkeys(c for c, _, _ in rows))}
    clusters = np.array([ids[c] for c, _, _ in rows])
    x = sm.add_constant(np.array([d for _, d, _ in rows]))
    fit = sm.OLS(np.array([y for _, _, y in rows]), x).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}
    )
    return fit.params[1], fit.cov_params()[1, 1]


def test_the_clustered_nps_difference_by_hand():
    recovered = {"A": [100, 100], "B": [-100]}
    never = {"C": [0], "D": [0, -100]}
    found = standardised_difference(_cells(recovered), _cells(never), by_stratum=False)
    # m1 = 100/3, m2 = -100/3: 200/3. Influences: A (200 - 2*100/3)/3 = 400/9, B -400/9,
    # C -(0 + 100/3)/3 = -100/9, D -(-100 + 200/3)/3 = 100/9; sum of squares 340000/81;
    # times G/(G-1) (N-1)/(N-2) = 4/3 * 5/4 = 5/3: 1700000/243.
    assert found.value == pytest.approx(200 / 3)
    assert found.variance == pytest.approx(1_700_000 / 243)
    assert found.n == (3, 3) and found.clusters == (2, 2)
    assert (found.value, found.variance) == pytest.approx(_statsmodels(recovered, never))


@pytest.mark.parametrize("seed", range(5))
def test_the_clustered_difference_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    points = [-100.0, 0.0, 100.0]

    def group(prefix: str, customers: int) -> dict[str, list[float]]:
        return {
            f"{prefix}{i}": list(rng.choice(points, size=rng.integers(1, 5)))
            for i in range(customers)
        }

    first, second = group("r", 7 + seed), group("n", 12)
    found = standardised_difference(_cells(first), _cells(second), by_stratum=False)
    value, variance = _statsmodels(first, second)
    assert found.value == pytest.approx(value)
    assert found.variance == pytest.approx(variance)


def test_a_customer_in_both_groups_is_one_cluster():
    # Rated tickets: customer B has a recovered failure and an ordinary ticket.
    first = {"A": [1.0], "B": [0.0, 1.0]}
    second = {"B": [1.0], "C": [0.0], "D": [1.0, 1.0]}
    found = standardised_difference(_cells(first), _cells(second), by_stratum=False)
    assert (found.value, found.variance) == pytest.approx(_statsmodels(first, second))


def test_one_clustered_mean_by_hand_and_against_statsmodels():
    group = {"A": [100.0, 100.0], "B": [-100.0], "C": [0.0, 100.0, 100.0]}
    mean, variance, n, clusters = clustered_mean(_cells(group))
    # mean 300/6 = 50; residual sums A 200 - 100 = 100, B -150, C 200 - 150 = 50;
    # 100^2 + 150^2 + 50^2 = 35000, / 6^2, times 3/2: 35000 * 1.5 / 36.
    assert (mean, n, clusters) == (pytest.approx(50.0), 6, 3)
    assert variance == pytest.approx(35000 * 1.5 / 36)
    y = np.array([y for v in group.values() for y in v])
    ids = np.array([i for i, v in enumerate(group.values()) for _ in v])
    fit = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": ids})
    assert variance == pytest.approx(fit.cov_params()[0, 0])


def test_one_customer_gives_no_variance():
    found = standardised_difference(
        _cells({"A": [100.0, 0.0]}), _cells({"C": [0.0], "D": [100.0]}), by_stratum=False
    )
    assert found.value == pytest.approx(0.0) and found.variance is None


def _strata() -> tuple[list[Cell], list[Cell]]:
    first = _cells({"A": [100.0, 100.0], "B": [0.0]}, ("s1",))
    first += _cells({"E": [-100.0], "F": [100.0, 0.0]}, ("s2",))
    first += _cells({"A": [100.0]}, ("s2",))  # A's later response falls in another stratum
    first += _cells({"G": [100.0]}, ("s3",))  # no never-failed customer in s3
    first += _cells({"H": [0.0]}, ("s4",))  # one never-failed customer in s4
    second = _cells({"C": [0.0], "D": [-100.0, 100.0]}, ("s1",))
    second += _cells({"I": [100.0], "J": [-100.0, -100.0]}, ("s2",))
    second += _cells({"K": [100.0]}, ("s4",))
    return first, second


def test_the_matched_difference_by_hand():
    first, second = _strata()
    found = standardised_difference(first, second)
    # Kept: s1 (recovered 3 responses, sum 200; never-failed 3, sum 0: mean 0) and s2
    # (recovered 4, sum 100; never-failed 3, sum -100: mean -100/3). Dropped: s3 (no
    # never-failed) and s4 (one never-failed customer): 2 recovered responses unmatched.
    # N1 = 7, value = (200 - 3*0 + 100 - 4*(-100/3)) / 7 = (300 + 400/3) / 7 = 1300/21.
    value = 1300 / 21
    assert found.value == pytest.approx(value)
    assert (found.strata, found.dropped, found.unmatched) == (2, 2, 2)
    assert found.n == (7, 6) and found.clusters == (4, 4)
    # Influences: recovered (s - n (m2 + value)) / 7 summed over the customer's strata,
    # never-failed -w (s - m2 n) / N2 with w = 3/7 in s1 and 4/7 in s2, N2 = 3 in both.
    m2 = {"s1": 0.0, "s2": -100 / 3}
    a = (200 - 2 * (m2["s1"] + value) + 100 - (m2["s2"] + value)) / 7
    b = (0 - (m2["s1"] + value)) / 7
    e = (-100 - (m2["s2"] + value)) / 7
    f = (100 - 2 * (m2["s2"] + value)) / 7
    c = -(3 / 7) * (0 - 0) / 3
    d = -(3 / 7) * (0 - 0) / 3
    i = -(4 / 7) * (100 - m2["s2"]) / 3
    j = -(4 / 7) * (-200 - 2 * m2["s2"]) / 3
    total = sum(x * x for x in (a, b, e, f, c, d, i, j))
    # G = 8 customers, N = 13 responses: 8/7 * 12/11.
    assert found.variance == pytest.approx(8 / 7 * 12 / 11 * total)


def test_the_matched_interval_is_centred_and_reports_what_it_dropped():
    first, second = _strata()
    found = clustered_matched(standardised_difference(first, second), "nps", 1)
    assert (found["ci_low"] + found["ci_high"]) / 2 == pytest.approx(found["value"])
    assert found["ci_high"] - found["value"] > 0
    assert found["strata"] == 2 and found["strata_dropped"] == 2
    assert found["unmatched"] == {"recovered": 2}
    assert found["customers"] == {"recovered": 4, "never_failed": 4}


def test_one_stratum_matched_is_the_crude_difference():
    first, second = _strata()
    crude = standardised_difference(first, second, by_stratum=False)
    one = [Cell(c.cluster, ("all",), c.n, c.total) for c in first]
    other = [Cell(c.cluster, ("all",), c.n, c.total) for c in second]
    assert standardised_difference(one, other).variance == pytest.approx(crude.variance)


def test_customer_cells_stand_for_one_row_per_customer():
    # 3 of 4 retained in stratum 1, 1 of 2 in stratum 2, against 1 of 4 and 2 of 2.
    first = customer_cells([(("1",), Estimate(0.75, 4)), (("2",), Estimate(0.5, 2))])
    second = customer_cells([(("1",), Estimate(0.25, 4)), (("2",), Estimate(1.0, 2))])
    rows_first = {f"r{i}": [float(i < 3)] for i in range(4)}
    rows_second = {f"n{i}": [float(i < 1)] for i in range(4)}
    crude = standardised_difference(first, second, by_stratum=False)
    written = standardised_difference(
        _cells(rows_first, ("1",)) + _cells({"r4": [1.0], "r5": [0.0]}, ("2",)),
        _cells(rows_second, ("1",)) + _cells({"n4": [1.0], "n5": [1.0]}, ("2",)),
        by_stratum=False,
    )
    assert crude.clusters == (6, 6) and crude.n == (6, 6)
    assert (crude.value, crude.variance) == pytest.approx((written.value, written.variance))
    # Matched: w = 4/6, 2/6; value = 4/6 (0.75 - 0.25) + 2/6 (0.5 - 1) = 1/3 - 1/6 = 1/6.
    assert standardised_difference(first, second).value == pytest.approx(1 / 6)


# Through the warehouse.
AS_OF = dt.datetime(2024, 6, 1)
DAY = dt.timedelta(days=1)
_ids = itertools.count()


def _customer(customer_id: str) -> dict:
    return {
        "customer_id": customer_id,
        "signup_at": AS_OF - 1000 * DAY,
        "segment": "smb",
        "plan": "pro",
    }


def _response(customer_id: str, score: int, days_ago: float = 5) -> dict:
    return {
        "response_id": f"r{next(_ids)}",
        "customer_id": customer_id,
        "responded_at": AS_OF - days_ago * DAY,
        "score": score,
    }


def _ticket(customer_id: str, csat: str | None, failure: bool, **columns) -> dict:
    return {
        "ticket_id": f"t{next(_ids)}",
        "customer_id": customer_id,
        "created_at": AS_OF - 200 * DAY,
        "solved_at": AS_OF - 199 * DAY,
        "status": "solved",
        "type": "incident" if failure else "question",
        "reopens": 0,
        "csat": csat,
    } | columns


def test_the_warehouse_clusters_nps_and_csat(any_engine):
    # Recovered customers R1, R2 (a solved failure, not reopened, rated good); never
    # failed N1, N2, N3 (ordinary tickets only); X has a failure rated bad, no response.
    people = ("R1", "R2", "N1", "N2", "N3", "X")
    insert(any_engine, "customers", [_customer(c) for c in people])
    insert(
        any_engine,
        "tickets",
        [
            _ticket("R1", "good", True),
            _ticket("R2", "good", True),
            _ticket("X", "bad", True),
            _ticket("R2", "good", False),
            _ticket("N1", "good", False),
            _ticket("N1", "good", False),
            _ticket("N2", "bad", False),
            _ticket("N3", "good", False, reopens=1),  # reopened: neither group
            _ticket("N3", "offered", False),  # not rated: neither group
            _ticket("N3", "bad", False, solved_at=AS_OF - 400 * DAY),  # before the window
        ],
    )
    insert(
        any_engine,
        "nps_responses",
        [
            _response("R1", 10),
            _response("R1", 9),
            _response("R2", 3),
            _response("N1", 8),
            _response("N2", 0),
            _response("N2", 1),
            _response("N3", 10, days_ago=400),  # outside the 365 days
        ],
    )
    paradox = compute_kpis(any_engine, MetricParams(as_of=AS_OF, min_group_size=1))["paradox"]
    nps = paradox["nps_delta"]
    # Recovered: R1 (2, +200), R2 (1, -100): NPS 100/3. Never failed: N1 (1, 0), N2 (2,
    # -200): -200/3. The delta is 100; its variance as statsmodels gives it on these rows.
    value, variance = _statsmodels(
        {"R1": [100, 100], "R2": [-100]}, {"N1": [0], "N2": [-100, -100]}
    )
    assert nps["value"] == pytest.approx(100.0) == pytest.approx(value)
    assert nps["value"] - nps["ci_low"] == pytest.approx(Z * math.sqrt(variance))
    assert nps["ci_high"] == 200.0  # the upper end, 277.8, beyond the scale
    assert nps["n"] == {"recovered": 3, "never_failed": 3}
    assert nps["customers"] == {"recovered": 2, "never_failed": 2}
    assert nps["method"] == "cluster_robust_wald"
    assert nps["matched"]["value"] == pytest.approx(100.0)  # one stratum: smb, pro, over 2y
    assert (nps["matched"]["ci_low"], nps["matched"]["ci_high"]) == pytest.approx(
        (nps["ci_low"], nps["ci_high"])
    )
    csat = paradox["csat_delta"]
    # Recovered failures: R1 good, R2 good, X bad: 2/3. Ordinary: R2 good, N1 good, good,
    # N2 bad: 3/4. Delta 2/3 - 3/4 = -1/12, R2 in both groups as one cluster.
    assert csat["value"] == pytest.approx(2 / 3 - 3 / 4)
    assert csat["n"] == {"recovered": 3, "ordinary": 4}
    assert csat["customers"] == {"recovered": 3, "ordinary": 3}
    value, variance = _statsmodels(
        {"R1": [1.0], "R2": [1.0], "X": [0.0]}, {"R2": [1.0], "N1": [1.0, 1.0], "N2": [0.0]}
    )
    assert (csat["ci_low"], csat["ci_high"]) == pytest.approx(
        (value - Z * math.sqrt(variance), value + Z * math.sqrt(variance))
    )
    assert paradox["primary"] == "retention_delta"
    # recovery_groups: each group's NPS on its clustered variance. Never failed: N1 (1, 0),
    # N2 (2, -200): mean -200/3; residual sums 200/3 and -200/3, squares 2 * 40000/9, / 3^2,
    # times G/(G-1) = 2: 160000/81.
    groups = recovery_groups(any_engine, MetricParams(as_of=AS_OF)).rows(named=True)
    never = next(row for row in groups if row["group"] == "never_failed")
    margin = Z * math.sqrt(160_000 / 81)
    assert never["nps"] == pytest.approx(-200 / 3)
    assert (never["nps_ci_low"], never["nps_ci_high"]) == pytest.approx(
        (max(-200 / 3 - margin, -100.0), -200 / 3 + margin)
    )
    # The earlier definitions: Rocks's adjusted Wald interval, not centred on the value.
    earlier = compute_kpis(
        any_engine, MetricParams(as_of=AS_OF, min_group_size=1, definitions="2026-11")
    )["paradox"]["nps_delta"]
    assert earlier["method"] == "adjusted_wald_nps" and earlier["value"] == pytest.approx(100.0)
