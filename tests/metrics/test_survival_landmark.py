"""Retention curves under the current definitions: every customer active at the landmark
(as_of - max_day) is classified once, by their group then, and followed to churn or as_of.
Hand-computed curves, difference and stratified log-rank (DuckDB and PostgreSQL); the
difference within look-back ticket counts against statsmodels' Kaplan-Meier and Greenwood
standard errors per stratum, the stratified test against statsmodels' ``survdiff``, the
curves against lifelines."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from metrics import MetricParams
from metrics.survival import (
    SurvivalError,
    compute_survival,
    standardised_difference,
    stratified_logrank,
    survival_at,
    survival_difference,
)
from tests.metrics.rows import insert

AS_OF = dt.datetime(2024, 12, 31, 12, 0)
LANDMARK = dt.datetime(2024, 1, 1, 12, 0)  # as_of - 365 days (2024 is a leap year)
SIGNUP = dt.datetime(2023, 1, 1)
DAY = dt.timedelta(days=1)
PARAMS = MetricParams(as_of=AS_OF, min_group_size=1)
RECOVERED, NEVER = "recovered", "never_failed"


def _failure(ticket_id: str, customer_id: str, created: dt.datetime, **values) -> dict:
    solved = values.pop("solved", created + DAY)
    return {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "created_at": created,
        "solved_at": solved,
        "status": "solved" if solved is not None else "open",
        "type": "incident",
        "reopens": 0,
        **values,
    }


def _ordinary(ticket_id: str, customer_id: str, created: dt.datetime) -> dict:
    """A ticket that is not a failure: it counts only in the look-back ticket count."""
    return _failure(ticket_id, customer_id, created, type="question")


def _hand_world(engine) -> None:
    customers = [
        # recovered at the landmark: churned on day 30; still a customer; churned on day 100
        {"customer_id": "r1", "churned_at": LANDMARK + 30.5 * DAY},
        {"customer_id": "r2"},
        {"customer_id": "r3", "churned_at": LANDMARK + 100 * DAY},
        # unrecovered (a reopened failure): churned on day 10; still a customer
        {"customer_id": "u1", "churned_at": LANDMARK + 10.2 * DAY},
        {"customer_id": "u2"},
        # in recovery (a failure open at the landmark)
        {"customer_id": "i1"},
        # never failed by the landmark: churned on day 60; failed after the landmark and
        # churned on day 200 (still followed: the group is the one at the landmark); two stay
        {"customer_id": "n1", "churned_at": LANDMARK + 60 * DAY},
        {"customer_id": "n2", "churned_at": LANDMARK + 200 * DAY},
        {"customer_id": "n3"},
        {"customer_id": "n4"},
        # not active at the landmark: churned before it; signed up after it
        {"customer_id": "x1", "churned_at": LANDMARK - DAY},
        {"customer_id": "x2", "signup_at": LANDMARK + DAY},
    ]
    for row in customers:
        row.setdefault("signup_at", SIGNUP)
        row.setdefault("churned_at", None)
    tickets = [
        _failure("r1-a", "r1", dt.datetime(2023, 11, 1)),
        _failure("r2-a", "r2", dt.datetime(2023, 12, 1)),
        _failure("r2-b", "r2", dt.datetime(2024, 3, 1), reopens=2),  # after the landmark
        _failure("r3-a", "r3", dt.datetime(2023, 6, 1)),
        _failure("r3-b", "r3", dt.datetime(2023, 9, 1)),
        _failure("u1-a", "u1", dt.datetime(2023, 10, 1), reopens=1),
        _failure("u2-a", "u2", dt.datetime(2023, 10, 5), reopens=1),
        _failure("i1-a", "i1", dt.datetime(2023, 12, 30), solved=dt.datetime(2024, 1, 5)),
        _failure("n2-a", "n2", dt.datetime(2024, 2, 1)),
        _failure("x1-a", "x1", dt.datetime(2023, 10, 1)),
        # never-failed customers' ordinary tickets in the look-back: n1 and n2 one, n3 two
        # (n4 none); n2's failure is after the landmark
        _ordinary("n1-q", "n1", dt.datetime(2023, 7, 1)),
        _ordinary("n2-q", "n2", dt.datetime(2023, 8, 1)),
        _ordinary("n3-q", "n3", dt.datetime(2023, 9, 1)),
        _ordinary("n3-r", "n3", dt.datetime(2023, 10, 1)),
        _ordinary("n4-q", "n4", dt.datetime(2022, 10, 1)),  # before the look-back
    ]
    insert(engine, "customers", customers)
    insert(engine, "tickets", tickets)


def test_every_group_is_followed_from_the_landmark_by_hand(any_engine):
    _hand_world(any_engine)
    result = compute_survival(any_engine, PARAMS)
    assert result["landmark"] == "2024-01-01T12:00:00Z" and result["max_day"] == 365
    groups = {g["group"]: g for g in result["groups"]}
    assert [g["group"] for g in result["groups"]] == [
        "recovered",
        "unrecovered",
        "in_recovery",
        "never_failed",
    ]

    def points(name: str) -> list[tuple]:
        """(day, at risk, churned, censored, survival rounded to 1e-9) per point."""
        return [
            (p["day"], p["at_risk"], p["events"], p["censored"], round(p["survival"], 9))
            for p in groups[name]["curve"]
        ]

    def r(x: float) -> float:
        return round(x, 9)

    # Recovered r1, r2, r3: churn on days 30 and 100, r2 censored at as_of (day 365).
    # S(30) = 1 - 1/3 = 2/3; S(100) = 2/3 * (1 - 1/2) = 1/3.
    assert points("recovered") == [
        (30, 3, 1, 0, r(2 / 3)),
        (100, 2, 1, 0, r(1 / 3)),
        (365, 1, 0, 1, r(1 / 3)),
    ]
    # Never failed n1..n4: churn on days 60 and 200 (n2 failed on day 31, still followed).
    # S(60) = 3/4; S(200) = 3/4 * 2/3 = 1/2.
    assert points("never_failed") == [(60, 4, 1, 0, 0.75), (200, 3, 1, 0, 0.5), (365, 2, 0, 2, 0.5)]
    assert points("unrecovered") == [(10, 2, 1, 0, 0.5), (365, 1, 0, 1, 0.5)]
    assert points("in_recovery") == [(365, 1, 0, 1, 1.0)]
    # r2's failure after the landmark does not count; r3 had two in the look-back.
    assert groups["recovered"]["failure_counts"] == {"1": 2, "2": 1}
    assert groups["never_failed"]["failure_counts"] == {"0": 4}
    assert groups["recovered"]["ticket_counts"] == {"1": 2, "2": 1}
    assert groups["never_failed"]["ticket_counts"] == {"0": 1, "1": 2, "2": 1}

    # Day H = 90 within look-back ticket counts, weighted by the recovered customers in each.
    # 1 ticket: recovered r1 (day 30), r2 (censored): S = 1/2, Greenwood sum 1/(2*1),
    #   V = 1/4 * 1/2 = 1/8; never failed n1 (day 60), n2 (day 200): S = 1/2, V = 1/8.
    # 2 tickets: r3 (day 100) and n3 (censored): S = 1 both, V = 0.
    # value = 2/3 * (1/2 - 1/2) + 1/3 * (1 - 1) = 0; variance (2/3)^2 * (1/8 + 1/8) = 1/9,
    # half width 1.959964 / 3 = 0.653321. (n4, 0 tickets, has no recovered customer beside.)
    difference = result["difference"]
    assert difference["day"] == 90 and difference["n"] == {"recovered": 3, "never_failed": 4}
    assert difference["strata"] == "lookback_tickets" and difference["left_out"] == 0
    half = 1.959963984540054 / 3
    assert half == pytest.approx(0.653321, abs=1e-6)
    assert (difference["value"], difference["ci_low"], difference["ci_high"]) == pytest.approx(
        (0.0, -half, half)
    )
    assert difference["verdict"] == "not_detected"
    # Crude: recovered S = 2/3, Greenwood sum 1/(3*2) = 1/6, V = 4/9 * 1/6 = 2/27; never
    # failed S = 3/4, sum 1/(4*3) = 1/12, V = 9/16 * 1/12 = 3/64. value = 2/3 - 3/4 = -1/12;
    # half width 1.959964 * sqrt(2/27 + 3/64) = 0.681631.
    crude = difference["crude"]
    half = 1.959963984540054 * math.sqrt(2 / 27 + 3 / 64)
    assert half == pytest.approx(0.681631, abs=1e-6)
    assert (crude["value"], crude["ci_low"], crude["ci_high"]) == pytest.approx(
        (-1 / 12, -1 / 12 - half, -1 / 12 + half)
    )

    # Log-rank of recovered against unrecovered within look-back ticket counts. Count 2
    # holds r3 alone: nothing to compare. Count 1: r1 (30), r2 (censored), u1 (10), u2.
    # Day 10: 2 + 2 at risk, u1 churns: O - E (recovered) = 0 - 2/4 = -1/2,
    #   V = 1 * 3/3 * 2/4 * 2/4 = 1/4. Day 30: 2 + 1 at risk, r1 churns: O - E = 1 - 2/3,
    #   V = 1 * 2/2 * 2/3 * 1/3 = 2/9. Chi-square (-1/6)^2 / (17/36) = 1/17.
    # (Unstratified, r3 would add day 100 to the sums: 0.00088 instead.)
    test = result["logrank"]
    assert test["groups"] == ["recovered", "unrecovered"]
    assert test["strata"] == "lookback_tickets" and test["df"] == 1
    assert test["statistic"] == pytest.approx(1 / 17)


def test_the_difference_needs_groups_of_the_minimum_size(engine):
    _hand_world(engine)
    result = compute_survival(engine, MetricParams(as_of=AS_OF))  # minimum 30 customers
    assert result["difference"]["verdict"] == "not_enough_data"
    assert result["difference"]["value"] == pytest.approx(0.0)
    assert result["difference"]["crude"]["value"] == pytest.approx(-1 / 12)


def test_a_shorter_follow_up_moves_the_landmark(engine):
    _hand_world(engine)
    # as_of - 200 days = 14 June 2024: r1, r3, u1, n1 churned before it; x2 had signed up;
    # n2 had failed (recovered), i1's failure was solved; r2's second failure (1 March,
    # reopened) makes it unrecovered.
    result = compute_survival(engine, PARAMS, max_day=200)
    assert result["landmark"] == "2024-06-14T12:00:00Z"
    sizes = {g["group"]: g["customers"] for g in result["groups"]}
    assert sizes == {"recovered": 2, "unrecovered": 2, "never_failed": 3}
    assert result["difference"]["day"] == 90
    short = compute_survival(engine, PARAMS, max_day=30)
    assert short["difference"]["day"] == 30  # min(H, max_day)
    with pytest.raises(SurvivalError, match="--days"):
        compute_survival(engine, PARAMS, max_day=0)


def test_splits_classify_by_the_last_failure_solved_by_the_landmark(engine):
    created = dt.datetime(2023, 10, 1, 9)
    insert(engine, "customers", [{"customer_id": c, "signup_at": SIGNUP} for c in "abcde"])
    insert(
        engine,
        "tickets",
        [
            # a: a fast reply, then a slower one solved later: the later one classifies
            _failure("a1", "a", created, first_reply_at=created + 30 * dt.timedelta(minutes=1)),
            _failure(
                "a2",
                "a",
                created + 10 * DAY,
                first_reply_at=created + 10 * DAY + dt.timedelta(minutes=90),
                agent_replies=3,
            ),
            # b: the later failure is solved only after the landmark: the earlier one counts
            _failure("b1", "b", created, first_reply_at=created + dt.timedelta(hours=10)),
            _failure(
                "b2",
                "b",
                dt.datetime(2023, 12, 30),
                first_reply_at=dt.datetime(2023, 12, 30, 1),
                solved=dt.datetime(2024, 1, 3),
            ),
            # c: its only failure is open at the landmark: no solved failure to classify by
            _failure("c1", "c", created, solved=None),
            # d: its only failure was created before the look-back (365 days before 1 Jan)
            _failure("d1", "d", dt.datetime(2022, 12, 1), first_reply_at=dt.datetime(2022, 12, 1)),
            # e never failed: not in a split by recovery quality
        ],
    )
    result = compute_survival(engine, PARAMS, by="tta_bucket")
    assert {g["group"]: g["customers"] for g in result["groups"]} == {
        "1 to 4 h": 1,  # a, by a2
        "4 to 24 h": 1,  # b, by b1
    }
    assert result["difference"] is None
    assert result["logrank"]["groups"] == ["1 to 4 h", "4 to 24 h"]
    touch = compute_survival(engine, PARAMS, by="one_touch")
    assert {g["group"]: g["customers"] for g in touch["groups"]} == {
        "replies unknown": 1,  # b1: no reply count
        "not one touch": 1,  # a2: 3 replies
    }


def _random_world(seed: int):
    """Customers active at the landmark with 0 to 4 look-back failures and 0 to 3 ordinary
    tickets each, recovered or not, and churn after it; per customer what the definition
    says (group, look-back ticket count, days, churned), computed without the code under
    test."""
    rng = random.Random(seed)
    customers, tickets, expected = [], [], {}
    for i in range(200):
        customer_id = f"c{i:03d}"
        failures = rng.choice((0, 0, 1, 1, 2, 3, 4))
        ordinary = rng.choice((0, 1, 1, 2, 3))
        bad = False
        for j in range(failures + ordinary):
            created = LANDMARK - dt.timedelta(hours=rng.randrange(48, 24 * 360))
            if j >= failures:
                tickets.append(_ordinary(f"{customer_id}-{j}", customer_id, created))
                continue
            reopened = rng.random() < 0.3
            bad = bad or reopened
            tickets.append(
                _failure(f"{customer_id}-{j}", customer_id, created, reopens=int(reopened))
            )
        group = "never_failed" if not failures else "unrecovered" if bad else "recovered"
        # Customers who write more churn sooner, whatever their group.
        churn_days = rng.expovariate((1 + failures + ordinary) / 500)
        churned_at = LANDMARK + dt.timedelta(days=churn_days) if churn_days < 365 else None
        customers.append(
            {"customer_id": customer_id, "signup_at": SIGNUP, "churned_at": churned_at}
        )
        end = churned_at or AS_OF
        days = math.floor((end - LANDMARK).total_seconds() / 86400)
        expected[customer_id] = (group, failures + ordinary, days, int(churned_at is not None))
    return customers, tickets, expected


def _statsmodels_at_day(rows: list[tuple[int, int]], day: int) -> tuple[float, float]:
    """Kaplan-Meier survival and its Greenwood standard error on ``day`` by statsmodels,
    from (days, churned) per customer."""
    fit = SurvfuncRight([d for d, _ in rows], [e for _, e in rows])
    before = [k for k, t in enumerate(fit.surv_times) if t <= day]
    if not before:
        return 1.0, 0.0
    return fit.surv_prob[before[-1]], fit.surv_prob_se[before[-1]]


def test_random_world_agrees_with_lifelines_and_statsmodels(any_engine):
    customers, tickets, expected = _random_world(5)
    insert(any_engine, "customers", customers)
    insert(any_engine, "tickets", tickets)
    result = compute_survival(any_engine, PARAMS)
    groups = {g["group"]: g for g in result["groups"]}
    rows = list(expected.values())

    for name in ("recovered", "unrecovered", "never_failed"):
        mine = [(d, e) for g, _, d, e in rows if g == name]
        kmf = KaplanMeierFitter().fit([d for d, _ in mine], [e for _, e in mine])
        assert groups[name]["customers"] == len(mine)
        for point in groups[name]["curve"]:
            reference = kmf.survival_function_.loc[point["day"]].iloc[0]
            assert point["survival"] == pytest.approx(reference, abs=1e-9)

    # The difference on day 90 within look-back ticket counts (3+ one stratum), each
    # stratum's survival and standard error by statsmodels, weighted by the recovered
    # customers in it; beside it the crude difference.
    def stratum(name: str, count: int | None) -> list[tuple[int, int]]:
        return [
            (d, e) for g, n, d, e in rows if g == name and (count is None or min(n, 3) == count)
        ]

    recovered_counts = {min(n, 3) for g, n, *_ in rows if g == "recovered"}
    assert recovered_counts == {1, 2, 3}  # every stratum has never-failed customers too
    size = len(stratum("recovered", None))
    value = variance = 0.0
    for count in sorted(recovered_counts):
        weight = len(stratum("recovered", count)) / size
        (s1, se1) = _statsmodels_at_day(stratum("recovered", count), 90)
        (s2, se2) = _statsmodels_at_day(stratum("never_failed", count), 90)
        value += weight * (s1 - s2)
        variance += weight**2 * (se1**2 + se2**2)
    difference = result["difference"]
    half = 1.959963984540054 * math.sqrt(variance)
    assert difference["value"] == pytest.approx(value, abs=1e-9)
    assert difference["ci_low"] == pytest.approx(value - half, abs=1e-9)
    assert difference["ci_high"] == pytest.approx(value + half, abs=1e-9)
    (s1, se1) = _statsmodels_at_day(stratum("recovered", None), 90)
    (s2, se2) = _statsmodels_at_day(stratum("never_failed", None), 90)
    half = 1.959963984540054 * math.sqrt(se1**2 + se2**2)
    assert difference["crude"]["value"] == pytest.approx(s1 - s2, abs=1e-9)
    assert difference["crude"]["ci_high"] == pytest.approx(s1 - s2 + half, abs=1e-9)

    # Recovered against unrecovered, stratified on the look-back ticket count (3+ one
    # stratum), against statsmodels' survdiff; and the crude recovered - never_failed test
    # against lifelines.
    failed = [(g, n, d, e) for g, n, d, e in rows if g in ("recovered", "unrecovered")]
    chisq, p_value = survdiff(
        [d for *_, d, _ in failed],
        [e for *_, e in failed],
        [g for g, *_ in failed],
        strata=[min(n, 3) for _, n, *_ in failed],
    )
    assert result["logrank"]["statistic"] == pytest.approx(chisq, rel=1e-9)
    assert result["logrank"]["p_value"] == pytest.approx(p_value, rel=1e-9)
    crude = [(g, d, e) for g, _, d, e in rows if g in ("recovered", "never_failed")]
    reference = logrank_test(
        [d for g, d, _ in crude if g == "recovered"],
        [d for g, d, _ in crude if g == "never_failed"],
        [e for g, _, e in crude if g == "recovered"],
        [e for g, _, e in crude if g == "never_failed"],
    )
    assert difference["logrank"]["statistic"] == pytest.approx(reference.test_statistic, rel=1e-9)


def test_the_standardised_difference_weights_strata_by_the_first_group():
    # Stratum 1: first S(30) = 1/2 (2 followed, 1 churns on day 10), second S(30) = 1.
    # Stratum 2: first S(30) = 1 (1 followed), second S(30) = 2/3 (3 followed, 1 churns).
    # Stratum 5: only the first group: left out with its 4 customers.
    # Weights by the first group's customers in the kept strata: 2/3 and 1/3.
    # value = 2/3 * (1/2 - 1) + 1/3 * (1 - 2/3) = -1/3 + 1/9 = -2/9.
    # Variances: stratum 1 first 1/4 * 1/(2*1) = 1/8; stratum 2 second 4/9 * 1/(3*2) = 2/27.
    # Σ w² V = 4/9 * 1/8 + 1/9 * 2/27 = 1/18 + 2/243.
    first = {1: [(10, 1, 0), (40, 0, 1)], 2: [(40, 0, 1)], 5: [(40, 0, 4)]}
    second = {1: [(40, 0, 1)], 2: [(20, 1, 0), (40, 0, 2)], 0: [(40, 0, 9)]}
    found = standardised_difference(first, second, 30, min_size=1)
    half = 1.959963984540054 * math.sqrt(1 / 18 + 2 / 243)
    assert found["value"] == pytest.approx(-2 / 9)
    assert (found["ci_low"], found["ci_high"]) == pytest.approx((-2 / 9 - half, -2 / 9 + half))
    assert found["left_out"] == 4 and found["verdict"] == "not_detected"
    # No stratum in common: nothing to compare.
    assert standardised_difference({1: first[1]}, {0: second[0]}, 30, 1)["value"] is None
    # A stratum whose customers all churned before the day reads survival 0 there.
    gone = standardised_difference({1: [(10, 2, 0)]}, {1: [(40, 0, 2)]}, 30, 1)
    assert gone["value"] == pytest.approx(-1.0)


def test_stratified_logrank_of_one_stratum_is_the_plain_test_and_strata_matter():
    a = [(3, 1, 0), (5, 0, 1), (8, 2, 0)]
    b = [(2, 1, 0), (6, 1, 1)]
    one = stratified_logrank({"a": {0: a}, "b": {0: b}})
    # In two strata, each group alone in one: nothing is compared.
    apart = stratified_logrank({"a": {0: a}, "b": {1: b}})
    assert one["statistic"] > 0 and apart["statistic"] is None


def test_a_difference_short_of_its_day_has_no_value():
    rows = [(10, 1, 0), (40, 0, 5)]
    assert survival_difference(rows, rows, 90, 1)["value"] is None
    same = survival_difference(rows, rows, 30, 1)
    # S(30) = 5/6 in both; V = (5/6)^2 * 1/(6*5) each: value 0, half width z*sqrt(2V).
    v = (5 / 6) ** 2 / 30
    assert same["value"] == 0.0
    assert same["ci_high"] == pytest.approx(1.959963984540054 * math.sqrt(2 * v))
    assert same["verdict"] == "not_detected"


def test_an_empty_warehouse_has_no_curves(engine):
    result = compute_survival(engine)
    assert result["as_of"] is None and result["groups"] == []
    assert result["logrank"]["statistic"] is None and result["difference"] is None


@pytest.mark.parametrize("seed", [3, 4])
def test_a_world_without_a_recovery_effect_shows_overlapping_bands(tmp_path, seed):
    # A generated world where recovery changes neither churn nor NPS: the recovered and the
    # never-failed curves' 95% bands overlap on days 90, 180 and 365, and the difference on
    # day H finds nothing. (Under 2026-11, seed 4's bands were apart on day 365: recovered
    # 0.741 [0.705, 0.774], never failed 0.820 [0.778, 0.854].) The generator must draw churn
    # from the same group rule as the product (look-back, recovered without CSAT).
    from etl.pipeline.load import load_paths
    from turnaround.generate import generate
    from warehouse import get_engine

    generate(
        tmp_path / "demo",
        customers=2000,
        seed=seed,
        fmt="canonical",
        retention_effect=0.0,
        nps_effect=0.0,
    )
    engine = get_engine(f"duckdb:///{tmp_path / 'demo.duckdb'}")
    load_paths(engine, [tmp_path / "demo"])
    result = compute_survival(engine)
    groups = {g["group"]: g for g in result["groups"]}
    assert min(groups["recovered"]["customers"], groups["never_failed"]["customers"]) >= 100
    for day in (90, 180, 365):
        recovered, never = (survival_at(groups[name]["curve"], day) for name in (RECOVERED, NEVER))
        assert recovered["ci_low"] <= never["ci_high"] and never["ci_low"] <= recovered["ci_high"]
    assert result["difference"]["verdict"] == "not_detected"
    engine.dispose()
