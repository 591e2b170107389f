"""data_contracts.validate: every contract passes good rows and rejects broken ones in words."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import duckdb
import polars as pl
import pytest

from data_contracts import CONTRACTS
from data_contracts.expectations import checks
from data_contracts.validate import ValidationResult, validate, validate_staged
from etl.pipeline.frames import ReadContext
from etl.sources.canonical_csv import FORMATS_BY_TABLE
from tests.conftest import FIXTURES

CANONICAL = FIXTURES / "canonical"

JAN_1 = dt.datetime(2024, 1, 1, 10, 0)

GOOD_ROWS: dict[str, dict] = {
    "tickets": {
        "ticket_id": "T-1",
        "customer_id": "C-1",
        "created_at": JAN_1,
        "first_reply_at": JAN_1 + dt.timedelta(minutes=30),
        "solved_at": JAN_1 + dt.timedelta(days=1),
        "status": "solved",
        "channel": "email",
        "type": "incident",
        "priority": "high",
        "tags": ["outage"],
        "group_name": "Support",
        "assignee_id": "A-1",
        "agent_replies": 1,
        "reopens": 0,
        "assignee_stations": 1,
        "group_stations": 1,
        "first_reply_business_minutes": 30,
        "csat": "good",
        "compensation": 10.0,
        "updated_at": JAN_1 + dt.timedelta(days=1),
    },
    "nps_responses": {
        "response_id": "R-1",
        "customer_id": "C-1",
        "responded_at": JAN_1,
        "score": 9,
        "comment": "Quick fix",
    },
    "customers": {
        "customer_id": "C-1",
        "signup_at": JAN_1,
        "churned_at": JAN_1 + dt.timedelta(days=90),
        "segment": "smb",
        "plan": "pro",
        "region": "EU",
        "mrr": 49.0,
    },
}


def _frame(table: str, *rows: dict) -> pl.DataFrame:
    """Canonical rows of ``table`` numbered 1..n: the good row with each row's changes."""
    data = [{**GOOD_ROWS[table], **row, "row_number": i} for i, row in enumerate(rows, 1)]
    return pl.DataFrame(data, schema={**CONTRACTS[table].schema, "row_number": pl.Int64()})


def _reasons(result: ValidationResult) -> list[tuple[int, str]]:
    return [(r.row_number, r.reason) for r in result.rejected]


# --- every contract: a passing input and a broken one ---------------------------------------


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_good_rows_pass_every_check(table: str):
    frame = _frame(table, {}, {})
    result = validate(table, frame)
    assert result.rejected == []
    assert result.valid.equals(frame)
    assert result.success
    assert all(c.success and c.unexpected_count == 0 for c in result.checks)


def _broken_value(table: str, check_name: str) -> dict:
    """A change to the good row that breaks exactly the named check."""
    check = next(c for c in checks(table) if c.name == check_name)
    column = CONTRACTS[table].column(check.column)
    if check_name.endswith("_not_null"):
        return {column.name: None}
    if check_name.endswith("_in_set"):
        return {column.name: "bogus"}
    if check_name.endswith("_between"):
        return {column.name: column.min - 1 if column.min is not None else column.max + 1}
    other = check_name.split("_not_before_")[1]
    return {column.name: GOOD_ROWS[table][other] - dt.timedelta(hours=1)}


ALL_CHECKS = [(table, check.name) for table in sorted(CONTRACTS) for check in checks(table)]


@pytest.mark.parametrize(("table", "check_name"), ALL_CHECKS)
def test_each_check_rejects_its_broken_row_with_a_reason(table: str, check_name: str):
    frame = _frame(table, {}, _broken_value(table, check_name), {})
    result = validate(table, frame)
    assert result.valid.get_column("row_number").to_list() == [1, 3]
    [rejected] = result.rejected
    column = next(c.column for c in checks(table) if c.name == check_name)
    assert (rejected.table, rejected.row_number) == (table, 2)
    assert rejected.reason.startswith(f"{column}: ")
    failed = [(c.name, c.unexpected_count) for c in result.checks if not c.success]
    assert failed == [(check_name, 1)]


# --- readable reasons -----------------------------------------------------------------------


def test_reason_joins_every_failed_check_in_words():
    result = validate("tickets", _frame("tickets", {"status": "archived", "agent_replies": -1}))
    assert _reasons(result) == [
        (
            1,
            "status: 'archived' is not one of new, open, pending, hold, solved, closed, deleted, "
            "other; "
            "agent_replies: -1 is below the minimum 0",
        )
    ]


def test_score_above_the_maximum():
    result = validate("nps_responses", _frame("nps_responses", {"score": 11}, {"score": 10}))
    assert _reasons(result) == [(1, "score: 11 is above the maximum 10")]


def test_missing_required_value():
    result = validate("nps_responses", _frame("nps_responses", {"customer_id": None}))
    assert _reasons(result) == [(1, "customer_id: is required but missing")]


def test_negative_amount():
    result = validate("customers", _frame("customers", {"mrr": -5.0}))
    assert _reasons(result) == [(1, "mrr: -5.0 is below the minimum 0")]


def test_churn_before_signup_names_both_timestamps_and_the_rule():
    churned = {"churned_at": dt.datetime(2023, 12, 31, 9, 0)}
    result = validate("customers", _frame("customers", churned))
    assert _reasons(result) == [
        (
            1,
            "churned_at: 2023-12-31 09:00:00 is before signup_at 2024-01-01 10:00:00 "
            "(a customer cannot churn before signing up)",
        )
    ]


def test_rejected_raw_is_the_canonical_row_as_json():
    result = validate("nps_responses", _frame("nps_responses", {"score": 42}))
    assert json.loads(result.rejected[0].raw)["score"] == 42


# --- what is not a failure ------------------------------------------------------------------


def test_not_before_accepts_equal_timestamps_and_missing_ones():
    frame = _frame("tickets", {"solved_at": JAN_1, "first_reply_at": None}, {"solved_at": None})
    assert validate("tickets", frame).rejected == []


def test_optional_columns_may_be_null():
    optional = {c.name: None for c in CONTRACTS["tickets"].columns if not c.required}
    result = validate("tickets", _frame("tickets", optional | {"tags": []}))
    assert result.rejected == []


def test_repeated_keys_are_left_to_the_loader():
    assert validate("customers", _frame("customers", {}, {})).rejected == []


def test_empty_frame_passes():
    result = validate("tickets", _frame("tickets"))
    assert result.valid.height == 0 and result.rejected == [] and result.success


# --- shape of the result and of misuse -------------------------------------------------------


def test_one_check_result_per_generated_check_in_order():
    result = validate("customers", _frame("customers", {"mrr": -1.0}, {"mrr": -2.0}))
    assert [(c.name, c.column, c.success, c.unexpected_count) for c in result.checks] == [
        ("customer_id_not_null", "customer_id", True, 0),
        ("signup_at_not_null", "signup_at", True, 0),
        ("mrr_between", "mrr", False, 2),
        ("churned_at_not_before_signup_at", "churned_at", True, 0),
    ]
    assert result.checks[2].description == "mrr is at least 0"


def test_extra_columns_pass_through():
    frame = _frame("tickets", {}, {"status": "bogus"}).with_columns(requester_id=pl.lit("u-1"))
    result = validate("tickets", frame)
    assert result.valid.columns == frame.columns
    assert result.valid.get_column("row_number").to_list() == [1]


def test_missing_canonical_column_is_a_programming_error():
    with pytest.raises(ValueError, match="lacks columns: score"):
        validate("nps_responses", _frame("nps_responses", {}).drop("score"))


def test_repeated_row_numbers_are_judged_row_by_row():
    # e.g. rows of two files validated together: each file numbers its rows from 1
    frame = pl.concat([_frame("nps_responses", {}), _frame("nps_responses", {"score": 12})])
    result = validate("nps_responses", frame)
    assert result.valid.get_column("score").to_list() == [9]
    assert _reasons(result) == [(1, "score: 12 is above the maximum 10")]


def test_judging_rows_does_not_import_great_expectations():
    code = (
        "import sys; from data_contracts.validate import validate; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- great-expectations over staged rows: the same verdicts, counted for a report ----------


BROKEN = {
    "tickets": [{}, {"status": "archived", "agent_replies": -1}, {"ticket_id": None}, {}],
    "nps_responses": [{"score": 11}, {}, {"score": -1, "customer_id": None}],
    "customers": [{"mrr": -1.0}, {"churned_at": JAN_1 - dt.timedelta(days=1)}, {}],
}


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_gx_over_staged_rows_counts_what_the_row_checks_reject(table: str, tmp_path):
    frame = _frame(table, *BROKEN[table])
    database = tmp_path / "staged.duckdb"
    with duckdb.connect(str(database)) as con:
        staged = frame.drop("tags") if "tags" in frame.columns else frame
        con.register("frame", staged.to_arrow())
        con.execute("create table staged as select * from frame")
        by_gx = validate_staged(con, {"all": (table, "select * from staged")})["all"]
    by_rows = validate(table, frame).checks
    assert [(c.name, c.unexpected_count, c.success) for c in by_gx] == [
        (c.name, c.unexpected_count, c.success) for c in by_rows
    ]
    assert sum(c.unexpected_count for c in by_gx) > 0  # the broken rows were seen


# --- the canonical fixtures, read and validated ---------------------------------------------


@pytest.mark.parametrize(
    ("table", "file"),
    [("tickets", "tickets.csv"), ("nps_responses", "nps.csv"), ("customers", "customers.csv")],
)
def test_rows_read_from_the_canonical_fixtures_pass(table: str, file: str):
    read = FORMATS_BY_TABLE[table].read(CANONICAL / file, ReadContext(hash_key="test"))
    frame = read.frames()[table]
    result = validate(table, frame)
    assert result.rejected == []
    assert result.valid.height == frame.height > 0
