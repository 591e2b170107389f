"""Mature periods on hand-computed rows, on DuckDB and on PostgreSQL: a sliced row's
period_end and complete, the maturity's default (the p90 of the failures' resolution times),
the as_of period never complete, and monthly attrition per full calendar month.

as_of is Wednesday 2026-10-14 12:00 UTC; ISO weeks start on Mondays 09-28, 10-05, 10-12.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from metrics import MetricParams, compute_kpis, weekly_trends
from metrics.maturity import DEFAULT_MATURITY_DAYS
from metrics.slices import SliceRequest, compute_slice
from tests.metrics.rows import insert

AS_OF = dt.datetime(2026, 10, 14, 12, 0)
H = dt.timedelta(hours=1)


def _ticket(ticket_id: str, created_at: dt.datetime, **columns) -> dict:
    return {
        "ticket_id": ticket_id,
        "customer_id": "c",
        "created_at": created_at,
        "updated_at": created_at,
        "type": "question",
    } | columns


def _failure(ticket_id: str, solved_at: dt.datetime | None, hours: float, **columns) -> dict:
    """A failure ticket solved at ``solved_at``, created ``hours`` before it."""
    created = (solved_at or AS_OF) - hours * H
    return _ticket(ticket_id, created, type="incident", solved_at=solved_at, **columns)


def _weeks(engine, params: MetricParams, **request) -> dict:
    result = compute_slice(engine, params, SliceRequest(grain="week", **request))
    return result | {"by_start": {row["period_start"]: row for row in result["rows"]}}


@pytest.fixture
def weeks(any_engine):
    """Tickets created in each of the three weeks; the as_of week's second ticket has no
    reply yet: its TTA median is the one answered ticket's 60 minutes, however soon the
    other is answered."""
    insert(
        any_engine,
        "tickets",
        [
            _ticket("a", dt.datetime(2026, 9, 29, 9), first_reply_at=dt.datetime(2026, 9, 29, 11)),
            _ticket("b", dt.datetime(2026, 10, 6, 9), first_reply_at=dt.datetime(2026, 10, 6, 10)),
            _ticket(
                "c", dt.datetime(2026, 10, 12, 9), first_reply_at=dt.datetime(2026, 10, 12, 10)
            ),
            _ticket("d", dt.datetime(2026, 10, 13, 9), first_reply_at=None, status="open"),
        ],
    )
    return any_engine


def test_a_week_is_complete_maturity_days_after_its_end(weeks):
    # Week of 10-05 ends 10-12 00:00; + 2 days = 10-14 00:00 <= as_of 10-14 12:00: complete.
    found = _weeks(weeks, MetricParams(as_of=AS_OF, maturity_days=2), start=dt.date(2026, 9, 28))
    rows = found["by_start"]
    assert found["maturity_days"] == 2
    assert [rows[s]["period_end"] for s in rows] == [
        "2026-10-05T00:00:00Z",
        "2026-10-12T00:00:00Z",
        "2026-10-19T00:00:00Z",
    ]
    assert [rows[s]["complete"] for s in rows] == [True, True, False]
    # The as_of week keeps its own value, flagged by complete false (not replaced).
    assert rows["2026-10-12"]["kpis"]["tta_median_minutes"] == 60.0
    # + 3 days = 10-15 00:00 > as_of: the week of 10-05 is not complete yet.
    later = _weeks(weeks, MetricParams(as_of=AS_OF, maturity_days=3), start=dt.date(2026, 9, 28))
    assert [row["complete"] for row in later["rows"]] == [True, False, False]


def test_the_as_of_period_is_never_complete(weeks):
    # Maturity 0: the week of 10-05 ended at 10-12 00:00, before as_of; the as_of week ends
    # 10-19 00:00, after it.
    zero = MetricParams(as_of=AS_OF, maturity_days=0)
    found = _weeks(weeks, zero, start=dt.date(2026, 10, 5))
    assert [row["complete"] for row in found["rows"]] == [True, False]
    # --to Sunday 10-11 measures at 10-11 23:59:59.999999: its week (ending 10-12 00:00,
    # a microsecond later) is the as_of week, still not complete.
    ending = _weeks(weeks, zero, start=dt.date(2026, 10, 5), end=dt.date(2026, 10, 11))
    assert [row["complete"] for row in ending["rows"]] == [False]
    # Every grain: the period holding as_of is never complete.
    for grain in ("day", "week", "month", "quarter"):
        result = compute_slice(weeks, zero, SliceRequest(grain=grain))
        assert result["rows"][-1]["complete"] is False, grain


def test_rows_without_a_grain_end_at_as_of_and_are_not_complete(weeks):
    params = MetricParams(as_of=AS_OF, maturity_days=0)
    result = compute_slice(weeks, params, SliceRequest(by=("channel",)))
    (row,) = result["rows"]
    assert row["period_end"] == "2026-10-14T12:00:00Z"  # the range runs to as_of
    assert row["complete"] is False
    assert "period_start" not in row


def test_the_maturity_is_the_p90_of_failure_resolution_times_in_whole_days(any_engine):
    """Failures solved in (as_of - 365 days, as_of] took 10, 20, 30, 40 and 100 hours:
    p90 = 40 + 0.6 × (100 - 40) = 76 h = 3.17 days, rounded up to 4."""
    year_ago = AS_OF - dt.timedelta(days=365)
    insert(
        any_engine,
        "tickets",
        [
            _failure("f1", AS_OF - 10 * H, 10, status="solved"),
            _failure("f2", dt.datetime(2026, 5, 1), 20, status="solved"),
            _failure("f3", dt.datetime(2026, 1, 1), 30, status="closed"),
            _failure("f4", year_ago + H, 40, status="solved"),
            _failure("f5", dt.datetime(2026, 9, 1), 100, status="solved", tags=["outage"]),
            # Left out: solved a year or more before as_of, after as_of, not yet, or no failure.
            _failure("old", year_ago, 1000, status="solved"),
            _failure("later", AS_OF + H, 1000, status="solved"),
            _failure("open", None, 1000, status="open"),
            _ticket("question", AS_OF - 2000 * H, solved_at=AS_OF - H, status="solved"),
        ],
    )
    hours = [10, 20, 30, 40, 100]
    assert np.percentile(hours, 90) == pytest.approx(76)  # numpy's linear interpolation
    result = compute_slice(any_engine, MetricParams(as_of=AS_OF), SliceRequest(grain="week"))
    assert result["maturity_days"] == 4
    # Week of 10-05 ends 10-12: + 4 days = 10-16 > as_of; week of 09-28: 10-09 <= as_of.
    complete = {row["period_start"]: row["complete"] for row in result["rows"]}
    assert complete["2026-09-28"] is True and complete["2026-10-05"] is False
    # A configured maturity wins.
    given = compute_slice(any_engine, MetricParams(as_of=AS_OF, maturity_days=1.5))
    assert given["maturity_days"] == 1.5


def test_without_solved_failures_the_maturity_is_the_documented_constant(weeks):
    result = compute_slice(weeks, MetricParams(as_of=AS_OF), SliceRequest(grain="week"))
    assert result["maturity_days"] == DEFAULT_MATURITY_DAYS == 14


def test_weekly_trends_mark_the_weeks_not_yet_complete(weeks):
    frame = weekly_trends(weeks, MetricParams(as_of=AS_OF, maturity_days=2), weeks=3)
    assert frame["week_start"].to_list() == [
        dt.date(2026, 9, 28),
        dt.date(2026, 10, 5),
        dt.date(2026, 10, 12),
    ]
    assert frame["complete"].to_list() == [True, True, False]


@pytest.fixture
def churns(any_engine):
    """a churned 09-10, e at exactly 10-01 00:00 (September's end), b on 10-05; c stays;
    d signed up 09-15 (not active at September's start)."""
    jan = dt.datetime(2026, 1, 1)
    insert(
        any_engine,
        "customers",
        [
            {"customer_id": "a", "signup_at": jan, "churned_at": dt.datetime(2026, 9, 10)},
            {"customer_id": "b", "signup_at": jan, "churned_at": dt.datetime(2026, 10, 5)},
            {"customer_id": "c", "signup_at": jan},
            {"customer_id": "d", "signup_at": dt.datetime(2026, 9, 15)},
            {"customer_id": "e", "signup_at": jan, "churned_at": dt.datetime(2026, 10, 1)},
        ],
    )
    return any_engine


KINDS = ("monthly_attrition_rate", "attrition_month_to_date")


def test_monthly_attrition_is_the_last_full_month(churns):
    found = compute_kpis(churns, MetricParams(as_of=AS_OF), SliceRequest(kpis=KINDS))
    # September: active at 09-01 a, b, c, e; churned in (09-01, 10-01]: a, e -> 2 / 4.
    assert found["kpis"]["monthly_attrition_rate"] == pytest.approx(2 / 4)
    assert found["n"]["monthly_attrition_rate"] == 4
    # October to date: active at 10-01 b, c, d; churned in (10-01, as_of]: b -> 1 / 3.
    assert found["kpis"]["attrition_month_to_date"] == pytest.approx(1 / 3)
    # At October's last moment October is the last full month: b of b, c, d -> 1 / 3.
    end = MetricParams(as_of=dt.datetime(2026, 10, 31, 23, 59, 59, 999999))
    assert compute_kpis(churns, end, SliceRequest(kpis=KINDS))["kpis"] == {
        "monthly_attrition_rate": pytest.approx(1 / 3),
        "attrition_month_to_date": pytest.approx(1 / 3),
    }


def test_monthly_attrition_under_the_2026_11_definitions_is_month_to_date(churns):
    earlier = MetricParams(as_of=AS_OF, definitions="2026-11")
    found = compute_kpis(churns, earlier, SliceRequest(kpis=KINDS))["kpis"]
    assert found == {
        "monthly_attrition_rate": pytest.approx(1 / 3),  # as before: October to date
        "attrition_month_to_date": pytest.approx(1 / 3),
    }


def test_monthly_attrition_per_month_row(churns):
    params = MetricParams(as_of=AS_OF, maturity_days=0)
    request = SliceRequest(grain="month", start=dt.date(2026, 9, 1), kpis=KINDS)
    september, october = compute_slice(churns, params, request)["rows"]
    assert september["complete"] is True and october["complete"] is False
    assert september["kpis"] == {
        "monthly_attrition_rate": pytest.approx(2 / 4),  # September, as above
        "attrition_month_to_date": pytest.approx(2 / 4),  # measured at its end: the same
    }
    assert october["kpis"]["attrition_month_to_date"] == pytest.approx(1 / 3)
    # The month not yet over is never called the month, nor given September's value again:
    # no month ends inside it, so its row has none.
    assert october["kpis"]["monthly_attrition_rate"] is None
    assert october["n"]["monthly_attrition_rate"] == 0


def test_monthly_attrition_per_week_row_is_the_month_ending_in_it(churns):
    # Weeks from Monday 09-28: September ends (10-01 00:00) inside the week 09-28..10-04,
    # which gives September (2 / 4 as above); the weeks after it hold no month's end.
    params = MetricParams(as_of=AS_OF, maturity_days=0)
    request = SliceRequest(grain="week", start=dt.date(2026, 9, 28), kpis=KINDS)
    rows = {r["period_start"]: r for r in compute_slice(churns, params, request)["rows"]}
    assert rows["2026-09-28"]["kpis"]["monthly_attrition_rate"] == pytest.approx(2 / 4)
    assert rows["2026-10-05"]["kpis"]["monthly_attrition_rate"] is None
    # Under 2026-11 every row keeps its month to date at the row's end.
    earlier = dataclasses.replace(params, definitions="2026-11")
    rows = {r["period_start"]: r for r in compute_slice(churns, earlier, request)["rows"]}
    assert rows["2026-10-05"]["kpis"]["monthly_attrition_rate"] is not None


def test_the_cli_json_carries_period_end_and_complete(weeks, any_warehouse_url):
    from typer.testing import CliRunner

    from turnaround.cli import app

    result = CliRunner().invoke(
        app,
        [
            "metrics",
            "--grain",
            "week",
            "--from",
            "2026-10-05",
            "--as-of",
            AS_OF.isoformat(),
            "--warehouse",
            any_warehouse_url,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["maturity_days"] == DEFAULT_MATURITY_DAYS  # no solved failure
    assert [(r["period_start"], r["period_end"], r["complete"]) for r in found["rows"]] == [
        ("2026-10-05", "2026-10-12T00:00:00Z", False),  # 10-12 + 14 days > as_of
        ("2026-10-12", "2026-10-19T00:00:00Z", False),
    ]
