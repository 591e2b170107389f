"""The recovery groups' look-back and the recovered rule of each set of definitions, on
hand-computed rows: under 2026-12 a customer's group at t looks only at their failures
created in (t - 365 days, t], and a failure is recovered when solved and not reopened (CSAT
is not part of it); under 2026-11 every failure since the data begins counts, and a bad
rating undoes a recovery."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from metrics import MetricParams, compute_kpis, recovery_groups
from tests.metrics.rows import insert


@pytest.fixture
def engine(any_engine):
    """Every test here runs on DuckDB and on PostgreSQL."""
    return any_engine


AS_OF = dt.datetime(2024, 6, 1)
T0 = AS_OF - dt.timedelta(days=90)  # retention start for the default H = 90
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
LOOKBACK = dt.timedelta(days=365)  # the default look-back
_ids = itertools.count()


def customer(customer_id: str) -> dict:
    return {"customer_id": customer_id, "signup_at": T0 - 900 * DAY, "churned_at": None}


def failure(customer_id: str, created_at: dt.datetime, solved_at: dt.datetime | None, **columns):
    return {
        "ticket_id": f"t{next(_ids)}",
        "customer_id": customer_id,
        "created_at": created_at,
        "type": "incident",
        "status": "solved" if solved_at else "open",
        "solved_at": solved_at,
    } | columns


def response(customer_id: str, responded_at: dt.datetime, score: int) -> dict:
    return {
        "response_id": f"r{next(_ids)}",
        "customer_id": customer_id,
        "responded_at": responded_at,
        "score": score,
    }


def at_t0(engine, definitions: str) -> dict[str, int]:
    """Customers at t0 per recovery group."""
    frame = recovery_groups(engine, MetricParams(as_of=AS_OF, definitions=definitions))
    return {row["group"]: row["customers_at_t0"] for row in frame.iter_rows(named=True)}


def groups_of(**counts: int) -> dict[str, int]:
    return {"recovered": 0, "never_failed": 0, "unrecovered": 0, "in_recovery": 0} | counts


def test_an_old_unrecovered_failure_leaves_the_group_after_the_look_back(engine):
    insert(engine, "customers", [customer("old")])
    # Reopened (unrecovered), created 400 days before t0 and solved 390 days before: nothing
    # since. Under 2026-12 t0's look-back is (t0 - 365 d, t0], which it lies before.
    insert(engine, "tickets", [failure("old", T0 - 400 * DAY, T0 - 390 * DAY, reopens=1)])
    assert at_t0(engine, "2026-12") == groups_of(never_failed=1)
    assert at_t0(engine, "2026-11") == groups_of(unrecovered=1)


def test_a_failure_rated_bad_but_not_reopened_is_recovered_from_2026_12(engine):
    insert(engine, "customers", [customer("rated bad")])
    insert(
        engine,
        "tickets",
        [failure("rated bad", T0 - 30 * DAY, T0 - 29 * DAY, reopens=0, csat="bad")],
    )
    assert at_t0(engine, "2026-12") == groups_of(recovered=1)
    assert at_t0(engine, "2026-11") == groups_of(unrecovered=1)
    # The ticket KPI follows the same rule: 1 recovered of 1 solved failure, against 0 of 1.
    for definitions, expected in (("2026-12", 1.0), ("2026-11", 0.0)):
        params = MetricParams(as_of=AS_OF, definitions=definitions)
        assert compute_kpis(engine, params)["kpis"]["recovery_rate"] == expected


def test_the_look_back_starts_just_after_t_minus_365_days(engine):
    insert(engine, "customers", [customer("on the edge"), customer("a second later")])
    insert(
        engine,
        "tickets",
        [  # both reopened: unrecovered wherever they count
            failure("on the edge", T0 - LOOKBACK, T0 - LOOKBACK + DAY, reopens=1),
            failure("a second later", T0 - LOOKBACK + SECOND, T0 - LOOKBACK + DAY, reopens=1),
        ],
    )
    # (t0 - 365 d, t0]: the start is excluded, so only the second failure groups its customer.
    assert at_t0(engine, "2026-12") == groups_of(never_failed=1, unrecovered=1)
    assert at_t0(engine, "2026-11") == groups_of(unrecovered=2)


def test_the_look_back_is_a_setting(engine):
    insert(engine, "customers", [customer("c1")])
    insert(engine, "tickets", [failure("c1", T0 - 40 * DAY, T0 - 39 * DAY, reopens=1)])
    params = MetricParams(as_of=AS_OF, lookback_days=30)
    counts = {r["group"]: r["customers_at_t0"] for r in recovery_groups(engine, params).to_dicts()}
    assert counts == groups_of(never_failed=1)  # 40 days before t0: outside a 30-day look-back


def test_an_unsolved_failure_of_the_look_back_is_in_recovery_and_an_older_one_is_not(engine):
    insert(engine, "customers", [customer("open recently"), customer("open long ago")])
    insert(
        engine,
        "tickets",
        [
            failure("open recently", T0 - 100 * DAY, None),
            failure("open recently", T0 - 500 * DAY, T0 - 499 * DAY, reopens=3),  # outside
            failure("open long ago", T0 - 366 * DAY, None),  # outside, though still open
        ],
    )
    assert at_t0(engine, "2026-12") == groups_of(in_recovery=1, never_failed=1)
    # 2026-11: the old reopened failure outweighs the open one; the old open one counts.
    assert at_t0(engine, "2026-11") == groups_of(unrecovered=1, in_recovery=1)


def test_nps_recovered_counts_responses_after_the_last_look_back_failure_was_solved(engine):
    insert(engine, "customers", [customer("c1"), customer("never")])
    insert(
        engine,
        "tickets",
        [
            # Created 400 days before as_of (outside its look-back), solved 10 days before.
            failure("c1", AS_OF - 400 * DAY, AS_OF - 10 * DAY),
            # Created 100 days before as_of, solved 90 days before: the look-back's last solve.
            failure("c1", AS_OF - 100 * DAY, AS_OF - 90 * DAY),
        ],
    )
    insert(
        engine,
        "nps_responses",
        [
            response("c1", AS_OF - 50 * DAY, 0),
            response("c1", AS_OF - 20 * DAY, 10),
            response("never", AS_OF - DAY, 0),
        ],
    )

    def nps(definitions: str) -> tuple:
        result = compute_kpis(engine, MetricParams(as_of=AS_OF, definitions=definitions))
        return result["kpis"]["nps_recovered"], result["n"]["nps_recovered"]

    # 2026-12: both responses are after the 90-day solve, but the old failure (unsolved
    # then) left the look-back only 35 days before as_of: the response 50 days before was
    # given while c1 was still in recovery, so only the one 20 days before counts: one
    # promoter, NPS 100 × (1 - 0) / 1 = 100.
    assert nps("2026-12") == (100.0, 1)
    # 2026-11: the last solve is the old failure's, 10 days before as_of: no response after.
    assert nps("2026-11") == (None, 0)


def test_hindsight_counts_the_failures_that_group_customers_at_t0(engine):
    insert(engine, "customers", [customer("c1")])
    insert(
        engine,
        "tickets",
        [  # first known (updated_at) after t0: both read from a later version
            failure("c1", T0 - 400 * DAY, T0 - 399 * DAY, updated_at=T0 + DAY),
            failure("c1", T0 - 10 * DAY, T0 - 9 * DAY, updated_at=T0 + DAY),
        ],
    )

    def known(definitions: str) -> tuple[int, int]:
        found = compute_kpis(engine, MetricParams(as_of=AS_OF, definitions=definitions))
        return found["hindsight"]["failure_tickets"], found["hindsight"]["first_known_later"]

    assert known("2026-12") == (1, 1)  # only the failure of t0's look-back
    assert known("2026-11") == (2, 2)
