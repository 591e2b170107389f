"""The plausible range of event times: a row with a far date (9999-12-31, 0001-01-01) fails
its contract with a reason naming the column, the value and the range; a contract's end
(churned_at) may lie in the future."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from data_contracts import CONTRACTS, SIDE_TABLES
from data_contracts.plausible import TimeRange
from data_contracts.validate import validate, validate_staged, validate_times
from tests.data_contracts.test_validate import GOOD_ROWS, _frame, _reasons

LOAD_START = dt.datetime(2026, 12, 7, 16, 0)
RANGE = TimeRange.after(LOAD_START)  # 1970-01-01 to a day after the load's start
FAR_FUTURE = dt.datetime(9999, 12, 31)
FAR_PAST = dt.datetime(1, 1, 1)
SHOWN = "1970-01-01 00:00:00 to 2026-12-08 16:00:00"

EVENT_TIMES = [
    (table, column.name)
    for table in sorted(CONTRACTS)
    for column in CONTRACTS[table].columns
    if column.type == "timestamp"
]


def test_the_default_range_is_1970_to_a_day_after_the_load_start():
    assert TimeRange(dt.datetime(1970, 1, 1), dt.datetime(2026, 12, 8, 16, 0)) == RANGE
    assert RANGE.text() == SHOWN


def test_far_dated_responses_fail_naming_the_column_the_value_and_the_range():
    frame = _frame("nps_responses", {"responded_at": FAR_FUTURE}, {}, {"responded_at": FAR_PAST})
    result = validate("nps_responses", frame, RANGE)
    assert result.valid.get_column("row_number").to_list() == [2]
    assert _reasons(result) == [
        (1, f"responded_at: 9999-12-31 00:00:00 is outside the plausible range {SHOWN}"),
        (3, f"responded_at: 0001-01-01 00:00:00 is outside the plausible range {SHOWN}"),
    ]
    [check] = [c for c in result.checks if c.name == "responded_at_plausible"]
    assert (check.success, check.unexpected_count) == (False, 2)
    assert check.description == f"responded_at is from {SHOWN}"


@pytest.mark.parametrize(("table", "column"), EVENT_TIMES)
def test_every_event_time_of_every_contract_is_checked(table: str, column: str):
    too_early = _frame(table, {column: dt.datetime(1969, 12, 31, 23, 59, 59)})
    early = validate(table, too_early, RANGE)
    assert [r.reason.split(";")[0] for r in early.rejected] == [
        f"{column}: 1969-12-31 23:59:59 is "
        + (
            "before 1970-01-01 00:00:00, the earliest plausible time"
            if CONTRACTS[table].column(column).future_allowed
            else f"outside the plausible range {SHOWN}"
        )
    ]
    late = validate(table, _frame(table, {column: FAR_FUTURE}), RANGE)
    if CONTRACTS[table].column(column).future_allowed:
        assert late.rejected == []
    else:
        assert [r.reason.split(";")[0] for r in late.rejected] == [
            f"{column}: 9999-12-31 00:00:00 is outside the plausible range {SHOWN}"
        ]


def test_a_future_churned_at_is_scheduled_churn_not_an_error():
    scheduled = {"churned_at": dt.datetime(2100, 1, 1)}
    result = validate("customers", _frame("customers", scheduled), RANGE)
    assert result.rejected == [] and result.valid.height == 1
    assert CONTRACTS["customers"].column("churned_at").future_allowed
    assert not CONTRACTS["customers"].column("signup_at").future_allowed


def test_the_range_includes_its_bounds():
    bounds = [{"responded_at": RANGE.earliest}, {"responded_at": RANGE.latest}]
    assert validate("nps_responses", _frame("nps_responses", *bounds), RANGE).rejected == []
    past = {"responded_at": RANGE.latest + dt.timedelta(microseconds=1)}
    assert len(validate("nps_responses", _frame("nps_responses", past), RANGE).rejected) == 1


def test_a_missing_optional_time_passes():
    result = validate("tickets", _frame("tickets", {"solved_at": None}), RANGE)
    assert result.rejected == []


def test_a_configured_range_is_the_one_checked():
    narrow = TimeRange.after(LOAD_START, earliest=dt.date(2024, 6, 1), ahead_days=0)
    result = validate("nps_responses", _frame("nps_responses", {}), narrow)  # 2024-01-01
    assert _reasons(result) == [
        (
            1,
            "responded_at: 2024-01-01 10:00:00 is outside the plausible range "
            "2024-06-01 00:00:00 to 2026-12-07 16:00:00",
        )
    ]


def test_without_a_range_times_are_not_checked():
    frame = _frame("nps_responses", {"responded_at": FAR_FUTURE})
    assert validate("nps_responses", frame).rejected == []


BROKEN_TIMES = {
    "tickets": [{"updated_at": FAR_FUTURE}, {}, {"created_at": FAR_PAST}],
    "nps_responses": [{"responded_at": FAR_FUTURE}, {}, {"updated_at": FAR_PAST}],
    "customers": [{"churned_at": FAR_FUTURE}, {"signup_at": FAR_PAST}, {}],
}


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_gx_over_staged_rows_counts_what_the_range_check_rejects(table: str, tmp_path):
    frame = _frame(table, *BROKEN_TIMES[table])
    with duckdb.connect(str(tmp_path / "staged.duckdb")) as con:
        staged = frame.drop("tags") if "tags" in frame.columns else frame
        con.register("frame", staged.to_arrow())
        con.execute("create table staged as select * from frame")
        by_gx = validate_staged(con, {"all": (table, "select * from staged")}, RANGE)["all"]
    by_rows = validate(table, frame, RANGE).checks
    assert [(c.name, c.unexpected_count) for c in by_gx] == [
        (c.name, c.unexpected_count) for c in by_rows
    ]
    assert sum(c.unexpected_count for c in by_gx if c.name.endswith("_plausible")) > 0


def _side_frame(schema: dict, *rows: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [{**row, "row_number": i} for i, row in enumerate(rows, 1)],
        schema={**schema, "row_number": pl.Int64()},
    )


def test_ticket_metrics_and_ratings_times_are_checked_too():
    good = GOOD_ROWS["tickets"]["updated_at"]
    metrics = _side_frame(
        SIDE_TABLES["ticket_metrics"].schema,
        {"ticket_id": "1", "solved_at": FAR_FUTURE, "updated_at": good},
        {"ticket_id": "2", "solved_at": good, "updated_at": good},
    )
    result = validate_times("ticket_metrics", metrics, RANGE)
    assert result.valid.get_column("ticket_id").to_list() == ["2"]
    assert [(r.table, r.row_number, r.reason) for r in result.rejected] == [
        (
            "ticket_metrics",
            1,
            f"solved_at: 9999-12-31 00:00:00 is outside the plausible range {SHOWN}",
        )
    ]
    ratings = _side_frame(
        SIDE_TABLES["ratings"].schema,
        {"rating_id": "r1", "ticket_id": "1", "score": "good", "updated_at": FAR_PAST},
    )
    [rejected] = validate_times("ratings", ratings, RANGE).rejected
    assert rejected.reason.startswith("updated_at: 0001-01-01 00:00:00 is outside")
