"""Text a warehouse cannot store: a NUL character, a lone surrogate. The row is quarantined
with its column named, the rest loads, and the same file gives the same numbers on DuckDB and
PostgreSQL (PostgreSQL refuses a NUL in text; DuckDB would keep it)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from etl.pipeline.load import LoadOptions, load_paths

EVERY_ROW_MAY_FAIL = LoadOptions(quarantine_limit=1.0)
NUL_REASON = "contains a NUL character, which PostgreSQL cannot store"


def _quarantine(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select target_table, row_number, reason, raw_row from quarantine order by 1, 2"
            )
        ).all()


def _ids(engine: sa.Engine, table: str, key: str) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"select {key} from {table} order by 1")).scalars().all()


def _ticket(number: int, **fields) -> dict:
    return {
        "id": number,
        "via": {"channel": "email"},
        "created_at": "2024-03-01T09:00:00Z",
        "updated_at": "2024-03-02T10:00:00Z",
        "status": "open",
        "requester_id": 7,
        "tags": ["billing"],
        **fields,
    }


def _response(number: int, comment: str) -> dict:
    return {
        "id": str(number),
        "person": str(600 + number),
        "score": 9,
        "comment": comment,
        "survey_type": "nps",
        "created_at": 1700000000 + number,
    }


def test_a_nul_in_a_text_value_quarantines_its_row_on_either_warehouse(any_engine, tmp_path):
    nps = tmp_path / "nps.csv"
    nps.write_bytes(
        b"response_id,customer_id,responded_at,score,comment\n"
        b"R1,C1,2024-02-01T09:00:00Z,9,fine\n"
        b"R2,C2,2024-02-01T09:00:00Z,3,a raw \x00 byte\n"
        b"R3,C3,2024-02-01T09:00:00Z,10,\n"
    )
    tickets = tmp_path / "tickets.json"
    page = [_ticket(1), _ticket(2, type="incident\u0000"), _ticket(3, priority="high\u0000")]
    groups = [{"id": 55, "name": "Tier\u00001", "updated_at": "2024-03-01T09:00:00Z"}]
    tickets.write_text(json.dumps({"tickets": page, "groups": groups, "next_page": None}))
    responses = tmp_path / "responses.json"
    skipped = {**_response(3, "ok"), "survey_type": "ce\u0000s"}  # counted under its name
    responses.write_text(json.dumps([_response(1, "ok"), _response(2, "nul \u0000 here"), skipped]))
    assert "\\u0000" in tickets.read_text()  # the JSON escape, as an API writes it

    report = load_paths(any_engine, [nps, tickets, responses], EVERY_ROW_MAY_FAIL)

    assert report.status == "succeeded"
    assert _ids(any_engine, "tickets", "ticket_id") == ["1"]
    assert _ids(any_engine, "nps_responses", "response_id") == ["1", "R1", "R3"]
    quarantined = _quarantine(any_engine)
    assert [(table, row, reason) for table, row, reason, _ in quarantined] == [
        ("groups", 1, f"name: {NUL_REASON}"),  # a table with no contract of its own
        ("nps_responses", 2, f"comment: {NUL_REASON}"),  # the CSV's data row
        ("nps_responses", 2, f"comment: {NUL_REASON}"),  # the JSON array's element
        ("tickets", 2, f"type: {NUL_REASON}"),
        ("tickets", 3, f"priority: {NUL_REASON}"),
    ]
    raw = {row[3] for row in quarantined}
    assert "R2,C2,2024-02-01T09:00:00Z,3,a raw \\u0000 byte" in raw  # escaped, so it is stored
    counts = report.totals()
    assert (counts["rows_read"], counts["rows_quarantined"]) == (3 + 3 + 1 + 3, 5)
    assert report.stats[(str(responses), "survey_type:ce\\u0000s")].rows_skipped == 1


def test_a_lone_surrogate_quarantines_its_record_on_either_warehouse(any_engine, tmp_path):
    tickets = tmp_path / "tickets.jsonl"
    lines = [_ticket(1), _ticket(2, tags=["cut\ud83d"]), _ticket(3)]
    tickets.write_text("".join(json.dumps(line) + "\n" for line in lines))

    report = load_paths(any_engine, [tickets], EVERY_ROW_MAY_FAIL)

    assert report.status == "succeeded"
    assert _ids(any_engine, "tickets", "ticket_id") == ["1", "3"]
    [(table, row, reason, raw)] = _quarantine(any_engine)
    assert (table, row) == ("tickets", 2)
    assert reason == "tags: holds \\ud83d, half of a UTF-16 surrogate pair, which is not text"
    assert '"tags": ["cut\\ud83d"]' in raw  # the line as read
