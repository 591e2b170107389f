"""The Zendesk JSON reader: every wrapping, the real Airbyte fixture, rejections, detection."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from data_contracts import SIDE_TABLES
from etl.identity import EMAIL_PATTERN, email_customer_id
from etl.pipeline import json_stream
from etl.pipeline.frames import ReadContext, ReadResult, UnreadableFile
from etl.sources.zendesk import FORMATS, read, read_batches, sniff
from etl.sources.zendesk.settings import COMPENSATION_FIELD_ID
from tests.conftest import FIXTURES

AIRBYTE_RECORDS = FIXTURES / "zendesk_airbyte" / "records.jsonl"
CTX = ReadContext(hash_key="test-hash-key")

TICKETS = [
    {
        "id": 101,
        "via": {"channel": "web_form", "source": {"rel": None}},
        "created_at": "2024-03-01T09:00:00Z",
        "updated_at": "2024-03-02T10:00:00Z",
        "type": "incident",
        "priority": "high",
        "status": "solved",
        "requester_id": 7,
        "assignee_id": 900,
        "group_id": 55,
        "tags": ["outage"],
        "custom_fields": [{"id": COMPENSATION_FIELD_ID, "value": "20"}],
        "satisfaction_rating": {"score": "good"},
    },
    {
        "id": 102,
        "via": {"channel": "twitter"},
        "created_at": "2024-03-03T12:30:00Z",
        "updated_at": "2024-03-03T13:00:00Z",
        "type": None,
        "priority": None,
        "status": "open",
        "requester_id": 8,
        "assignee_id": None,
        "group_id": None,
        "tags": [],
        "custom_fields": [],
        "satisfaction_rating": None,
    },
]
METRICS = [
    {
        "id": 5001,
        "ticket_id": 101,
        "replies": 1,
        "reopens": 0,
        "assignee_stations": 1,
        "group_stations": 1,
        "solved_at": "2024-03-02T09:59:00Z",
        "updated_at": "2024-03-02T10:00:00Z",
        "reply_time_in_minutes": {"calendar": 45, "business": 30},
        "first_resolution_time_in_minutes": {"calendar": 1379, "business": 300},
    }
]
USERS = [
    {"id": 7, "role": "end-user", "external_id": "CRM-7", "email": "seven@example.com"},
    {"id": 8, "role": "end-user", "external_id": None, "email": "eight@example.com"},
]
STREAMS = {"tickets": TICKETS, "ticket_metrics": METRICS, "users": USERS}


def records() -> list[tuple[str, dict]]:
    return [(stream, obj) for stream, objects in STREAMS.items() for obj in objects]


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def canonical(frame: pl.DataFrame, key: str) -> list[dict]:
    return frame.drop("row_number").sort(key).to_dicts()


WRAPPINGS = {
    "page": lambda: [{**STREAMS, "next_page": None, "count": 2}],
    # cursor pagination (GET /api/v2/tickets?page[size]=100)
    "cursor_page": lambda: [
        {
            **STREAMS,
            "meta": {"has_more": False, "after_cursor": "xyz", "before_cursor": "abc"},
            "links": {"next": None, "prev": "https://acme.zendesk.com/api/v2/tickets.json?x"},
        }
    ],
    # the incremental export (GET /api/v2/incremental/tickets/cursor.json), in two pages
    "incremental_export": lambda: [
        {
            "tickets": TICKETS[:1],
            "after_url": "https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json?c=1",
            "after_cursor": "MTU3NjYxMzUzOS4wfHw0Njd8",
            "before_cursor": None,
            "end_of_stream": False,
            "end_time": 1709370000,
            "count": 1,
        },
        {
            "tickets": TICKETS[1:],
            "ticket_metrics": METRICS,
            "users": USERS,
            "after_cursor": None,
            "end_of_stream": True,
            "end_time": 1709470800,
            "count": 1,
        },
    ],
    "bare_jsonl": lambda: [obj for _, obj in records()],
    "singer": lambda: [
        {"type": "SCHEMA", "stream": "tickets", "schema": {}, "key_properties": ["id"]},
        *[{"type": "RECORD", "stream": s, "record": obj} for s, obj in records()],
        {"type": "STATE", "value": {"bookmarks": {}}},
    ],
    "airbyte_lines": lambda: [{"stream": s, "data": obj, "emitted_at": 1} for s, obj in records()],
    "airbyte_protocol": lambda: (
        [
            {"type": "RECORD", "record": {"stream": s, "data": obj, "emitted_at": 1}}
            for s, obj in records()
        ]
        + [{"type": "STATE", "state": {"type": "STREAM"}}]
    ),
}


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, list[dict]]:
    path = write_lines(tmp_path_factory.mktemp("zendesk") / "bare.jsonl", WRAPPINGS["bare_jsonl"]())
    result = read(path, CTX)
    return {
        "tickets": canonical(result.tickets, "ticket_id"),
        "ticket_metrics": canonical(result.ticket_metrics, "ticket_id"),
        "identities": canonical(result.identities, "user_id"),
    }


def test_bare_objects_become_canonical_rows(expected):
    first = expected["tickets"][0]
    assert first["ticket_id"] == "101"
    assert first["channel"] == "web"
    assert first["csat"] == "good"
    assert first["compensation"] == 20.0
    assert first["group_name"] == "55"
    assert first["requester_id"] == "7"
    assert first["created_at"] == dt.datetime(2024, 3, 1, 9, 0)
    assert first["customer_id"] is None  # resolved by the loader through the users
    assert first["first_reply_at"] is None and first["agent_replies"] is None
    second = expected["tickets"][1]
    assert (second["channel"], second["csat"], second["compensation"]) == ("social", None, None)
    assert expected["ticket_metrics"] == [
        {
            "ticket_id": "101",
            "reply_minutes": 45,
            "first_reply_business_minutes": 30,
            "solved_at": dt.datetime(2024, 3, 2, 9, 59),
            "agent_replies": 1,
            "reopens": 0,
            "assignee_stations": 1,
            "group_stations": 1,
            "first_resolution_minutes": 1379,
            "updated_at": dt.datetime(2024, 3, 2, 10, 0),
        }
    ]
    eight = email_customer_id("eight@example.com", CTX.hash_key)
    assert expected["identities"] == [
        {
            "user_id": "7",
            "customer_id": "CRM-7",
            "email_hash": email_customer_id("seven@example.com", CTX.hash_key),
        },
        {"user_id": "8", "customer_id": eight, "email_hash": eight},
    ]


@pytest.mark.parametrize("wrapping", sorted(WRAPPINGS))
def test_every_wrapping_yields_the_same_rows(tmp_path, expected, wrapping):
    result = read(write_lines(tmp_path / "export.json", WRAPPINGS[wrapping]()), CTX)
    assert (result.format, result.source) == ("zendesk_json", "zendesk")
    assert canonical(result.tickets, "ticket_id") == expected["tickets"]
    assert canonical(result.ticket_metrics, "ticket_id") == expected["ticket_metrics"]
    assert canonical(result.identities, "user_id") == expected["identities"]
    assert result.rejected == [] and result.skipped == {}


def test_a_pretty_printed_side_loaded_page_is_one_document(tmp_path, expected):
    page = {
        "tickets": TICKETS,
        "users": USERS,
        "metric_sets": METRICS,
        "groups": [{"id": 55}],
        "brands": [{"id": 1}],
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=2))
    result = read(path, CTX)
    assert canonical(result.tickets, "ticket_id") == expected["tickets"]
    assert canonical(result.ticket_metrics, "ticket_id") == expected["ticket_metrics"]
    assert result.tickets["row_number"].to_list() == [1, 2]  # element of the tickets list
    assert canonical(result.groups, "group_id") == [
        {"group_id": "55", "name": None, "updated_at": None}
    ]
    assert result.skipped == {"brands": 1}


def test_row_numbers_are_lines_in_json_lines(tmp_path):
    lines = [{"stream": "tickets", "data": t} for t in TICKETS]
    path = tmp_path / "t.jsonl"
    path.write_text("\n" + json.dumps(lines[0]) + "\n\n" + json.dumps(lines[1]) + "\n")
    assert read(path, CTX).tickets["row_number"].to_list() == [2, 4]


def test_an_empty_page_gives_empty_frames_with_their_types(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text('{"tickets": [], "next_page": null, "count": 0}')
    result = read(path, CTX)
    assert result.tickets.height == 0
    assert result.tickets.schema["created_at"] == pl.Datetime("us")
    assert result.tickets.schema["tags"] == pl.List(pl.String())
    assert "requester_id" in result.tickets.columns
    assert dict(result.ticket_metrics.schema) == {
        **SIDE_TABLES["ticket_metrics"].schema,
        "row_number": pl.Int64,
    }
    assert dict(result.identities.schema) == {
        **SIDE_TABLES["identities"].schema,
        "row_number": pl.Int64,
    }


class TestAirbyteFixture:
    """The real records of Airbyte's Zendesk connector (see the fixture's README)."""

    @pytest.fixture(scope="class")
    def result(self):
        return read(AIRBYTE_RECORDS, CTX)

    def test_tickets(self, result):
        tickets = result.tickets.sort("row_number")
        assert tickets.select("ticket_id", "channel", "status").rows() == [
            ("145", "voice", "new"),
            ("1", "other", "closed"),
            ("146", "web", "open"),
        ]
        assert tickets["csat"].to_list() == ["offered", "unoffered", "offered"]
        assert tickets["requester_id"].to_list() == [
            "5527111815439",
            "360839922496",
            "361089721035",
        ]
        assert tickets["created_at"][0] == dt.datetime(2022, 9, 19, 14, 53, 49)
        assert tickets["tags"].to_list() == [
            ["tag1204", "test"],
            ["sample", "support", "zendesk"],
            [],
        ]

    def test_ticket_metrics(self, result):
        metrics = result.ticket_metrics.sort("ticket_id")
        assert metrics.select("ticket_id", "reply_minutes", "agent_replies", "reopens").rows() == [
            ("159", 252154, 2, 0),
            ("160", 97667, 2, 1),
            ("161", None, 0, 0),
        ]
        assert metrics["first_reply_business_minutes"].to_list() == [60000, 23040, None]

    def test_users_become_email_hashes_and_no_raw_email_is_kept(self, result):
        assert result.identities.select("user_id", "customer_id").rows() == [
            (
                "6128164851599",
                email_customer_id("integration-test+amberblanchard@airbyte.io", CTX.hash_key),
            )
        ]
        for frame in result.frames().values():
            text = frame.write_json()
            assert "@" not in text and not EMAIL_PATTERN.search(text)

    def test_other_streams_are_skipped_and_counted(self, result):
        assert result.skipped == {
            "brands": 1,
            "ticket_comments": 1,
            "ticket_metric_events": 1,
            "organizations": 1,
        }
        assert result.rejected == []

    def test_satisfaction_ratings_are_read_with_their_times(self, result):
        ratings = result.ratings
        assert ratings.height == 3
        assert ratings["updated_at"].null_count() == 0
        assert set(ratings["score"]) <= {"good", "bad", "offered", "unoffered"}


def test_a_broken_line_is_rejected_while_the_rest_load(tmp_path):
    lines = [json.dumps({"stream": "tickets", "data": t}) for t in TICKETS]
    broken = '{"stream": "tickets", "data": {"id": 103, "status": "open"'
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join([lines[0], broken, lines[1]]) + "\n")
    result = read(path, CTX)
    assert result.tickets["ticket_id"].to_list() == ["101", "102"]
    [rejected] = result.rejected
    assert (rejected.table, rejected.row_number, rejected.raw) == ("tickets", 2, broken)
    assert "not valid JSON" in rejected.reason


def test_records_whose_fields_cannot_be_converted_are_rejected(tmp_path):
    bad_date = {**TICKETS[0], "id": 201, "created_at": "last Tuesday"}
    bad_id = {**TICKETS[0], "id": "ticket-202"}
    bad_metric = {**METRICS[0], "replies": "many"}
    bad_user = {"id": "nobody", "role": "end-user", "email": "secret.person@example.com"}
    lines = [
        {"stream": "tickets", "data": TICKETS[0]},
        {"stream": "tickets", "data": bad_date},
        {"stream": "tickets", "data": bad_id},
        {"stream": "ticket_metrics", "data": bad_metric},
        {"stream": "users", "data": bad_user},
    ]
    result = read(write_lines(tmp_path / "bad.jsonl", lines), CTX)
    assert result.tickets["ticket_id"].to_list() == ["101"]
    assert result.ticket_metrics.height == 0 and result.identities.height == 0
    reasons = {(r.table, r.row_number): r.reason for r in result.rejected}
    assert reasons == {
        ("tickets", 2): "created_at: 'last Tuesday' is not an ISO 8601 timestamp",
        ("tickets", 3): "id: 'ticket-202' is not a numeric id",
        ("ticket_metrics", 4): "replies: 'many' is not a whole number",
        ("identities", 5): "id: 'nobody' is not a numeric id",
    }
    user_raw = result.rejected[-1].raw
    assert "secret.person@example.com" not in user_raw and '"users"' in user_raw


def test_singer_control_messages_and_unknown_streams(tmp_path):
    lines = [
        {"type": "SCHEMA", "stream": "tickets", "schema": {}},
        {"type": "RECORD", "stream": "tickets", "record": TICKETS[0]},
        {"type": "RECORD", "stream": "groups", "record": {"id": 55, "name": "Billing"}},
        {"type": "RECORD", "stream": "custom_stream", "record": {"id": 1}},
        {"type": "STATE", "value": {}},
        {"type": "ACTIVATE_VERSION", "stream": "tickets", "version": 1},
    ]
    result = read(write_lines(tmp_path / "singer.jsonl", lines), CTX)
    assert result.tickets.height == 1
    assert canonical(result.groups, "group_id") == [
        {"group_id": "55", "name": "Billing", "updated_at": None}
    ]
    assert result.skipped == {"custom_stream": 1}


def test_a_singer_run_with_no_new_records_reads_as_empty(tmp_path):
    lines = [{"type": "SCHEMA", "stream": "tickets", "schema": {}}, {"type": "STATE", "value": {}}]
    result = read(write_lines(tmp_path / "empty.jsonl", lines), CTX)
    assert result.tickets.height == 0 and result.rejected == [] and result.skipped == {}


@pytest.mark.parametrize(
    "content",
    [
        '{"orders": [{"id": 1, "total": 10}]}',
        '[{"id": "1", "person": "5", "survey_type": "nps", "score": 9, "created_at": 1}]',
        '{"stream": "charges", "data": {"id": "ch_1"}}\n',
        "ticket_id,status\n1,open\n",
        '{"tickets": [\n  {"id": 1,\n',
        "",
    ],
    ids=["other_json", "delighted", "other_airbyte_source", "csv", "truncated_page", "empty"],
)
def test_a_file_that_is_not_zendesk_json_is_unreadable(tmp_path, content):
    path = tmp_path / "not_zendesk.json"
    path.write_text(content)
    with pytest.raises(UnreadableFile) as caught:
        read(path, CTX)
    assert "Zendesk API JSON" in str(caught.value)


def test_a_binary_file_is_unreadable(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(UnreadableFile, match="not UTF-8"):
        read(path, CTX)


def test_the_format_is_registered():
    [fmt] = FORMATS
    assert fmt.name == "zendesk_json" and fmt.read is read and fmt.sniff is sniff


class TestSniff:
    def test_accepts_the_real_fixture(self):
        assert sniff(AIRBYTE_RECORDS.read_text()[: 64 * 1024])

    @pytest.mark.parametrize("wrapping", sorted(WRAPPINGS))
    def test_accepts_every_wrapping(self, wrapping):
        assert sniff("".join(json.dumps(line) + "\n" for line in WRAPPINGS[wrapping]()))

    def test_accepts_a_pretty_printed_page_cut_at_the_sniff_limit(self):
        page = json.dumps({"count": 5000, "tickets": TICKETS * 2500}, indent=2)
        assert len(page) > 64 * 1024
        assert sniff(page[: 64 * 1024])

    def test_accepts_a_bom(self):
        assert sniff("\ufeff" + json.dumps({"tickets": TICKETS}))

    @pytest.mark.parametrize(
        "head",
        [
            "ticket_id,customer_id,created_at\n1,c1,2024-01-01T00:00:00Z\n",
            "Ticket ID,Requester,Status\n1,Ann,Open\n",
            '[{"id": "1", "person": "5", "survey_type": "nps", "score": 9, "comment": null,'
            ' "created_at": 1700000000, "person_properties": {"customer_id": "C1"}}]',
            '{"id": "1", "person": {"id": "5", "email": "a@example.com"}, "survey_type": "nps",'
            ' "score": 9, "created_at": 1700000000}\n',
            '{"orders": [{"id": 1}]}',
            '{"stream": "charges", "data": {"id": "ch_1"}}\n',
            "",
        ],
        ids=[
            "canonical_csv",
            "zendesk_csv",
            "delighted_array",
            "delighted_jsonl",
            "other_json",
            "other_airbyte_source",
            "empty",
        ],
    )
    def test_refuses_other_files(self, head):
        assert not sniff(head)


def test_sniff_accepts_a_singer_file_whose_first_schema_fills_the_head():
    schema = {"properties": {f"field_{i}": {"type": ["null", "string"]} for i in range(5000)}}
    head = json.dumps({"type": "SCHEMA", "stream": "tickets", "schema": schema})[: 64 * 1024]
    assert sniff(head)


def _more_tickets(count: int) -> list[dict]:
    return [{**TICKETS[0], "id": 200 + i, "requester_id": 7} for i in range(count)]


def test_pages_one_after_another_number_their_records_on(tmp_path):
    path = tmp_path / "pages.json"
    pages = [{"tickets": _more_tickets(3)}, {"tickets": _more_tickets(5)[3:], "users": USERS}]
    path.write_text("\n".join(json.dumps(page, indent=1) for page in pages))
    result = read(path, CTX)
    assert result.tickets.select("ticket_id", "row_number").rows() == [
        (str(200 + i), i + 1) for i in range(5)
    ]
    assert result.identities["row_number"].to_list() == [1, 2]


@pytest.mark.parametrize("streamed", [False, True], ids=["parsed_whole", "streamed"])
def test_batches_give_what_one_read_gives(tmp_path, monkeypatch, streamed):
    """Cut into batches of two records (and, streamed, parsed with ijson), a side-loaded page
    gives the same rows, rejects, skips and raw records as one read of the whole file."""
    tickets = _more_tickets(6)
    tickets[3] = {**tickets[3], "created_at": "not a time"}  # the reader rejects it
    page = {"tickets": tickets, "users": USERS, "brands": [{"id": 1}, {"id": 2}], "count": 6}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=2))
    whole = read(path, CTX)
    if streamed:
        monkeypatch.setattr(json_stream, "WHOLE_DOCUMENT_BYTES", 0)
    batches = list(read_batches(path, CTX, batch_records=2))
    assert len(batches) == 4  # 5 tickets and 2 users kept, two at a time, then the rest
    assert [b.tickets.height for b in batches] == [2, 2, 1, 0]
    assert sum(b.identities.height for b in batches) == 2
    joined = ReadResult.combine(batches)
    assert joined.tickets.equals(whole.tickets)
    assert joined.identities.equals(whole.identities)
    assert joined.skipped == whole.skipped == {"brands": 2}
    assert [(r.row_number, r.reason) for r in joined.rejected] == [
        (r.row_number, r.reason) for r in whole.rejected
    ]
    assert [r.row_number for r in whole.rejected] == [4]
    # each batch finds the raw record of its own rows (a contract check may reject one)
    second = batches[1].tickets["row_number"].to_list()
    raw = batches[1].raw_lookup("tickets", second)
    assert [json.loads(raw[n])["id"] for n in second] == [tickets[n - 1]["id"] for n in second]
    assert batches[0].raw_lookup("tickets", second) == {}


def test_a_json_lines_batch_finds_the_line_behind_a_row_with_emails_redacted(tmp_path):
    lines = [{"stream": "tickets", "data": {**TICKETS[0], "subject": "from ann@example.com"}}]
    lines += [{"stream": "tickets", "data": {**TICKETS[1], "id": 300 + i}} for i in range(3)]
    path = write_lines(tmp_path / "tickets.jsonl", lines)
    batches = list(read_batches(path, CTX, batch_records=2))
    # the last batch (broken lines, once the file is read) holds no rows here
    assert [b.tickets["row_number"].to_list() for b in batches] == [[1, 2], [3, 4], []]
    raw = batches[0].raw_lookup("tickets", [1, 3])
    assert list(raw) == [1]  # row 3 is the next batch's
    assert raw[1] == json.dumps(lines[0]).replace("ann@example.com", "<email>")


@pytest.mark.parametrize(
    ("rating", "csat"),
    [
        (None, None),
        ({"score": "unoffered"}, "unoffered"),
        ({"score": "offered", "id": None}, "offered"),
        ({"id": 5, "score": "bad", "comment": "slow"}, "bad"),
    ],
)
def test_satisfaction_rating_null_or_unoffered(tmp_path, rating, csat):
    ticket = TICKETS[0] | {"satisfaction_rating": rating}
    path = write_lines(tmp_path / "tickets.jsonl", [ticket])
    assert read(path, CTX).tickets.get_column("csat").to_list() == [csat]


LONE = "\ud83d"  # half of 😀 (\ud83d\ude00): no text encoding can write it alone


@pytest.mark.parametrize("wrapping", ["page", "bare_jsonl", "airbyte_lines", "streamed_page"])
def test_a_lone_surrogate_rejects_its_record_naming_the_field(tmp_path, monkeypatch, wrapping):
    """A JSON ``\\ud83d`` escape with no second half parses to a string no warehouse (nor
    polars) can hold: that record is rejected, the field named; the others read."""
    tickets = [
        TICKETS[0],
        {**TICKETS[1], "id": 103, "tags": ["vip", f"cut{LONE}"]},
        {**TICKETS[1], "description": f"an unused field may hold one{LONE}"},
    ]
    users = [USERS[0], {**USERS[1], "email": f"eight{LONE}@example.com"}]
    if wrapping == "streamed_page":
        monkeypatch.setattr(json_stream, "WHOLE_DOCUMENT_BYTES", 0)
        lines = [{"tickets": tickets, "users": users, "next_page": None}]
    elif wrapping == "page":
        lines = [{"tickets": tickets, "users": users, "next_page": None}]
    elif wrapping == "bare_jsonl":
        lines = [*tickets, *users]
    else:
        lines = [{"stream": s, "data": o} for s, o in [("tickets", t) for t in tickets]]
        lines += [{"stream": "users", "data": u} for u in users]
    path = write_lines(tmp_path / "export.json", lines)  # json.dumps writes the \ud83d escape
    if wrapping.endswith("page"):  # a pretty-printed document: streamed past the size limit
        path.write_text(json.dumps(lines[0], indent=2))
    assert "\\ud83d" in path.read_text()
    result = read(path, CTX)
    assert result.tickets["ticket_id"].to_list() == ["101", "102"]
    assert result.identities["user_id"].to_list() == ["7"]
    reasons = {r.table: r.reason for r in result.rejected}
    assert reasons == {
        "tickets": "tags: holds \\ud83d, half of a UTF-16 surrogate pair, which is not text",
        "identities": "email: holds \\ud83d, half of a UTF-16 surrogate pair, which is not text",
    }
    # the quarantine keeps the record as read, with the escape written out
    ticket_raw = next(r.raw for r in result.rejected if r.table == "tickets")
    assert "cut\\ud83d" in ticket_raw and ticket_raw.encode("utf-8")
