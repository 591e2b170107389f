"""Property: on random canonical data, every group of a slice equals the plain Python
reference computed on that group's rows alone (tests/metrics/reference.py), on DuckDB and
on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.slices import SliceRequest, compute_slice
from tests.metrics.reference import (
    analyst_customer_kpis,
    analyst_ticket_kpis,
    latest_timestamp,
    reference,
)
from tests.metrics.test_properties import BASE, dataset, load, same

TICKET_KPIS = ("tta_median_minutes", "tta_p90_minutes", "tta_within_target_pct", "handoff_rate")
RETENTION_KPIS = (
    "recovered_retention",
    "never_failed_retention",
    "unrecovered_retention",
    "attrition_rate_12m",
)


@pytest.fixture(scope="module")
def warehouse(module_warehouse) -> sa.Engine:
    return module_warehouse


def as_of_of(data: dict) -> dt.datetime | None:
    return data["params"].as_of or (
        latest_timestamp(data)
        if data["tickets"] or data["customers"] or data["responses"]
        else None
    )


def month_of(ts: dt.datetime) -> dt.date:
    return ts.date().replace(day=1)


def mismatches(found: dict, expected: dict) -> dict:
    return {k: (found[k], v) for k, v in expected.items() if not same(found[k], v)}


@settings(max_examples=40, deadline=None)
@given(data=dataset(), one_touch=st.sampled_from(["explore", "dbt_zendesk"]))
def test_ticket_kpis_per_channel_and_month_match_the_reference(warehouse, data, one_touch):
    load(warehouse, data)
    params = data["params"].__class__(**{**data["params"].__dict__, "one_touch": one_touch})
    request = SliceRequest(by=("channel",), grain="month", start=BASE.date())
    result = compute_slice(warehouse, params, request)
    as_of = as_of_of(data)
    if as_of is None:
        assert result["rows"] == []
        return
    groups = defaultdict(list)
    for x in data["tickets"]:
        if BASE <= x["created_at"] <= as_of:
            groups[(x["channel"], month_of(x["created_at"]))].append(x)
    rows = {(r["channel"], dt.date.fromisoformat(r["period_start"])): r for r in result["rows"]}
    assert set(rows) == set(groups)
    for key, tickets in groups.items():
        expected = analyst_ticket_kpis(
            tickets, as_of, preset=one_touch, definitions=params.definitions
        )
        contract = reference(
            {"tickets": tickets, "customers": [], "responses": []},
            as_of,
            params.horizon_days,
            params.target_minutes,
            params.definitions,
            params.lookback_days,
        )
        expected |= {name: contract[name] for name in TICKET_KPIS}
        assert not mismatches(rows[key]["kpis"], expected), key
        assert rows[key]["n"]["ticket_volume"] == len(tickets)
        assert rows[key]["small"] is (len(tickets) < params.min_group_size)
    # Customer-level KPIs have no value per channel, and say so.
    assert "recovered_retention" in result["notes"]


@settings(max_examples=40, deadline=None)
@given(data=dataset())
def test_customer_kpis_per_plan_match_the_reference(warehouse, data):
    load(warehouse, data)
    params = data["params"]
    result = compute_slice(warehouse, params, SliceRequest(by=("plan",)))
    as_of = as_of_of(data)
    if as_of is None:
        return
    rows = {r["plan"]: r for r in result["rows"]}
    for plan in {c["plan"] for c in data["customers"]}:
        customers = [c for c in data["customers"] if c["plan"] == plan]
        ids = {c["customer_id"] for c in customers}
        if plan is None:  # rows of customers the warehouse does not know have no plan either
            known = {c["customer_id"] for c in data["customers"]}
            ids |= {x["customer_id"] for x in data["tickets"] + data["responses"]} - known
        # Everything about these customers: their tickets and their responses.
        part = {
            "tickets": [x for x in data["tickets"] if x["customer_id"] in ids],
            "customers": customers,
            "responses": [r for r in data["responses"] if r["customer_id"] in ids],
        }
        expected = reference(
            part,
            as_of,
            params.horizon_days,
            params.target_minutes,
            params.definitions,
            params.lookback_days,
        )
        expected = {name: expected[name] for name in (*RETENTION_KPIS, "nps", "nps_recovered")}
        expected |= analyst_customer_kpis(part, customers, as_of, params.definitions)
        if plan not in rows:  # no row: nothing of this plan in any fact set
            assert all(value is None for value in expected.values()), expected
            continue
        assert not mismatches(rows[plan]["kpis"], expected), plan


@settings(max_examples=30, deadline=None)
@given(data=dataset())
def test_retention_per_month_is_measured_at_the_months_end(warehouse, data):
    load(warehouse, data)
    params = data["params"]
    request = SliceRequest(grain="month", start=(BASE + dt.timedelta(days=300)).date())
    result = compute_slice(warehouse, params, request)
    as_of = as_of_of(data)
    if as_of is None:
        return
    for row in result["rows"]:
        start = dt.date.fromisoformat(row["period_start"])
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        end = min(
            dt.datetime.combine(following, dt.time()), as_of
        )  # the next month's first instant
        expected = reference(
            data,
            end,
            params.horizon_days,
            params.target_minutes,
            params.definitions,
            params.lookback_days,
        )
        expected = {name: expected[name] for name in RETENTION_KPIS}
        assert not mismatches(row["kpis"], expected), start
