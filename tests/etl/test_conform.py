"""etl.pipeline.conform: text columns cast to the contract's types; unparsable rows rejected."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from data_contracts import CONTRACTS
from etl.pipeline.conform import conform


def _raw(**columns: list[str | None]) -> pl.DataFrame:
    height = len(next(iter(columns.values())))
    return pl.DataFrame(
        {**columns, "row_number": list(range(1, height + 1))},
        schema={**{name: pl.String for name in columns}, "row_number": pl.Int64},
    )


def _created_at(*values: str) -> list[dt.datetime | None]:
    typed, rejected = conform(_raw(created_at=list(values)), "tickets")
    assert rejected == []
    return typed.get_column("created_at").to_list()


def test_offsets_are_converted_to_utc_even_when_mixed_in_one_column():
    values = ("2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00-0530")
    assert _created_at(*values) == [
        dt.datetime(2024, 1, 1, 8, 0),
        dt.datetime(2024, 1, 1, 10, 0),
        dt.datetime(2024, 1, 1, 15, 30),
    ]


def test_naive_timestamp_is_taken_as_utc():
    assert _created_at("2024-01-01T10:00:00", "2024-01-01 10:00:00.250") == [
        dt.datetime(2024, 1, 1, 10, 0),
        dt.datetime(2024, 1, 1, 10, 0, 0, 250000),
    ]


def test_plain_date_is_midnight_utc():
    assert _created_at("2024-01-31") == [dt.datetime(2024, 1, 31)]


def test_minutes_without_seconds_and_hour_only_offset():
    assert _created_at("2024-01-01T10:00Z", "2024-01-01T10:00:00+02") == [
        dt.datetime(2024, 1, 1, 10, 0),
        dt.datetime(2024, 1, 1, 8, 0),
    ]


def test_timestamps_are_naive_microsecond_datetimes():
    typed, _ = conform(_raw(created_at=["2024-01-01T10:00:00Z"]), "tickets")
    assert typed.schema["created_at"] == pl.Datetime("us")


def test_bad_timestamp_rejects_the_row_with_a_reason():
    typed, rejected = conform(_raw(created_at=["2024-01-01", "2024-13-01"]), "tickets")
    assert typed.get_column("row_number").to_list() == [1]
    assert [(r.table, r.row_number, r.reason) for r in rejected] == [
        ("tickets", 2, "created_at: '2024-13-01' is not an ISO 8601 timestamp")
    ]


def test_bad_integer_rejects_the_row():
    typed, rejected = conform(_raw(agent_replies=["2", "two", "1.5"]), "tickets")
    assert typed.get_column("agent_replies").to_list() == [2]
    assert [r.reason for r in rejected] == [
        "agent_replies: 'two' is not an integer",
        "agent_replies: '1.5' is not an integer",
    ]


def test_whole_number_written_as_float_is_an_integer():
    typed, rejected = conform(_raw(score=["9.0", " 7 "]), "nps_responses")
    assert rejected == []
    assert typed.get_column("score").to_list() == [9, 7]


def test_bad_float_and_non_finite_amounts_are_rejected():
    typed, rejected = conform(_raw(mrr=["49.5", "ten", "inf"]), "customers")
    assert typed.get_column("mrr").to_list() == [49.5]
    assert [r.reason for r in rejected] == [
        "mrr: 'ten' is not a number",
        "mrr: 'inf' is not a number",
    ]


def test_one_reason_names_every_failing_column():
    _, rejected = conform(
        _raw(created_at=["someday"], agent_replies=["x"], compensation=["lots"]), "tickets"
    )
    assert [r.reason for r in rejected] == [
        "created_at: 'someday' is not an ISO 8601 timestamp; "
        "agent_replies: 'x' is not an integer; compensation: 'lots' is not a number"
    ]


def test_rejected_raw_is_the_input_row_as_json():
    _, rejected = conform(_raw(ticket_id=["T-9"], created_at=["never"]), "tickets")
    assert json.loads(rejected[0].raw) == {"ticket_id": "T-9", "created_at": "never"}


def test_tags_are_split_on_semicolons_and_trimmed():
    typed, _ = conform(_raw(tags=["outage; bug;;  late_delivery ", "", None, "vip"]), "tickets")
    assert typed.get_column("tags").to_list() == [
        ["outage", "bug", "late_delivery"],
        [],
        [],
        ["vip"],
    ]


def test_empty_string_is_null_for_every_type():
    typed, rejected = conform(
        _raw(comment=[""], score=[""], responded_at=["  "], customer_id=[""]), "nps_responses"
    )
    assert rejected == []
    assert typed.row(0, named=True) == {
        "response_id": None,
        "customer_id": None,
        "responded_at": None,
        "score": None,
        "comment": None,
        "updated_at": None,
        "row_number": 1,
    }


def test_missing_columns_are_null_and_output_follows_the_contract_schema():
    typed, _ = conform(_raw(ticket_id=["T-1"]), "tickets")
    assert typed.schema == pl.Schema({**CONTRACTS["tickets"].schema, "row_number": pl.Int64()})
    assert typed.get_column("status").to_list() == [None]


def test_text_values_are_trimmed():
    typed, _ = conform(_raw(customer_id=["  C-1 "]), "customers")
    assert typed.get_column("customer_id").to_list() == ["C-1"]


def test_extra_columns_are_kept_unchanged_after_row_number():
    typed, _ = conform(_raw(ticket_id=["T-1"], requester_id=["u-7"]), "tickets")
    assert typed.columns[-2:] == ["row_number", "requester_id"]
    assert typed.get_column("requester_id").to_list() == ["u-7"]


def test_empty_input_gives_an_empty_typed_frame():
    typed, rejected = conform(_raw(ticket_id=[]), "tickets")
    assert typed.height == 0 and rejected == []
    assert typed.schema["created_at"] == pl.Datetime("us")


def test_hundred_thousand_rows_of_mixed_offsets_conform():
    n = 100_000
    stamps = ["2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00"]
    raw = _raw(
        ticket_id=[str(i) for i in range(n)],
        created_at=[stamps[i % 3] for i in range(n)],
        first_reply_at=["2024-01-01T11:00:00Z"] * n,
        updated_at=["2024-01-02"] * n,
        tags=["outage;bug"] * n,
        agent_replies=["1"] * n,
        compensation=["2.5"] * n,
    )
    typed, rejected = conform(raw, "tickets")  # its speed is make bench's business
    assert typed.height == n and rejected == []
    assert typed.get_column("created_at").unique().sort().to_list() == [
        dt.datetime(2024, 1, 1, 8, 0),
        dt.datetime(2024, 1, 1, 10, 0),
    ]


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_every_contract_conforms_a_row_of_text(table: str):
    samples = {
        "string": "x",
        "integer": "1",
        "float": "1.5",
        "timestamp": "2024-01-01T00:00:00Z",
        "text_list": "a;b",
    }
    columns = CONTRACTS[table].columns
    typed, rejected = conform(_raw(**{c.name: [samples[c.type]] for c in columns}), table)
    assert rejected == []
    assert typed.drop("row_number").null_count().row(0) == (0,) * len(columns)


def test_common_and_other_timestamp_shapes_mixed_in_several_columns():
    # The common "...Z" shape takes a fast path; every other shape, in any row or column,
    # still parses, and a row whose value parses in no shape is rejected.
    typed, rejected = conform(
        _raw(
            created_at=["2024-01-01T10:00:00Z", "2024-01-01 12:00+02:00", "2024-03-05", "x"],
            solved_at=["2024-01-02T10:00:00.250Z", "2024-01-02T10:00:00Z", None, None],
        ),
        "tickets",
    )
    assert typed.get_column("created_at").to_list() == [
        dt.datetime(2024, 1, 1, 10),
        dt.datetime(2024, 1, 1, 10),
        dt.datetime(2024, 3, 5),
    ]
    assert typed.get_column("solved_at").to_list() == [
        dt.datetime(2024, 1, 2, 10, 0, 0, 250_000),
        dt.datetime(2024, 1, 2, 10),
        None,
    ]
    assert [(r.row_number, r.reason) for r in rejected] == [
        (4, "created_at: 'x' is not an ISO 8601 timestamp")
    ]
