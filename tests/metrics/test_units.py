"""The units behind a KPI (metrics.units): on random canonical data, every KPI of the
catalog lists as many units as ``metrics`` reports in its n, and the KPI recomputed from the
listed values is the KPI, for the whole range, a filter and one period of a grain; on
DuckDB and on PostgreSQL. Beside it, hand-made data with the expected units worked out."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import MetricParams, SliceRequest, compute_kpis
from metrics.catalog import KPI_CATALOG
from metrics.queries import CUSTOMER_FACT_SETS
from metrics.slices import SliceError, compute_slice
from metrics.units import kpi_units, unit_list
from tests.conftest import insert_rows
from tests.metrics.test_properties import BASE, dataset, load, same


@pytest.fixture(scope="module")
def warehouse(module_warehouse) -> sa.Engine:
    return module_warehouse


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's and DuckDB's
    percentile_cont): position q * (n - 1) in the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def recomputed(kpi: str, values: list[float]) -> float | None:
    """The KPI from its units' values, by its measure's aggregate."""
    measure = KPI_CATALOG[kpi].measure
    if measure.aggregate == "count":
        return len(values)
    if measure.aggregate == "quantile":
        return quantile(values, measure.q)
    return sum(values) / len(values) if values else None


FILTERS = (
    (),
    (("channel", ("email",)),),
    (("plan", ("pro",)),),
)


@settings(max_examples=30, deadline=None)
@given(
    data=dataset(),
    kpis=st.lists(st.sampled_from(sorted(KPI_CATALOG)), min_size=1, max_size=3, unique=True),
    where=st.sampled_from(FILTERS),
    grain=st.sampled_from([None, "month", "quarter"]),
    count=st.sampled_from(["tickets", "tickets", "episodes", "customers"]),
)
def test_every_kpi_lists_its_n_and_its_value(warehouse, data, kpis, where, grain, count):
    load(warehouse, data)
    params = replace(data["params"], count=count)
    start = (BASE + dt.timedelta(days=200)).date()
    request = SliceRequest(where=where, start=start, grain=grain)
    ticket_filter = any(name == "channel" for name, _ in where)
    if grain is None:
        metrics = compute_kpis(warehouse, params, request)
        points = [(None, metrics["kpis"], metrics["n"])]
    else:
        sliced = compute_slice(warehouse, params, request)
        points = [
            (dt.date.fromisoformat(row["period_start"]), row["kpis"], row["n"])
            for row in sliced["rows"]
        ]
    for kpi in kpis:
        customer_kpi = KPI_CATALOG[kpi].measure.facts in CUSTOMER_FACT_SETS
        for period, values, n in points:
            if customer_kpi and ticket_filter:  # no value under a ticket filter: refused
                with pytest.raises(SliceError, match="customer-level KPI"):
                    kpi_units(warehouse, params, request, kpi, period)
                continue
            found = kpi_units(warehouse, params, request, kpi, period)
            listed = [unit["value"] for unit in found[found["unit"]]]
            assert found["unit"] == unit_list(kpi, params).key
            assert found["n"] == n[kpi] == len(listed) == found["total"], (kpi, period)
            assert same(found["value"], values[kpi]), (kpi, period)
            assert same(recomputed(kpi, listed), values[kpi]), (kpi, period, listed)


AS_OF = dt.datetime(2026, 10, 31, 12, 0)
DAY = dt.timedelta(days=1)


def _ticket(ticket_id: str, customer_id: str, created: dt.datetime, reply: int | None, **more):
    return {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "created_at": created,
        "first_reply_at": None if reply is None else created + dt.timedelta(minutes=reply),
        "solved_at": created + DAY,
        "status": "solved",
        "channel": "email",
        "type": "question",
        "agent_replies": 1,
        "reopens": 0,
        "updated_at": created + DAY,
    } | more


@pytest.fixture
def hand_made(any_engine):
    """Four tickets in October (replies after 10, 20, 40 min and none), one in September;
    c1 recovered (t1, an incident put right), c2 unrecovered (t2, reopened), c3 never
    failed; c3 churned on 20 October. Three NPS responses in October."""
    insert_rows(
        any_engine,
        "customers",
        [
            {"customer_id": "c1", "signup_at": dt.datetime(2025, 1, 1), "churned_at": None},
            {"customer_id": "c2", "signup_at": dt.datetime(2025, 1, 1), "churned_at": None},
            {
                "customer_id": "c3",
                "signup_at": dt.datetime(2025, 1, 1),
                "churned_at": dt.datetime(2026, 10, 20),
            },
        ],
    )
    insert_rows(
        any_engine,
        "tickets",
        [
            _ticket("t0", "c3", dt.datetime(2026, 9, 10), 5),
            _ticket("t1", "c1", dt.datetime(2026, 10, 2), 10, type="incident"),
            _ticket("t2", "c2", dt.datetime(2026, 10, 5), 20, type="incident", reopens=1),
            _ticket("t3", "c3", dt.datetime(2026, 10, 8), 40, channel="chat"),
            _ticket("t4", "c3", dt.datetime(2026, 10, 9), None, status="open", solved_at=None),
        ],
    )
    insert_rows(
        any_engine,
        "nps_responses",
        [
            {"response_id": "r1", "customer_id": "c1", "responded_at": AS_OF - DAY, "score": 10},
            {"response_id": "r2", "customer_id": "c2", "responded_at": AS_OF - DAY, "score": 3},
            {"response_id": "r3", "customer_id": "c3", "responded_at": AS_OF - DAY, "score": 8},
        ],
    )
    return any_engine


def test_tta_median_of_october_lists_its_acknowledged_tickets(hand_made):
    # October's acknowledged tickets: t1 10, t2 20, t3 40 minutes (t4 unanswered, t0 in
    # September): n 3, median 20.
    params = MetricParams(as_of=AS_OF)
    request = SliceRequest(start=dt.date(2026, 10, 1))
    found = kpi_units(hand_made, params, request, "tta_median_minutes", sort="value")
    assert [(t["ticket_id"], t["value"]) for t in found["tickets"]] == [
        ("t1", 10.0),
        ("t2", 20.0),
        ("t3", 40.0),
    ]
    assert (found["n"], found["value"]) == (3, 20.0)
    # The p90 of the same three: 20 + 0.8 * (40 - 20) = 36.
    p90 = kpi_units(hand_made, params, request, "tta_p90_minutes")
    assert (p90["n"], p90["value"]) == (3, pytest.approx(36.0))
    # One period of a month grain: September holds only t0 (5 minutes).
    month = SliceRequest(start=dt.date(2026, 9, 1), grain="month")
    september = kpi_units(hand_made, params, month, "tta_median_minutes", dt.date(2026, 9, 1))
    assert [t["ticket_id"] for t in september["tickets"]] == ["t0"]
    assert (september["n"], september["value"]) == (1, 5.0)


def test_recovery_rate_lists_solved_failures_with_zero_or_one(hand_made):
    # Solved failures: t1 recovered (1), t2 reopened (0): rate 0.5 over 2.
    found = kpi_units(hand_made, MetricParams(as_of=AS_OF), SliceRequest(), "recovery_rate")
    assert {t["ticket_id"]: t["value"] for t in found["tickets"]} == {"t1": 1.0, "t2": 0.0}
    assert (found["n"], found["value"]) == (2, 0.5)


def test_nps_lists_responses_and_retention_lists_customers(hand_made):
    params = MetricParams(as_of=AS_OF)
    nps = kpi_units(hand_made, params, SliceRequest(), "nps")
    # r1 promoter +100, r2 detractor -100, r3 passive 0: NPS 0 over 3.
    assert {r["response_id"]: r["value"] for r in nps["responses"]} == {
        "r1": 100.0,
        "r2": -100.0,
        "r3": 0.0,
    }
    assert (nps["unit"], nps["n"], nps["value"]) == ("responses", 3, 0.0)
    # Never-failed at as_of - 90 days (2 Aug): all three (every failure came later); c3
    # churned on 20 October: retention 2 / 3.
    kept = kpi_units(hand_made, params, SliceRequest(), "never_failed_retention")
    assert [(c["customer_id"], c["recovery_group"], c["outcome"]) for c in kept["customers"]] == [
        ("c1", "never_failed", "retained"),
        ("c2", "never_failed", "retained"),
        ("c3", "never_failed", "churned"),
    ]
    assert (kept["n"], kept["value"]) == (3, pytest.approx(2 / 3))


def test_what_cannot_be_listed_says_why(hand_made):
    params = MetricParams(as_of=AS_OF)
    with pytest.raises(SliceError, match="unknown KPI 'nope'; known: tta_median_minutes"):
        kpi_units(hand_made, params, SliceRequest(), "nope")
    with pytest.raises(SliceError, match="customer-level KPI"):
        kpi_units(hand_made, params, SliceRequest(where=(("channel", ("chat",)),)), "nps")
    with pytest.raises(SliceError, match="not the first day of a week"):
        kpi_units(hand_made, params, SliceRequest(grain="week"), "nps", dt.date(2026, 10, 1))
    with pytest.raises(SliceError, match="go together"):
        kpi_units(hand_made, params, SliceRequest(), "nps", dt.date(2026, 10, 1))
