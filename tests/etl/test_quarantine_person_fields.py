"""A malformed row keeps its raw record in quarantine with its reason, but not the person's
name: each reader declares the fields that name (or reach, or locate) a person, and the
quarantine redacts them, whatever made the row fail (a value the reader could not convert,
a contract check, a record cut short or with a field too many)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import sqlalchemy as sa

from etl.identity import PERSON_REDACTED
from etl.pipeline.load import LoadOptions, load_paths
from etl.sources.mapping_file import load_mapping
from tests.conftest import FIXTURES

VICTIM = "Victim"  # in every name below; never in a quarantined row
EVERY_ROW_MAY_FAIL = LoadOptions(quarantine_limit=1.0, source_timezone="Europe/Berlin")


def _quarantined(engine: sa.Engine, paths: list[Path]) -> list[tuple[str, str]]:
    """Load ``paths`` and return the (raw_row, reason) of every quarantined row."""
    load_paths(engine, paths, EVERY_ROW_MAY_FAIL)
    with engine.connect() as conn:
        query = "select raw_row, reason from quarantine order by source_file, row_number"
        return [tuple(row) for row in conn.execute(sa.text(query))]


def _only_unnamed(rows: list[tuple[str, str]]) -> None:
    for raw, _ in rows:
        assert VICTIM not in raw, raw
        assert PERSON_REDACTED in raw, raw


def test_zendesk_users_and_tickets_lose_names_and_phones(engine, tmp_path):
    users = tmp_path / "users.json"
    good = {"id": 7, "name": "Pat Good", "email": "pat@example.com", "external_id": None}
    bad = {"id": None, "name": "Victim Person", "alias": "Vicky Victim", "phone": "+4930111"}
    users.write_text(json.dumps({"users": [good, bad], "next_page": None, "count": 2}))
    tickets = tmp_path / "tickets.jsonl"
    via = {"channel": "voice", "source": {"from": {"name": "Victim Caller", "phone": "+4930222"}}}
    ticket = {
        "id": 145,
        "via": via,
        "requester_id": 7,
        "status": "open",
        "created_at": "not a time",
        "updated_at": "2024-01-02T00:00:00Z",
    }
    broken = '{"id": 146, "via": {"source": {"from": {"name": "Victim Cut Sh'
    tickets.write_text(json.dumps(ticket) + "\n" + broken + "\n")
    rows = _quarantined(engine, [users, tickets])
    assert len(rows) == 3
    _only_unnamed(rows)
    (ticket_raw, ticket_reason), (broken_raw, _), (user_raw, user_reason) = rows
    assert user_reason == "id: the user has no id"
    assert json.loads(user_raw) == {
        "id": None,
        "name": PERSON_REDACTED,
        "alias": PERSON_REDACTED,
        "phone": PERSON_REDACTED,
    }
    assert "created_at" in ticket_reason and "not a time" in ticket_reason
    assert json.loads(ticket_raw)["via"]["source"]["from"] == {
        "name": PERSON_REDACTED,
        "phone": PERSON_REDACTED,
    }
    assert json.loads(ticket_raw)["requester_id"] == 7  # the rest as read
    assert broken_raw.startswith('{"id": 146, "via"')


def test_delighted_json_loses_the_expanded_persons_name(engine, tmp_path):
    responses = tmp_path / "responses.json"
    person = {"id": "3022", "email": "victim@example.com", "name": "Victim Person"}
    bad = {"id": "8392", "person": person, "survey_type": "nps", "score": "ten"}
    good = {"id": "8391", "person": "3021", "score": 9, "created_at": 1709287200}
    responses.write_text(json.dumps([good, bad]))
    rows = _quarantined(engine, [responses])
    assert len(rows) == 1
    _only_unnamed(rows)
    raw, reason = rows[0]
    assert reason == "score: 'ten' is not a whole-number score"
    assert json.loads(raw)["person"] == {"id": "3022", "email": "<email>", "name": PERSON_REDACTED}


def test_delighted_csv_loses_the_name_column(engine, tmp_path):
    export = tmp_path / "responses.csv"
    export.write_text(
        "Response ID,Score,Comment,Survey Type,Response Timestamp,Name,Email\n"
        "91001,10,fine,nps,2024-04-18 05:34:20 -0700,Pat Good,pat@example.com\n"
        "91002,ten,bad,nps,2024-04-19 09:00:00 -0700,Victim Person,victim@example.com\n"
    )
    rows = _quarantined(engine, [export])
    _only_unnamed(rows)
    assert rows == [
        (
            f"91002,ten,bad,nps,2024-04-19 09:00:00 -0700,{PERSON_REDACTED},<email>",
            "score: 'ten' is not an integer",
        )
    ]


FRESHDESK_HEADER = (
    "Ticket ID,Subject,Status,Priority,Created time,Full name,Email,Mobile phone,Contact ID"
)


def test_freshdesk_loses_full_name_and_phone_even_in_a_row_with_a_field_too_many(engine, tmp_path):
    export = tmp_path / "tickets.csv"
    export.write_text(
        FRESHDESK_HEADER + "\n"
        "1,Fine,Open,High,2025-12-03 16:29:08,Pat Good,pat@example.com,,pat@example.com\n"
        "2,Broken,Open,High,yesterday,Victim Person,victim@example.com,+4930333,C-2\n"
        # an unquoted comma in the subject: every later field one place to the right
        "3,Hello, world,Open,High,2025-12-03 16:29:08,Victim Other,v@example.com,+4930444,C-3\n"
    )
    rows = _quarantined(engine, [export])
    assert len(rows) == 2
    _only_unnamed(rows)
    (unreadable, reason), (ragged, ragged_reason) = rows
    assert unreadable == (
        f"2,Broken,Open,High,yesterday,{PERSON_REDACTED},<email>,{PERSON_REDACTED},C-2"
    )
    assert "created_at: 'yesterday" in reason
    assert ragged_reason == "row has 10 fields but the header has 9"
    # Which field is the name cannot be told: its neighbours go too, the rest stays.
    assert ragged == "3,Hello, world,Open," + ",".join([PERSON_REDACTED] * 5) + ",C-3"


def test_zendesk_explore_loses_the_requester_name(engine, tmp_path):
    export = tmp_path / "explore.csv"
    export.write_text(
        '"Ticket ID","Ticket status","Ticket channel","Requester name","Requester email",'
        '"Ticket created - Timestamp","Ticket updated - Timestamp"\r\n'
        '"5001","Solved","Email","Pat Good","pat@example.com","2024-03-01T09:15:00",'
        '"2024-03-02T10:00:00"\r\n'
        '"5002","Open","Email","Victim Person","victim@example.com","soon",'
        '"2024-03-03T14:00:00"\r\n'
    )
    rows = _quarantined(engine, [export])
    _only_unnamed(rows)
    assert len(rows) == 1
    raw, reason = rows[0]
    assert raw == (
        f'"5002","Open","Email","{PERSON_REDACTED}","<email>","soon","2024-03-03T14:00:00"'
    )
    assert "created_at: 'soon" in reason


def test_qualtrics_loses_recipient_names_and_ip_in_a_row_a_contract_check_failed(engine, tmp_path):
    head = (FIXTURES / "qualtrics" / "nps_export.csv").read_text().splitlines()[:3]
    export = tmp_path / "survey.csv"
    export.write_text(
        "\n".join(
            [
                *head,
                "2024-03-05 12:00:00,2024-03-05 12:03:00,0,203.0.113.9,100,60,1,"
                "2024-03-05 12:03:00,R_6fGhIjKlMnOpQrS,Person,Victim,kim@example.com,CRM-6,"
                "email,EN,11,3,eleven",
            ]
        )
        + "\n"
    )
    rows = _quarantined(engine, [export])
    _only_unnamed(rows)
    assert len(rows) == 1
    raw, reason = rows[0]
    assert raw == (
        f"2024-03-05 12:00:00,2024-03-05 12:03:00,0,{PERSON_REDACTED},100,60,1,"
        f"2024-03-05 12:03:00,R_6fGhIjKlMnOpQrS,{PERSON_REDACTED},{PERSON_REDACTED},<email>,"
        "CRM-6,email,EN,11,3,eleven"
    )
    assert "score" in reason and "11" in reason


def test_a_mapped_csv_loses_the_columns_its_mapping_file_declares(engine, tmp_path):
    export = tmp_path / "cases.csv"
    export.write_text(
        "Case,Customer,Customer Name,Mobile,Opened,State\n"
        "C-1,CRM-1,Pat Good,+49 170 1,2025-01-25T09:30:00Z,open\n"
        "C-2,CRM-2,Victim Person,+49 170 2,yesterday,open\n"
    )
    spec = tmp_path / "cases.yaml"
    spec.write_text(
        "table: tickets\n"
        "person_fields: [Customer Name, Mobile]\n"
        "columns:\n"
        "  ticket_id: Case\n"
        "  customer_id: Customer\n"
        "  created_at: Opened\n"
        "  status: State\n"
        "  channel: {value: email}\n"
    )
    options = dataclasses.replace(EVERY_ROW_MAY_FAIL, mapping_format=load_mapping(spec))
    load_paths(engine, [export], options)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select raw_row, reason from quarantine")).all()
    [(raw, reason)] = rows
    assert raw == f"C-2,CRM-2,{PERSON_REDACTED},{PERSON_REDACTED},yesterday,open"
    assert reason.startswith("created_at: 'yesterday (unreadable date)' is not an ISO 8601")
