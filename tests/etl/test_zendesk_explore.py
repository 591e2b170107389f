"""Zendesk Explore CSV exports: every field quoted, no-break spaces in empty cells, times in
the account's zone, reply times as brackets, the requester by email."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac

import pytest
import sqlalchemy as sa

from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext, UnreadableFile
from etl.pipeline.load import LoadOptions, load_paths
from metrics import MetricParams, compute_kpis
from tests.conftest import FIXTURES, TEST_HASH_KEY

EXPORT = FIXTURES / "zendesk_explore" / "tickets.csv"
NEW_YORK = "America/New_York"


def _email_id(email: str, key: str) -> str:
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


def T(*args: int) -> dt.datetime:
    return dt.datetime(*args)


# Each row of the export written out by hand; times converted from New York by hand (EST,
# UTC-5, until 2024-03-10 02:00; EDT, UTC-4, after).
EXPECTED = {
    "5001": {
        "customer_id": "pat@example.com",
        "created_at": T(2024, 3, 1, 14, 15),
        "first_reply_at": T(2024, 3, 1, 15, 0),  # 45 minutes after creation
        "first_reply_bracket": "0-1 hrs",
        "solved_at": T(2024, 3, 1, 20, 0),
        "status": "solved",
        "channel": "email",
        "type": "incident",
        "priority": "high",
        "group_name": "Billing",
        "assignee_id": "Ana Agent",
        "agent_replies": 1,
        "reopens": 0,
        "group_stations": 1,
        "assignee_stations": 1,
        "csat": "good",
        "tags": ["outage", "vip"],
        "updated_at": T(2024, 3, 2, 15, 0),
    },
    "5002": {
        "customer_id": "lee@example.com",
        "created_at": T(2024, 3, 3, 17, 0),
        "first_reply_at": None,  # only the bracket: the reply time is unknown
        "first_reply_bracket": "1-8 hrs",
        "solved_at": None,
        "status": "open",
        "channel": "web",
        "type": "question",
        "priority": "normal",
        "group_name": None,  # a no-break space
        "assignee_id": None,
        "agent_replies": 2,
        "reopens": 0,
        "group_stations": 1,
        "assignee_stations": 2,
        "csat": "unoffered",
        "tags": [],
        "updated_at": T(2024, 3, 3, 19, 0),
    },
    "5003": {
        "customer_id": "sam@example.com",
        "created_at": T(2024, 3, 10, 4, 30),  # 23:30 EST the day before
        "first_reply_at": None,
        "first_reply_bracket": None,  # " No replies": no reply at all
        "solved_at": None,
        "status": "pending",
        "channel": "chat",
        "type": None,
        "priority": "low",
        "group_name": "Tier 1",
        "assignee_id": "Bo Agent",
        "agent_replies": 0,
        "reopens": 0,
        "group_stations": 1,
        "assignee_stations": 1,
        "csat": "offered",
        "tags": ["bug"],
        "updated_at": T(2024, 3, 10, 8, 0),  # 04:00 EDT
    },
    "5004": {
        "customer_id": "kim@example.com",
        "created_at": T(2024, 3, 10, 7, 30),  # 03:30 EDT
        "first_reply_at": T(2024, 3, 10, 9, 30),  # 120 minutes after
        "first_reply_bracket": "1-8 hrs",
        "solved_at": None,
        "status": "hold",
        "channel": "voice",
        "type": "problem",
        "priority": "urgent",
        "group_name": "Tier 2",
        "assignee_id": "Ana Agent",
        "agent_replies": 1,
        "reopens": 1,
        "group_stations": 2,
        "assignee_stations": 3,
        "csat": "bad",
        "tags": ["outage", "refund"],
        "updated_at": T(2024, 3, 10, 10, 0),
    },
    "5005": {
        "customer_id": "pat@example.com",
        "created_at": T(2024, 3, 11, 12, 0),
        "first_reply_at": T(2024, 3, 11, 12, 30),
        "first_reply_bracket": "0-1 hrs",
        "solved_at": T(2024, 3, 11, 13, 0),
        "status": "closed",
        "channel": "other",  # "Sample ticket": no canonical channel
        "type": "task",
        "priority": "normal",
        "group_name": "Tier 1",
        "assignee_id": "Bo Agent",
        "agent_replies": 1,
        "reopens": 0,
        "group_stations": 1,
        "assignee_stations": 1,
        "csat": "unoffered",
        "tags": [],
        "updated_at": T(2024, 3, 15, 4, 0),
    },
}


def test_the_export_is_detected_and_quoted_fields_are_read():
    assert EXPORT.read_bytes().startswith(b'"Ticket ID","Ticket status"')
    assert "\u00a0" in EXPORT.read_text(encoding="utf-8")
    assert detect(EXPORT).name == "zendesk_explore_tickets_csv"


def test_every_row_maps_as_written_out_by_hand():
    result = detect(EXPORT).read(EXPORT, ReadContext(hash_key="k", timezone=NEW_YORK))
    assert result.rejected == []
    got = {t["ticket_id"]: t for t in result.tickets.to_dicts()}
    assert set(got) == set(EXPECTED)
    for ticket_id, expected in EXPECTED.items():
        expected = {**expected, "customer_id": _email_id(expected["customer_id"], "k")}
        assert {k: got[ticket_id][k] for k in expected} == expected, ticket_id
    assert result.unmapped == {("Ticket channel", "Sample ticket", "other", "channels"): 1}
    assert result.notes == (
        "cannot feed recovery cost: the file has no compensation amount column",
    )


def test_without_the_account_time_zone_the_export_is_refused():
    with pytest.raises(UnreadableFile, match=r"\[sources.zendesk_explore\] timezone"):
        detect(EXPORT).read(EXPORT, ReadContext(hash_key="k"))


def test_a_reply_known_only_by_its_bracket_is_never_a_miss(any_engine):
    report = load_paths(any_engine, [EXPORT], LoadOptions(source_timezone=NEW_YORK))
    assert report.totals()["rows_loaded"] == 5
    assert report.notes == [
        "tickets.csv: cannot feed recovery cost: the file has no compensation amount column",
        "tickets.csv: Ticket channel values with no canonical match, loaded as other: "
        "'Sample ticket' (1 row); map them under [sources.zendesk_explore.channels]",
    ]
    kpis = compute_kpis(any_engine, MetricParams(as_of=T(2024, 3, 20)))["kpis"]
    # replies after 45, 120 and 30 minutes; 5002 (bracket only) has no time
    assert kpis["tta_median_minutes"] == pytest.approx(45.0)
    # 5001 and 5005 within the hour, 5004 late, 5003 unanswered and late; 5002 left out
    assert kpis["tta_within_target_pct"] == pytest.approx(2 / 4)
    with any_engine.connect() as conn:
        assert conn.execute(
            sa.text("select first_reply_bracket from tickets where ticket_id = '5002'")
        ).scalar() == ("1-8 hrs")
        stored = conn.execute(sa.text("select customer_id from tickets order by ticket_id"))
        assert stored.scalars().first() == _email_id("pat@example.com", TEST_HASH_KEY)
        for table in sa.inspect(conn).get_table_names():
            text = " ".join(str(row) for row in conn.execute(sa.text(f"select * from {table}")))
            assert "example.com" not in text.lower(), table


def test_an_export_with_only_reply_brackets_says_it_cannot_feed_tta(tmp_path):
    rows = list(csv.reader(EXPORT.open(encoding="utf-8", newline="")))
    column = rows[0].index("First reply time (min)")
    path = tmp_path / "brackets.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, quoting=csv.QUOTE_ALL).writerows(
            [v for i, v in enumerate(row) if i != column] for row in rows
        )
    result = detect(path).read(path, ReadContext(hash_key="k", timezone=NEW_YORK))
    assert result.tickets.height == 5 and result.rejected == []
    assert (
        "cannot feed TTA and TTA within target: the file has no first reply time column "
        "(its reply brackets, such as 0-1 hrs, are not timed)"
    ) in result.notes


def test_an_export_that_lost_a_column_it_is_known_by_is_refused_naming_it(tmp_path):
    rows = list(csv.reader(EXPORT.open(encoding="utf-8", newline="")))
    column = rows[0].index("Ticket status")
    path = tmp_path / "no_status.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([v for i, v in enumerate(row) if i != column] for row in rows)
    with pytest.raises(UnreadableFile) as refused:
        detect(path)
    assert refused.value.problem == (
        "matches no export format Turnaround reads: it has 18 columns of a Zendesk Explore "
        "CSV export of tickets but lacks 'Ticket status'"
    )
