"""The Delighted reader: API JSON arrays and JSON Lines of survey responses."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from data_contracts import CONTRACTS
from etl.identity import email_customer_id
from etl.pipeline import json_stream
from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext, ReadResult, UnreadableFile
from etl.sources.delighted import (
    FORMATS,
    FieldError,
    customer_id_of,
    read,
    read_batches,
    response_row,
    sniff,
    unix_to_utc,
)
from tests.conftest import FIXTURES

CTX = ReadContext(hash_key="test-hash-key")
RESPONSES_JSON = FIXTURES / "delighted" / "responses.json"
ZENDESK_RECORDS = FIXTURES / "zendesk_airbyte" / "records.jsonl"


def response(**fields) -> dict:
    base = {
        "id": "1",
        "person": "500",
        "survey_type": "nps",
        "score": 9,
        "comment": "Quick fix, thanks",
        "permalink": "https://app.delighted.com/r/1",
        "created_at": 1700000000,
        "updated_at": None,
        "person_properties": {},
        "notes": [],
        "tags": [],
        "additional_answers": [],
    }
    return base | fields


@pytest.fixture(scope="module")
def fixture_result():
    return read(RESPONSES_JSON, CTX)


def test_the_fixture_array_becomes_nps_responses(fixture_result):
    assert (fixture_result.format, fixture_result.source) == ("delighted_json", "delighted")
    frame = fixture_result.nps_responses
    assert dict(frame.schema) == {**CONTRACTS["nps_responses"].schema, "row_number": pl.Int64}
    assert frame.rows() == [
        (
            "8391",
            "CRM-1001",
            dt.datetime(2024, 3, 1, 10),
            10,
            "Support sorted out my refund the same day.",
            dt.datetime(2024, 3, 1, 11),  # updated_at: edited an hour later
            1,
        ),
        (
            "8392",
            email_customer_id("pat.lee@example.com", CTX.hash_key),
            dt.datetime(2024, 3, 2, 10),
            3,
            "Third ticket about the same outage.",
            dt.datetime(2024, 3, 2, 10),  # never edited: as new as its creation
            2,
        ),
        ("8394", "3024", dt.datetime(2024, 3, 4, 10), 8, "", dt.datetime(2024, 3, 4, 10), 4),
    ]
    assert fixture_result.skipped == {"survey_type:ces": 1}
    assert fixture_result.rejected == []


def test_no_raw_email_reaches_the_frame(fixture_result):
    assert "@" not in fixture_result.nps_responses.write_json()


def test_json_lines_give_the_same_rows_as_an_array(tmp_path, fixture_result):
    path = tmp_path / "responses.jsonl"
    elements = json.loads(RESPONSES_JSON.read_text())
    path.write_text("".join(json.dumps(e) + "\n" for e in elements))
    result = read(path, CTX)
    assert result.nps_responses.equals(fixture_result.nps_responses)  # line = element here
    assert result.skipped == fixture_result.skipped


@pytest.mark.parametrize(
    ("fields", "customer_id"),
    [
        ({"person": "500"}, "500"),
        ({"person": {"id": "500", "email": None}}, "500"),
        ({"person": {"id": "500", "email": "Ann@Example.com"}}, "email:ann"),
        ({"person_properties": {"customer_id": "CRM-9"}}, "CRM-9"),
        ({"person_properties": {"customer_id": 9}}, "9"),
        ({"person_properties": {"customer_id": ""}, "person": "500"}, "500"),
        (
            {
                "person_properties": {"customer_id": "CRM-9"},
                "person": {"id": "500", "email": "ann@example.com"},
            },
            "CRM-9",
        ),
    ],
)
def test_customer_id_precedence(fields, customer_id):
    if customer_id == "email:ann":
        customer_id = email_customer_id("ann@example.com", CTX.hash_key)
    assert customer_id_of(response(**fields), CTX.hash_key) == customer_id


def test_a_customer_id_property_that_is_an_email_is_hashed():
    found = customer_id_of(
        response(person_properties={"customer_id": "ann@example.com"}), CTX.hash_key
    )
    assert found == email_customer_id("ann@example.com", CTX.hash_key)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1700000000, dt.datetime(2023, 11, 14, 22, 13, 20)),
        (1700000000.5, dt.datetime(2023, 11, 14, 22, 13, 20, 500000)),
        ("1700000000", dt.datetime(2023, 11, 14, 22, 13, 20)),
        (0, dt.datetime(1970, 1, 1)),
        (None, None),
    ],
)
def test_unix_seconds_become_naive_utc(seconds, expected):
    assert unix_to_utc(seconds) == expected


def test_response_row_maps_the_fields():
    assert response_row(response(id=77), CTX.hash_key) == {
        "response_id": "77",
        "customer_id": "500",
        "responded_at": dt.datetime(2023, 11, 14, 22, 13, 20),
        "updated_at": dt.datetime(2023, 11, 14, 22, 13, 20),  # updated_at null: created_at
        "score": 9,
        "comment": "Quick fix, thanks",
    }


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"score": "ten"}, "score: 'ten' is not a whole-number score"),
        ({"score": 7.5}, "score: 7.5 is not a whole-number score"),
        ({"created_at": "yesterday"}, "created_at: 'yesterday' is not a Unix timestamp"),
        ({"created_at": 10**20}, "created_at: .* out of range"),
        ({"id": None}, "id: the response has no id"),
    ],
)
def test_unconvertible_fields_raise_a_field_error(fields, reason):
    with pytest.raises(FieldError, match=reason):
        response_row(response(**fields), CTX.hash_key)


def test_broken_lines_and_bad_fields_are_rejected_while_the_rest_load(tmp_path):
    path = tmp_path / "responses.jsonl"
    lines = [
        json.dumps(response(id="1")),
        '{"id": "2", "person": "501", "score": ',
        json.dumps(response(id="3", score="ten", person={"id": "9", "email": "x.y@example.com"})),
        json.dumps(response(id="4", survey_type="csat", score=5)),
        json.dumps(response(id="5")),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = read(path, CTX)
    assert result.nps_responses.select("response_id", "row_number").rows() == [("1", 1), ("5", 5)]
    assert [(r.table, r.row_number) for r in result.rejected] == [
        ("nps_responses", 2),
        ("nps_responses", 3),
    ]
    assert "not valid JSON" in result.rejected[0].reason
    assert "x.y@example.com" not in result.rejected[1].raw
    assert result.skipped == {"survey_type:csat": 1}


def test_a_response_without_survey_type_is_nps(tmp_path):
    path = tmp_path / "old.json"
    legacy = response()
    del legacy["survey_type"]
    path.write_text(json.dumps([legacy]))
    assert read(path, CTX).nps_responses["response_id"].to_list() == ["1"]


def test_elements_that_are_not_responses_are_rejected(tmp_path):
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([response(), {"unexpected": True}, 5]))
    result = read(path, CTX)
    assert result.nps_responses.height == 1
    assert [r.reason for r in result.rejected] == ["is not a Delighted survey response"] * 2


@pytest.mark.parametrize(
    "content",
    [
        ZENDESK_RECORDS.read_text(),
        '{"tickets": [{"id": 1}]}',
        "response_id,customer_id,responded_at,score,comment\n1,c1,2024-01-01,9,\n",
        "[]",
        "",
    ],
    ids=["zendesk", "zendesk_page", "csv", "empty_array", "empty"],
)
def test_a_file_without_delighted_responses_is_unreadable(tmp_path, content):
    path = tmp_path / "responses.json"
    path.write_text(content)
    with pytest.raises(UnreadableFile, match="no Delighted survey responses"):
        read(path, CTX)


def test_the_format_is_registered():
    [fmt] = FORMATS
    assert fmt.name == "delighted_json" and fmt.read is read and fmt.sniff is sniff


class TestSniff:
    def test_accepts_an_array_and_json_lines(self):
        assert sniff(RESPONSES_JSON.read_text())
        assert sniff(json.dumps(response()) + "\n" + json.dumps(response(id="2")) + "\n")

    def test_accepts_an_array_cut_at_the_sniff_limit(self):
        text = json.dumps([response(id=str(i)) for i in range(2000)], indent=2)
        assert len(text) > 64 * 1024
        assert sniff(text[: 64 * 1024])

    @pytest.mark.parametrize(
        "head",
        [
            ZENDESK_RECORDS.read_text(),
            '{"tickets": [{"id": 1, "via": {"channel": "web"}, "requester_id": 2}]}',
            "response_id,customer_id,responded_at,score,comment\n",
            '{"id": 1, "score": 9}',
            "",
        ],
        ids=["zendesk_airbyte", "zendesk_page", "csv", "other_json", "empty"],
    )
    def test_refuses_other_files(self, head):
        assert not sniff(head)


@pytest.mark.parametrize("streamed", [False, True], ids=["parsed_whole", "streamed"])
def test_batches_give_what_one_read_gives(tmp_path, monkeypatch, streamed):
    responses = [response(id=str(i), score=i % 11) for i in range(1, 8)]
    responses[2] = response(id="3", score="ten")  # rejected by the reader
    responses[4] = response(id="5", survey_type="csat", score=4)  # skipped
    path = tmp_path / "responses.json"
    path.write_text(json.dumps(responses, indent=2))
    whole = read(path, CTX)
    if streamed:
        monkeypatch.setattr(json_stream, "WHOLE_DOCUMENT_BYTES", 0)
    batches = list(read_batches(path, CTX, batch_records=3))
    assert [b.nps_responses.height for b in batches] == [2, 2, 1]
    joined = ReadResult.combine(batches)
    assert joined.nps_responses.equals(whole.nps_responses)
    assert whole.nps_responses["response_id"].to_list() == ["1", "2", "4", "6", "7"]
    assert joined.skipped == whole.skipped == {"survey_type:csat": 1}
    assert [r.row_number for r in joined.rejected] == [r.row_number for r in whole.rejected] == [3]
    raw = batches[2].raw_lookup("nps_responses", [7])
    assert json.loads(raw[7])["id"] == "7"


AIRBYTE_RECORDS = FIXTURES / "real" / "delighted_api_records_airbyte.jsonl"

# The file's ten survey_responses records, written out by hand from the file:
# (line, id, person, score, comment, created_at = updated_at as UTC).
AIRBYTE_RESPONSES = [
    (11, "210554372", "980285131", 8, "Test Comment2", dt.datetime(2022, 1, 4, 9, 48, 8)),
    (12, "210554370", "980285130", 9, "Test Comment1", dt.datetime(2022, 1, 4, 9, 48, 8)),
    (13, "210554373", "1040825885", 3, "Test Comment3", dt.datetime(2022, 1, 4, 9, 48, 9)),
    (14, "210554375", "1040826153", 7, "Test Comment5", dt.datetime(2022, 1, 4, 9, 48, 10)),
    (15, "210554374", "1040826151", 1, "Test Comment4", dt.datetime(2022, 1, 4, 9, 48, 10)),
    (16, "210554379", "1040826160", 7, "Test Comment7", dt.datetime(2022, 1, 4, 9, 48, 11)),
    (17, "210554376", "1040826156", 0, "Test Comment6", dt.datetime(2022, 1, 4, 9, 48, 11)),
    (18, "210554381", "1040826161", 3, "Test Comment8", dt.datetime(2022, 1, 4, 9, 48, 12)),
    (19, "210554385", "1040826168", 6, "Test Comment10", dt.datetime(2022, 1, 4, 9, 48, 13)),
    (20, "210554382", "1040826163", 0, "Test Comment9", dt.datetime(2022, 1, 4, 9, 48, 13)),
]


def test_airbyte_records_of_the_real_connector_become_responses_row_by_row():
    """Airbyte's Delighted connector output: survey_responses records are read, the people,
    bounces and unsubscribes streams are skipped and counted."""
    assert detect(AIRBYTE_RECORDS).name == "delighted_json"
    result = read(AIRBYTE_RECORDS, CTX)
    frame = result.nps_responses.sort("row_number")
    got = frame.select(
        "row_number", "response_id", "customer_id", "score", "comment", "responded_at"
    ).rows()
    assert got == AIRBYTE_RESPONSES
    assert frame.get_column("updated_at").to_list() == [r[5] for r in AIRBYTE_RESPONSES]
    assert result.skipped == {"bounces": 5, "people": 5, "unsubscribes": 10}
    assert result.rejected == []


def test_singer_and_airbyte_protocol_messages_carry_responses(tmp_path):
    singer = {"type": "RECORD", "stream": "survey_responses", "record": response()}
    protocol = {
        "type": "RECORD",
        "record": {"stream": "survey_responses", "data": response(id="2", score=3)},
    }
    other = {"type": "RECORD", "record": {"stream": "people", "data": {"id": "9"}}}
    path = tmp_path / "records.jsonl"
    schema = {"type": "SCHEMA", "stream": "survey_responses", "schema": {}, "key_properties": []}
    state = {"type": "STATE", "value": {"bookmarks": {}}}
    messages = (schema, singer, protocol, other, state)
    path.write_text("\n".join(json.dumps(m) for m in messages) + "\n")
    assert sniff(path.read_text())
    result = read(path, CTX)
    assert result.nps_responses.select("row_number", "response_id", "score").rows() == [
        (2, "1", 9),
        (3, "2", 3),
    ]
    assert result.skipped == {"people": 1}
    assert result.rejected == []  # the SCHEMA and STATE lines carry no record


def test_a_file_of_other_connector_streams_only_is_refused(tmp_path):
    path = tmp_path / "people.jsonl"
    path.write_text('{"stream": "people", "data": {"id": "1", "name": "A"}}\n')
    with pytest.raises(UnreadableFile, match="no Delighted survey responses"):
        read(path, CTX)


@pytest.mark.parametrize("field", ["comment", "email"])
def test_a_lone_surrogate_rejects_its_response_naming_the_field(tmp_path, field):
    """``\\ud83d`` alone (half of an emoji's UTF-16 pair) cannot be stored anywhere: its
    response is rejected, the field named; the other responses read."""
    bad = response(id="2", comment="great \ud83d")
    if field == "email":
        bad = response(id="2", person={"id": "501", "email": "ann\ud83d@example.com"})
    path = tmp_path / "responses.json"
    path.write_text(json.dumps([response(), bad, response(id="3")]))
    result = read(path, CTX)
    assert result.nps_responses["response_id"].to_list() == ["1", "3"]
    [rejected] = result.rejected
    where = "comment" if field == "comment" else "person.email"
    assert (rejected.row_number, rejected.reason) == (
        2,
        f"{where}: holds \\ud83d, half of a UTF-16 surrogate pair, which is not text",
    )
    assert rejected.raw.encode("utf-8")  # storable: the escape written out, emails redacted
    assert ("great \\ud83d" if field == "comment" else "<email>") in rejected.raw
