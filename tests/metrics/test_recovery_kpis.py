"""Customer KPIs on hand-computed rows: recovery groups, retention and attrition."""

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
_ids = itertools.count()


def customer(
    customer_id: str,
    churned_at: dt.datetime | None = None,
    signup_at: dt.datetime = AS_OF - 400 * DAY,
) -> dict:
    return {"customer_id": customer_id, "signup_at": signup_at, "churned_at": churned_at}


def failure(customer_id: str, solved_at: dt.datetime | None, **columns) -> dict:
    """An incident ticket created 10 days before t0."""
    return {
        "ticket_id": f"t{next(_ids)}",
        "customer_id": customer_id,
        "created_at": T0 - 10 * DAY,
        "type": "incident",
        "status": "solved" if solved_at else "open",
        "solved_at": solved_at,
    } | columns


def kpis(engine, **params) -> dict:
    return compute_kpis(engine, MetricParams(as_of=AS_OF, **params))["kpis"]


def groups(engine) -> dict[str, dict]:
    frame = recovery_groups(engine, MetricParams(as_of=AS_OF))
    return {row["group"]: row for row in frame.iter_rows(named=True)}


def test_reopened_failures_are_unrecovered_and_badly_rated_ones_under_2026_11(engine):
    insert(engine, "customers", [customer(c) for c in ("good", "reopened", "bad", "unrated")])
    solved_at = T0 - 5 * DAY
    insert(
        engine,
        "tickets",
        [
            failure("good", solved_at, csat="good", reopens=0),
            failure("reopened", solved_at, csat="good", reopens=1),
            failure("bad", solved_at, csat="bad", reopens=0),
            failure("unrated", solved_at, csat=None, reopens=None),  # nulls: not reopened, not bad
        ],
    )
    counts = {name: row["customers_at_t0"] for name, row in groups(engine).items()}
    # 2026-12: only the reopen undoes a recovery; "bad" (not reopened) is recovered.
    assert counts == {"recovered": 3, "never_failed": 0, "unrecovered": 1, "in_recovery": 0}
    frame = recovery_groups(engine, MetricParams(as_of=AS_OF, definitions="2026-11"))
    kept = {row["group"]: row["customers_at_t0"] for row in frame.iter_rows(named=True)}
    assert kept == {"recovered": 2, "never_failed": 0, "unrecovered": 2, "in_recovery": 0}


def test_a_failure_unsolved_at_t0_puts_the_customer_in_recovery(engine):
    insert(engine, "customers", [customer("waiting"), customer("mixed")])
    insert(
        engine,
        "tickets",
        [
            failure("waiting", T0 + DAY),  # solved after t0: still unsolved at t0
            failure("mixed", T0 - DAY),
            failure("mixed", None),
        ],
    )
    result = groups(engine)
    assert result["in_recovery"]["customers_at_t0"] == 2
    assert result["recovered"]["customers_at_t0"] == 0


def test_an_unrecovered_failure_outweighs_an_unsolved_one(engine):
    insert(engine, "customers", [customer("c1")])
    insert(engine, "tickets", [failure("c1", T0 - DAY, reopens=2), failure("c1", None)])
    assert groups(engine)["unrecovered"]["customers_at_t0"] == 1


def test_failures_are_incidents_problems_or_failure_tags(engine):
    insert(engine, "customers", [customer(c) for c in ("tagged", "problem", "question", "task")])
    insert(
        engine,
        "tickets",
        [
            failure("tagged", None, type="question", tags=["vip", "outage"]),
            failure("problem", None, type="problem"),
            failure("question", None, type="question", tags=["vip"]),
            failure("task", None, type=None, tags=None),
        ],
    )
    result = groups(engine)
    assert result["in_recovery"]["customers_at_t0"] == 2
    assert result["never_failed"]["customers_at_t0"] == 2


def test_failure_tags_are_configurable(engine):
    insert(engine, "customers", [customer("c1")])
    insert(engine, "tickets", [failure("c1", None, type="question", tags=["refund"])])
    params = MetricParams(as_of=AS_OF, failure_tags=("refund",))
    frame = recovery_groups(engine, params)
    assert frame.filter(group="in_recovery")["customers_at_t0"].item() == 1


def test_failures_created_after_t0_do_not_count_at_t0(engine):
    insert(engine, "customers", [customer("c1")])
    insert(engine, "tickets", [failure("c1", None, created_at=T0 + DAY)])
    assert groups(engine)["never_failed"]["customers_at_t0"] == 1


def test_retention_boundaries_churn_at_t0_and_at_t0_plus_h(engine):
    insert(
        engine,
        "customers",
        [
            customer("churned_at_t0", T0),  # not active at t0: left out
            customer("churned_at_end", AS_OF),  # churned exactly at t0 + H: churned
            customer("churned_later", AS_OF + dt.timedelta(seconds=1)),  # retained
            customer("stays"),
            customer("signed_up_after_t0", signup_at=T0 + DAY),  # not active at t0
        ],
    )
    result = kpis(engine)
    assert result["never_failed_retention"] == pytest.approx(2 / 3)
    assert groups(engine)["never_failed"]["customers_at_t0"] == 3


def test_retention_per_group(engine):
    insert(
        engine,
        "customers",
        [customer("rec"), customer("unrec_stays"), customer("unrec_gone", AS_OF - DAY)],
    )
    insert(
        engine,
        "tickets",
        [
            failure("rec", T0 - DAY, csat="good"),
            failure("unrec_stays", T0 - DAY, reopens=1, csat="bad"),
            failure("unrec_gone", T0 - DAY, reopens=1),
        ],
    )
    result = kpis(engine)
    assert result["recovered_retention"] == pytest.approx(1.0)
    assert result["unrecovered_retention"] == pytest.approx(0.5)
    assert result["never_failed_retention"] is None


def test_groups_with_no_data_give_none(engine):
    insert(engine, "customers", [customer("c1")])
    result = compute_kpis(engine, MetricParams(as_of=AS_OF))
    assert result["kpis"]["recovered_retention"] is None
    assert result["kpis"]["unrecovered_retention"] is None
    delta = result["paradox"]["retention_delta"]
    assert (delta["value"], delta["ci_low"], delta["ci_high"]) == (None, None, None)
    assert delta["verdict"] == "not_enough_data"
    assert delta["n"] == {"recovered": 0, "never_failed": 1}
    row = groups(engine)["recovered"]
    assert (row["customers_at_t0"], row["retention"], row["retention_ci_low"]) == (0, None, None)


def test_attrition_12m_boundaries(engine):
    year_ago = AS_OF - dt.timedelta(days=365)
    insert(
        engine,
        "customers",
        [
            customer("churned_at_as_of", AS_OF),  # churned in the window
            customer("churned_after", AS_OF + DAY),  # not yet at as_of
            customer("stays"),
            customer("churned_at_start", year_ago),  # not active at the start: left out
            customer("new", signup_at=year_ago + DAY),  # not active at the start: left out
        ],
    )
    assert kpis(engine)["attrition_rate_12m"] == pytest.approx(1 / 3)


def test_horizon_is_configurable(engine):
    insert(engine, "customers", [customer("c1", AS_OF - 20 * DAY)])
    assert kpis(engine, horizon_days=30)["never_failed_retention"] == pytest.approx(0.0)
    assert kpis(engine, horizon_days=10)["never_failed_retention"] is None
