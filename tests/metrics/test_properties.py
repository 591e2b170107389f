"""Property: on random canonical data, compute_kpis equals the plain Python reference
(tests/metrics/reference.py)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.options import DEFINITIONS
from metrics import MetricParams, compute_kpis, recovery_groups
from tests.metrics.reference import group_at, latest_timestamp, reference
from warehouse import ensure_schema, tables

BASE = dt.datetime(2023, 1, 1)
AS_OF_DAY = 400
CUSTOMERS = [f"c{i}" for i in range(5)]


# --- random canonical data -----------------------------------------------------------------


@st.composite
def days(draw, horizon_days: int, lookback_days: int) -> int:
    """A day offset from BASE, often exactly on a boundary of the metric windows."""
    t0 = AS_OF_DAY - horizon_days
    boundaries = [AS_OF_DAY, t0, AS_OF_DAY - 365, t0 - lookback_days, AS_OF_DAY - lookback_days]
    return draw(st.one_of(st.sampled_from(boundaries), st.integers(0, AS_OF_DAY + 20)))


def after(start: dt.datetime, minutes: int | None) -> dt.datetime | None:
    return None if minutes is None else start + dt.timedelta(minutes=minutes)


@st.composite
def dataset(draw) -> dict:
    horizon_days = draw(st.sampled_from([30, 90]))
    lookback_days = draw(st.sampled_from([365, 100]))
    at = st.builds(
        lambda d, quarter_hours: BASE + dt.timedelta(days=d, minutes=15 * quarter_hours),
        days(horizon_days, lookback_days),
        st.sampled_from([0, 0, 1, 4, 95]),
    )
    tickets = []
    for i in range(draw(st.integers(0, 12))):
        created_at = draw(at)
        tickets.append(
            {
                "ticket_id": f"t{i}",
                "customer_id": draw(st.sampled_from(CUSTOMERS)),
                "created_at": created_at,
                "channel": draw(st.sampled_from(["email", "chat", "web"])),
                "first_reply_at": after(
                    created_at, draw(st.sampled_from([None, 0, 30, 59, 60, 61, 600, 9000]))
                ),
                "solved_at": after(
                    created_at, draw(st.sampled_from([None, 0, 60, 1440, 1440, 50_000, 200_000]))
                ),
                "updated_at": created_at,
                "status": draw(
                    st.sampled_from(["new", "open", "pending", "hold", "solved", "closed"])
                ),
                "type": draw(st.sampled_from([None, "question", "incident", "problem", "task"])),
                "tags": draw(
                    st.lists(
                        st.sampled_from(["bug", "outage", "vip", "billing_error"]),
                        max_size=2,
                        unique=True,
                    )
                ),
                "csat": draw(
                    st.sampled_from([None, "good", "good", "bad", "offered", "unoffered"])
                ),
                "reopens": draw(st.sampled_from([None, 0, 0, 0, 1, 2])),
                "agent_replies": draw(st.sampled_from([None, 0, 1, 2, 3])),
                "assignee_stations": draw(st.sampled_from([None, 0, 1, 2])),
                "group_stations": draw(st.sampled_from([None, 1, 1, 3])),
            }
        )
    customers = []
    for customer_id in draw(st.lists(st.sampled_from(CUSTOMERS), min_size=2, unique=True)):
        signup_at = draw(st.one_of(st.just(BASE), at))
        churn_day = draw(st.one_of(st.none(), days(horizon_days, lookback_days)))
        churned_at = (
            None if churn_day is None else max(signup_at, BASE + dt.timedelta(days=churn_day))
        )
        customers.append(
            {
                "customer_id": customer_id,
                "signup_at": signup_at,
                "churned_at": churned_at,
                "plan": draw(st.sampled_from([None, "basic", "pro"])),
            }
        )
    responses = [
        {
            "response_id": f"r{i}",
            "customer_id": draw(st.sampled_from(CUSTOMERS)),
            "responded_at": draw(at),
            "score": draw(st.integers(0, 10)),
        }
        for i in range(draw(st.integers(0, 10)))
    ]
    as_of = draw(st.sampled_from([BASE + dt.timedelta(days=AS_OF_DAY), None]))
    target = draw(st.sampled_from([30.0, 60.0]))
    definitions = draw(st.sampled_from(DEFINITIONS))
    return {
        "tickets": tickets,
        "customers": customers,
        "responses": responses,
        "params": MetricParams(
            as_of=as_of,
            horizon_days=horizon_days,
            target_minutes=target,
            definitions=definitions,
            lookback_days=lookback_days,
        ),
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> sa.Engine:
    # A pooled engine (unlike get_engine's) keeps one connection open across examples.
    engine = sa.create_engine(f"duckdb:///{tmp_path_factory.mktemp('property') / 'w.duckdb'}")
    ensure_schema(engine)
    yield engine
    engine.dispose()


LINEAGE = {"source": "test", "batch_id": "test-batch", "source_file": "test.csv"}


def load(engine: sa.Engine, data: dict) -> None:
    """Replace the warehouse's canonical rows with ``data``, in one transaction."""
    rows = {
        "tickets": [LINEAGE | {"channel": "email"} | x for x in data["tickets"]],
        "customers": [LINEAGE | x for x in data["customers"]],
        "nps_responses": [LINEAGE | x for x in data["responses"]],
    }
    with engine.begin() as conn:
        for table, table_rows in rows.items():
            conn.execute(tables[table].delete())
            if table_rows:
                conn.execute(tables[table].insert(), table_rows)


def same(found: float | None, expected: float | None) -> bool:
    if found is None or expected is None:
        return found is None and expected is None
    return math.isclose(found, expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=80, deadline=None)
@given(data=dataset())
def test_compute_kpis_matches_a_plain_reference(warehouse, data):
    load(warehouse, data)
    params = data["params"]
    result = compute_kpis(warehouse, params)
    if not (data["tickets"] or data["customers"] or data["responses"]):
        assert result["as_of"] is None or params.as_of is not None
        assert set(result["kpis"].values()) == {None}
        return
    as_of = params.as_of or latest_timestamp(data)
    assert result["as_of"] == as_of.isoformat() + "Z"
    expected = reference(
        data,
        as_of,
        params.horizon_days,
        params.target_minutes,
        params.definitions,
        params.lookback_days,
    )
    mismatches = {
        name: (result["kpis"][name], value)
        for name, value in expected.items()
        if not same(result["kpis"][name], value)
    }
    assert not mismatches
    for name, (first, second) in {
        "nps_delta": ("nps_recovered", "nps_never_failed"),
        "retention_delta": ("recovered_retention", "never_failed_retention"),
    }.items():
        both = None not in (expected[first], expected[second])
        wanted = expected[first] - expected[second] if both else None
        assert same(result["paradox"][name]["value"], wanted)


@settings(max_examples=30, deadline=None)
@given(data=dataset())
def test_recovery_groups_count_every_active_customer_once(warehouse, data):
    load(warehouse, data)
    params = data["params"]
    frame = recovery_groups(warehouse, params)
    if params.as_of is None and not (data["tickets"] or data["customers"] or data["responses"]):
        assert frame["customers_at_t0"].sum() == 0
        return
    as_of = params.as_of or latest_timestamp(data)
    t0 = as_of - dt.timedelta(days=params.horizon_days)
    expected = {"recovered": 0, "never_failed": 0, "unrecovered": 0, "in_recovery": 0}
    for c in data["customers"]:
        if c["signup_at"] <= t0 and (c["churned_at"] is None or c["churned_at"] > t0):
            group = group_at(
                c["customer_id"], t0, data["tickets"], params.definitions, params.lookback_days
            )
            expected[group] += 1
    assert dict(zip(frame["group"], frame["customers_at_t0"], strict=True)) == expected
