"""Nothing stale wins: every merged row keeps its newest version by source time, whatever the
order exports arrive in (tickets, ticket metrics, NPS responses, customers), on DuckDB and
PostgreSQL alike."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from etl.pipeline.load import LoadOptions, load_paths

JAN = "2024-01-{:02d}T00:00:00Z"


def _page(path: Path, stream: str, objects: list[dict]) -> Path:
    path.write_text(json.dumps({stream: objects}))
    return path


def _ticket(updated_day: int, status: str = "solved", **fields) -> dict:
    return {
        "id": 5,
        "requester_id": 7,
        "created_at": JAN.format(1),
        "updated_at": JAN.format(updated_day),
        "status": status,
        "via": {"channel": "email"},
        "tags": [],
    } | fields


def _metric(updated_day: int, replies: int, reply_minutes: int, reopens: int = 0) -> dict:
    return {
        "ticket_id": 5,
        "reply_time_in_minutes": {"calendar": reply_minutes, "business": None},
        "solved_at": JAN.format(updated_day),
        "replies": replies,
        "reopens": reopens,
        "assignee_stations": 1,
        "group_stations": 1,
        "updated_at": JAN.format(updated_day),
    }


def _one(engine: sa.Engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).one()


METRICS_SQL = (
    "select agent_replies, reopens, solved_at, first_reply_at, metrics_updated_at from tickets"
)


def test_an_older_ticket_export_never_replaces_a_newer_one(any_engine, tmp_path):
    load_paths(any_engine, [_page(tmp_path / "new.json", "tickets", [_ticket(9, "solved")])])
    old = load_paths(any_engine, [_page(tmp_path / "old.json", "tickets", [_ticket(3, "open")])])
    assert old.totals()["rows_duplicates"] == 1 and old.totals()["rows_replaced"] == 0
    assert _one(any_engine, "select status from tickets").status == "solved"


def test_an_older_ticket_metrics_export_never_reverts_newer_metrics(any_engine, tmp_path):
    load_paths(
        any_engine,
        [
            _page(tmp_path / "t.json", "tickets", [_ticket(2)]),
            _page(
                tmp_path / "m9.json", "ticket_metrics", [_metric(9, replies=3, reply_minutes=45)]
            ),
        ],
    )
    newest = _one(any_engine, METRICS_SQL)
    stale = _page(tmp_path / "m4.json", "ticket_metrics", [_metric(4, replies=1, reply_minutes=5)])
    report = load_paths(any_engine, [stale])
    assert _one(any_engine, METRICS_SQL) == newest  # first_reply_at, solved_at, replies stay
    assert newest.agent_replies == 3 and str(newest.metrics_updated_at) == "2024-01-09 00:00:00"
    stats = next(s for (_, t), s in report.stats.items() if t == "ticket_metrics")
    assert (stats.rows_read, stats.rows_duplicates, stats.rows_held) == (1, 1, 0)

    newer = _page(tmp_path / "m12.json", "ticket_metrics", [_metric(12, 4, 50, reopens=1)])
    load_paths(any_engine, [newer])
    assert _one(any_engine, METRICS_SQL).agent_replies == 4


def test_held_metrics_keep_the_newest_until_their_ticket_arrives(any_engine, tmp_path):
    load_paths(any_engine, [_page(tmp_path / "m9.json", "ticket_metrics", [_metric(9, 3, 45)])])
    stale = load_paths(
        any_engine, [_page(tmp_path / "m4.json", "ticket_metrics", [_metric(4, 1, 5)])]
    )
    assert stale.totals()["rows_duplicates"] == 1
    load_paths(any_engine, [_page(tmp_path / "t.json", "tickets", [_ticket(2)])])
    row = _one(any_engine, METRICS_SQL)
    assert row.agent_replies == 3 and str(row.metrics_updated_at) == "2024-01-09 00:00:00"


def test_a_newer_ticket_version_without_metrics_keeps_them_and_their_age(any_engine, tmp_path):
    load_paths(
        any_engine,
        [
            _page(tmp_path / "t.json", "tickets", [_ticket(2)]),
            _page(tmp_path / "m9.json", "ticket_metrics", [_metric(9, 3, 45)]),
        ],
    )
    load_paths(any_engine, [_page(tmp_path / "t10.json", "tickets", [_ticket(10, "closed")])])
    load_paths(any_engine, [_page(tmp_path / "m4.json", "ticket_metrics", [_metric(4, 1, 5)])])
    row = _one(any_engine, "select status, agent_replies from tickets")
    assert (row.status, row.agent_replies) == ("closed", 3)


def _nps(path: Path, rows: list[str], dated: bool = True) -> Path:
    header = "response_id,customer_id,responded_at,score,comment" + (",updated_at" if dated else "")
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_an_older_nps_response_never_replaces_a_newer_one(any_engine, tmp_path):
    load_paths(any_engine, [_nps(tmp_path / "a.csv", ["r1,c1,2024-02-01,9,edited,2024-02-10"])])
    old = load_paths(
        any_engine, [_nps(tmp_path / "b.csv", ["r1,c1,2024-02-01,3,first,2024-02-01"])]
    )
    assert old.totals()["rows_duplicates"] == 1
    assert _one(any_engine, "select score, comment from nps_responses") == (9, "edited")
    # An undated re-export does not replace a dated response either.
    load_paths(any_engine, [_nps(tmp_path / "c.csv", ["r1,c1,2024-02-01,5,undated"], dated=False)])
    assert _one(any_engine, "select score from nps_responses").score == 9


def test_undated_nps_responses_take_the_later_load(any_engine, tmp_path):
    load_paths(any_engine, [_nps(tmp_path / "a.csv", ["r1,c1,2024-02-01,9,x"], dated=False)])
    later = load_paths(
        any_engine, [_nps(tmp_path / "b.csv", ["r1,c1,2024-02-01,4,y"], dated=False)]
    )
    assert later.totals()["rows_replaced"] == 1
    assert _one(any_engine, "select score from nps_responses").score == 4


def test_an_older_delighted_edit_never_replaces_a_newer_one(any_engine, tmp_path):
    def response(score: int, updated_at: int) -> dict:
        return {"id": "9", "person": "p1", "score": score, "created_at": 1706745600,
                "updated_at": updated_at, "survey_type": "nps"}  # fmt: skip

    newer, older = tmp_path / "newer.json", tmp_path / "older.json"
    newer.write_text(json.dumps([response(10, 1707000000)]))
    older.write_text(json.dumps([response(2, 1706800000)]))
    load_paths(any_engine, [newer])
    assert load_paths(any_engine, [older]).totals()["rows_duplicates"] == 1
    assert _one(any_engine, "select score from nps_responses").score == 10


def _customers(path: Path, rows: list[str], dated: bool = True) -> Path:
    header = "customer_id,signup_at,churned_at,segment,plan,region,mrr"
    path.write_text("\n".join([header + (",updated_at" if dated else ""), *rows]) + "\n")
    return path


def test_an_older_customers_export_never_replaces_a_newer_one(any_engine, tmp_path):
    newer = _customers(tmp_path / "new.csv", ["c1,2023-01-01,2024-05-01,smb,pro,EU,0,2024-05-02"])
    older = _customers(tmp_path / "old.csv", ["c1,2023-01-01,,smb,basic,EU,10,2024-03-01"])
    load_paths(any_engine, [newer])
    assert load_paths(any_engine, [older]).totals()["rows_duplicates"] == 1
    row = _one(any_engine, "select churned_at, plan from customers")
    assert (str(row.churned_at), row.plan) == ("2024-05-01 00:00:00", "pro")


def test_undated_customers_files_take_the_later_load(any_engine, tmp_path):
    load_paths(
        any_engine, [_customers(tmp_path / "a.csv", ["c1,2023-01-01,,smb,basic,EU,10"], False)]
    )
    load_paths(
        any_engine, [_customers(tmp_path / "b.csv", ["c1,2023-01-01,,smb,pro,EU,49"], False)]
    )
    assert _one(any_engine, "select plan from customers").plan == "pro"


def test_a_newer_canonical_ticket_replaces_its_metrics_nulls_included(any_engine, tmp_path):
    header = (
        "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,"
        "agent_replies,updated_at"
    )
    solved = tmp_path / "solved.csv"
    solved.write_text(
        f"{header}\n9,c1,2024-01-01,2024-01-01T01:00,2024-01-02,solved,email,1,2024-01-02\n"
    )
    reopened = tmp_path / "reopened.csv"
    reopened.write_text(f"{header}\n9,c1,2024-01-01,2024-01-01T01:00,,open,email,2,2024-01-05\n")
    load_paths(any_engine, [solved])
    load_paths(any_engine, [reopened])
    row = _one(any_engine, "select status, solved_at, agent_replies from tickets")
    assert (row.status, row.solved_at, row.agent_replies) == ("open", None, 2)


def test_undated_metrics_never_replace_dated_ones(any_engine, tmp_path):
    load_paths(
        any_engine,
        [
            _page(tmp_path / "t.json", "tickets", [_ticket(2)]),
            _page(
                tmp_path / "m9.json", "ticket_metrics", [_metric(9, replies=3, reply_minutes=45)]
            ),
        ],
    )
    undated = {**_metric(1, replies=1, reply_minutes=5), "updated_at": None}
    load_paths(any_engine, [_page(tmp_path / "m.json", "ticket_metrics", [undated])])
    assert _one(any_engine, METRICS_SQL).agent_replies == 3


def test_a_file_without_a_column_leaves_that_column_as_stored(any_engine, tmp_path):
    full = _customers(tmp_path / "full.csv", ["c1,2023-01-01,2024-05-01,smb,pro,EU,49"], False)
    load_paths(any_engine, [full])
    partial = tmp_path / "partial.csv"
    partial.write_text("customer_id,signup_at,plan\nc1,2023-01-01,enterprise\nc2,2023-02-01,pro\n")
    report = load_paths(any_engine, [partial])
    assert (report.totals()["rows_replaced"], report.totals()["rows_loaded"]) == (1, 1)
    row = _one(any_engine, "select churned_at, mrr, plan from customers where customer_id = 'c1'")
    assert (str(row.churned_at), row.mrr, row.plan) == ("2024-05-01 00:00:00", 49.0, "enterprise")
    # The same partial file again changes nothing: its rows equal what is stored.
    again = load_paths(any_engine, [partial], LoadOptions(force=True))
    assert again.totals()["rows_duplicates"] == 2
