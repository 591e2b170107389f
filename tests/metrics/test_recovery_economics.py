"""Recovery economics, proactive disclosure and close-the-loop time, by hand, on DuckDB and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics import MetricParams
from metrics.recovery import compute_recovery
from tests.metrics.rows import insert

AS_OF = dt.datetime(2024, 6, 1)  # t0 = 3 March
SIGNUP = dt.datetime(2023, 1, 1)
FAILED = dt.datetime(2024, 1, 10, 9)


def customer(customer_id, mrr, churned_at=None):
    return {"customer_id": customer_id, "signup_at": SIGNUP, "churned_at": churned_at, "mrr": mrr}


def failure(customer_id, compensation=None, tags=(), **columns):
    return {
        "ticket_id": f"f-{customer_id}",
        "customer_id": customer_id,
        "created_at": FAILED,
        "first_reply_at": FAILED + dt.timedelta(hours=1),
        "solved_at": FAILED + dt.timedelta(days=1),
        "status": "solved",
        "type": "incident",
        "reopens": 0,
        "csat": "good",
        "compensation": compensation,
        "tags": list(tags),
    } | columns


@pytest.fixture
def warehouse(any_engine):
    """Recovered r1 (proactive, paid 10, MRR 100, stays) and r2 (paid 30, MRR 200, churns);
    unrecovered u1 (reopened, paid 5, churns) and u2 (reopened, rated bad, stays), MRR 50 each;
    never-failed n1 (a detractor on 1 April, answered on a ticket 25 h later). r2 answers
    0-6 on 31 May at 20:00, too recent to judge against 48 h."""
    insert(
        any_engine,
        "customers",
        [
            customer("r1", 100.0),
            customer("r2", 200.0, dt.datetime(2024, 5, 1)),
            customer("u1", 50.0, dt.datetime(2024, 4, 1)),
            customer("u2", 50.0),
            customer("n1", 80.0),
        ],
    )
    asked = dt.datetime(2024, 4, 2, 9)
    insert(
        any_engine,
        "tickets",
        [
            failure("r1", 10.0, tags=["proactive"]),
            failure("r2", 30.0),
            failure("u1", 5.0, reopens=1),
            failure("u2", reopens=1, csat="bad"),
            {
                "ticket_id": "q-n1",
                "customer_id": "n1",
                "created_at": asked,
                "first_reply_at": asked + dt.timedelta(hours=1),
                "status": "open",
                "type": "question",
            },
        ],
    )
    insert(
        any_engine,
        "nps_responses",
        [
            {
                "response_id": "p1",
                "customer_id": "n1",
                "responded_at": dt.datetime(2024, 4, 1, 9),
                "score": 3,
            },
            {
                "response_id": "p2",
                "customer_id": "r2",
                "responded_at": dt.datetime(2024, 5, 31, 20),
                "score": 2,
            },
        ],
    )
    return any_engine


def test_economics_by_hand(warehouse):
    """The 2026-11 economics (net_gain and roi are null under 2026-12:
    tests/metrics/test_value_of_recovery.py)."""
    params = MetricParams(as_of=AS_OF, definitions="2026-11")
    money = compute_recovery(warehouse, params)["economics"]
    assert money["compensation_total"] == pytest.approx(45.0)
    assert money["compensation_recovered"] == pytest.approx(40.0)
    assert money["compensation_per_recovered_customer"] == pytest.approx(20.0)
    assert money["recovered_customers"] == 2
    assert money["mrr_kept"] == pytest.approx(100.0)  # r1 stays, r2 left
    assert money["mrr_kept_at_unrecovered_rate"] == pytest.approx(0.5 * 300.0)
    assert money["mrr_gained"] == pytest.approx(-50.0)
    months = 90 / (365.25 / 12)
    assert money["net_gain"] == pytest.approx(-50.0 * months - 40.0)
    assert money["roi"] == pytest.approx((-50.0 * months - 40.0) / 40.0)


def test_proactive_against_customer_reported(warehouse):
    found = compute_recovery(warehouse, MetricParams(as_of=AS_OF))["disclosure"]
    assert found["proactive"] == {
        "failures": 1,
        "recovery_rate": 1.0,
        "solved": 1,
        "customers_at_t0": 1,
        "retention": 1.0,
    }
    reactive = found["reactive"]
    assert (reactive["failures"], reactive["customers_at_t0"]) == (3, 3)
    assert reactive["recovery_rate"] == pytest.approx(1 / 3)
    assert reactive["retention"] == pytest.approx(1 / 3)  # u2 of r2, u1, u2


def test_close_the_loop_by_hand(warehouse):
    loop = compute_recovery(warehouse, MetricParams(as_of=AS_OF))["close_the_loop"]
    # n1's detractor (answered after 25 h), r2's detractor (not contacted, and too recent to
    # judge); u2's bad rating has no date, so it is left out (and counted as such).
    assert (loop["signals"], loop["closed"], loop["judged"]) == (2, 1, 1)
    assert loop["undated_bad_ratings"] == 1
    assert loop["median_hours"] == pytest.approx(25.0)
    assert loop["within_share"] == 1.0
    tighter = compute_recovery(warehouse, MetricParams(as_of=AS_OF, close_the_loop_hours=24))
    assert tighter["close_the_loop"]["within_share"] == 0.0
    # The 2026-11 definitions timed u2's rating from its solve (never contacted again).
    old = compute_recovery(warehouse, MetricParams(as_of=AS_OF, definitions="2026-11"))
    loop = old["close_the_loop"]
    assert (loop["signals"], loop["closed"], loop["judged"]) == (3, 1, 2)
    assert loop["within_share"] == pytest.approx(0.5)


def test_an_empty_warehouse(any_engine):
    assert compute_recovery(any_engine)["economics"] is None


def test_close_the_loop_counts_a_bracket_only_reply_as_answered_but_not_timed(any_engine):
    detractor = dt.datetime(2024, 4, 1)
    insert(any_engine, "customers", [{"customer_id": "d1", "signup_at": dt.datetime(2023, 1, 1)}])
    insert(
        any_engine,
        "nps_responses",
        [{"response_id": "n", "customer_id": "d1", "responded_at": detractor, "score": 3}],
    )
    insert(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": "later",
                "customer_id": "d1",
                "created_at": detractor + dt.timedelta(hours=2),
                "status": "open",
                "first_reply_bracket": "0-1 hrs",  # Explore: answered, time unknown
            }
        ],
    )
    loop = compute_recovery(any_engine, MetricParams(as_of=AS_OF))["close_the_loop"]
    assert (loop["signals"], loop["closed"], loop["judged"]) == (1, 1, 0)
    assert loop["median_hours"] is None and loop["within_share"] is None
