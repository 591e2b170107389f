"""The retention triangle on hand-computed customers, on DuckDB and on PostgreSQL.

As of 2024-06-30 12:00 UTC, months March to June 2024:
- a signed up 03-05, never churned;       b signed up 03-20, churned 04-15;
- c signed up 03-31 23:30 UTC (April 1 in Berlin), never churned;
- d signed up 04-10, churned 06-05.
Failures: b's ticket of 04-01, solved 04-02, reopened (unrecovered); a's of 04-02,
solved 04-03 (recovered); d's of 04-20, never solved (in recovery).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from metrics import MetricParams
from metrics.cohorts import compute_cohorts
from tests.metrics.rows import insert

PARAMS = MetricParams(as_of=dt.datetime(2024, 6, 30, 12))


@pytest.fixture
def sample(any_engine):
    insert(
        any_engine,
        "customers",
        [
            {"customer_id": "a", "signup_at": dt.datetime(2024, 3, 5)},
            {
                "customer_id": "b",
                "signup_at": dt.datetime(2024, 3, 20),
                "churned_at": dt.datetime(2024, 4, 15),
            },
            {"customer_id": "c", "signup_at": dt.datetime(2024, 3, 31, 23, 30)},
            {
                "customer_id": "d",
                "signup_at": dt.datetime(2024, 4, 10),
                "churned_at": dt.datetime(2024, 6, 5),
            },
        ],
    )
    insert(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": "tb",
                "customer_id": "b",
                "created_at": dt.datetime(2024, 4, 1),
                "solved_at": dt.datetime(2024, 4, 2),
                "status": "solved",
                "type": "incident",
                "reopens": 1,
                "csat": "bad",
            },
            {
                "ticket_id": "ta",
                "customer_id": "a",
                "created_at": dt.datetime(2024, 4, 2),
                "solved_at": dt.datetime(2024, 4, 3),
                "status": "solved",
                "type": "incident",
            },
            {
                "ticket_id": "td",
                "customer_id": "d",
                "created_at": dt.datetime(2024, 4, 20),
                "status": "open",
                "tags": ["outage"],
            },
        ],
    )
    return any_engine


def triangle(result: dict) -> dict:
    return {
        (c["cohort"], c["recovery_group"]): (c["customers"], [m["retained"] for m in c["months"]])
        for c in result["cohorts"]
    }


def test_signup_cohorts(sample):
    result = compute_cohorts(sample, PARAMS, cohorts=4)
    # March: a, b, c. End of April: b churned -> 2; end of May: 2; June has not ended.
    # April: d. End of May: still there (churned June 5).
    assert triangle(result) == {("2024-03", None): (3, [2, 2]), ("2024-04", None): (1, [1])}
    march = result["cohorts"][0]["months"]
    assert march[0] == {"month": 1, "retained": 2, "share": pytest.approx(2 / 3)}
    assert result["as_of"] == "2024-06-30T12:00:00Z"


def test_signup_cohorts_in_the_reporting_time_zone(sample):
    params = dataclasses.replace(PARAMS, reporting_timezone="Europe/Berlin")
    # c signed up on April 1 in Berlin.
    assert triangle(compute_cohorts(sample, params, cohorts=4)) == {
        ("2024-03", None): (2, [1, 1]),
        ("2024-04", None): (2, [2]),
    }


def test_first_failure_cohorts_split_by_recovery_group(sample):
    result = compute_cohorts(sample, PARAMS, by="first_failure_month", cohorts=4)
    # Every first failure is in April; groups at the end of April.
    assert triangle(result) == {
        ("2024-04", "in_recovery"): (1, [1]),  # d, churned after the end of May
        ("2024-04", "recovered"): (1, [1]),  # a
        ("2024-04", "unrecovered"): (1, [0]),  # b, churned in April
    }


def test_a_first_failure_out_of_a_short_look_back_leaves_its_customer_in_the_cohort(sample):
    params = dataclasses.replace(PARAMS, lookback_days=12)
    result = compute_cohorts(sample, params, by="first_failure_month", cohorts=4)
    # At the end of April, (04-19, 05-01] holds d's failure only: a and b stay in April's
    # cohort, never failed in that look-back (a retained at the end of May, b churned).
    assert triangle(result) == {
        ("2024-04", "in_recovery"): (1, [1]),  # d
        ("2024-04", "never_failed"): (2, [1]),  # a and b: 1 of 2 retained
    }


def test_an_empty_warehouse_has_no_cohorts(engine):
    assert compute_cohorts(engine) == {
        "as_of": None,
        "by": "signup_month",
        "timezone": "UTC",
        "cohorts": [],
    }
