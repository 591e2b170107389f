"""Event times outside the plausible range go to the quarantine with their reason and the
rest of the file loads; a future churned_at is kept as scheduled churn; rows stored before
the check are found by ``turnaround migrate``'s report. DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from data_contracts.plausible import TimeRange
from etl.admin.migrate import OutOfRange, stored_out_of_range
from etl.pipeline.load import LoadOptions, load_paths
from tests.conftest import FIXTURES, insert_rows
from turnaround.generate import generate

NPS_HEADER = "response_id,customer_id,responded_at,score,comment"
GOOD_RESPONSES = [f"ok{i},C{i},2024-05-{i + 1:02d}T10:00:00Z,9,fine" for i in range(20)]


def _nps(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([NPS_HEADER, *GOOD_RESPONSES, *rows]) + "\n")
    return path


def _rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql)).all()]  # test-written SQL


def test_far_dated_responses_are_quarantined_and_the_rest_loads(any_engine, tmp_path):
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    path = _nps(
        tmp_path / "nps.csv",
        "far1,C1,9999-12-31T00:00:00Z,3,placeholder",
        "far2,C2,0001-01-01T00:00:00Z,3,typo",
    )
    report = load_paths(any_engine, [path])
    assert report.status == "succeeded"
    [stats] = report.stats.values()
    assert (stats.rows_read, stats.rows_loaded, stats.rows_quarantined) == (22, 20, 2)
    assert stats.balanced
    loaded = _rows(any_engine, "select response_id from nps_responses")
    assert sorted(r[0] for r in loaded) == sorted(f"ok{i}" for i in range(20))
    quarantined = _rows(
        any_engine, "select row_number, target_table, reason from quarantine order by row_number"
    )
    assert [(n, table) for n, table, _ in quarantined] == [
        (21, "nps_responses"),
        (22, "nps_responses"),
    ]
    latest = (started + dt.timedelta(days=1)).replace(microsecond=0)  # shown in seconds
    for (_, _, reason), value in zip(
        quarantined, ["9999-12-31 00:00:00", "0001-01-01 00:00:00"], strict=True
    ):
        head = f"responded_at: {value} is outside the plausible range 1970-01-01 00:00:00 to "
        assert reason.startswith(head), reason
        shown = dt.datetime.fromisoformat(reason.removeprefix(head))
        assert latest <= shown <= latest + dt.timedelta(minutes=5)  # a day after the start
    [check] = [c for c in report.checks if c.check_name == "responded_at_plausible"]
    assert (check.success, check.failing_count) == (False, 2)


def test_a_future_churned_at_is_kept_as_scheduled_churn(any_engine, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,signup_at,churned_at,segment,plan,region,mrr\n"
        "C1,2024-01-01T00:00:00Z,2099-12-31T00:00:00Z,smb,pro,EU,49\n"
        "C2,2024-01-01T00:00:00Z,,smb,pro,EU,49\n"
    )
    report = load_paths(any_engine, [path])
    assert report.totals()["rows_quarantined"] == 0
    churn = _rows(any_engine, "select churned_at from customers where customer_id = 'C1'")
    assert churn == [(dt.datetime(2099, 12, 31),)]


def test_the_configured_range_is_the_one_applied(any_engine, tmp_path):
    path = _nps(tmp_path / "nps.csv", "old,C1,2019-12-31T23:00:00Z,3,old")
    options = LoadOptions(plausible_from=dt.date(2020, 1, 1), plausible_ahead_days=0)
    report = load_paths(any_engine, [path], options)
    assert report.totals()["rows_quarantined"] == 1
    [(reason,)] = _rows(any_engine, "select reason from quarantine")
    assert reason.startswith(
        "responded_at: 2019-12-31 23:00:00 is outside the plausible range 2020-01-01 00:00:00 to "
    )


def _records(stream: str, *data: dict) -> list[str]:
    return [json.dumps({"stream": stream, "data": one}) for one in data]


def test_ticket_metrics_and_ratings_with_far_times_are_quarantined(any_engine, tmp_path):
    fixture = FIXTURES / "zendesk_airbyte" / "records.jsonl"
    records = [json.loads(line) for line in fixture.read_text().splitlines()]
    metric = next(r["data"] for r in records if r["stream"] == "ticket_metrics")
    rating = {
        "id": 1,
        "ticket_id": 145,
        "score": "good",
        "created_at": "2024-05-28T19:44:02Z",
        "updated_at": "2024-05-28T19:44:02Z",
    }
    path = tmp_path / "zendesk.jsonl"
    lines = [
        *fixture.read_text().splitlines(),
        *_records(
            "ticket_metrics",
            {**metric, "id": 1, "ticket_id": 900, "solved_at": "9999-12-31T00:00:00Z"},
        ),
        *_records(
            "satisfaction_ratings",
            rating,
            {**rating, "id": 2, "updated_at": "0001-01-01T00:00:00Z"},
        ),
    ]
    path.write_text("\n".join(lines) + "\n")
    report = load_paths(any_engine, [path], LoadOptions(quarantine_limit=0.5))
    per_table = {table: s for (_, table), s in report.stats.items()}
    assert per_table["ticket_metrics"].rows_quarantined == 1
    assert per_table["ratings"].rows_quarantined == 1
    assert all(s.balanced for s in report.stats.values())
    ratings = {r[0] for r in _rows(any_engine, "select rating_id from ticket_ratings")}
    assert "1" in ratings and "2" not in ratings
    assert ("900",) not in _rows(any_engine, "select ticket_id from held_ticket_metrics")
    reasons = dict(_rows(any_engine, "select target_table, reason from quarantine"))
    assert reasons["ticket_metrics"].startswith(
        "solved_at: 9999-12-31 00:00:00 is outside the plausible range 1970-01-01 00:00:00 to "
    )
    assert reasons["ratings"].startswith("updated_at: 0001-01-01 00:00:00 is outside")


def test_the_demo_exports_load_with_nothing_quarantined(any_engine, tmp_path):
    for fmt in ("zendesk", "canonical"):
        files = generate(tmp_path / fmt, customers=60, seed=3, fmt=fmt)
        report = load_paths(any_engine, files)
        assert report.totals()["rows_quarantined"] == 0, fmt


# --- rows stored before the check: migrate's report ----------------------------------------

RANGE = TimeRange.after(dt.datetime(2026, 12, 7))


def test_stored_out_of_range_rows_are_counted_per_table_and_column(any_engine):
    far, early = dt.datetime(9999, 12, 31), dt.datetime(1, 1, 1)
    insert_rows(
        any_engine,
        "nps_responses",
        [
            {"response_id": r, "customer_id": "C1", "responded_at": at, "score": 3}
            for r, at in [("n1", far), ("n2", far), ("n3", dt.datetime(2024, 1, 1))]
        ],
    )
    insert_rows(
        any_engine,
        "customers",
        [
            {"customer_id": "C1", "signup_at": early, "churned_at": far},  # churn: scheduled
            {"customer_id": "C2", "signup_at": dt.datetime(2024, 1, 1), "churned_at": early},
        ],
    )
    insert_rows(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "customer_id": "C1",
                "created_at": dt.datetime(2024, 1, 1),
                "solved_at": far,
            }
        ],
    )
    with any_engine.connect() as conn:
        found = stored_out_of_range(conn, RANGE)
    assert found == [
        OutOfRange("tickets", "solved_at", 1, "t1"),
        OutOfRange("nps_responses", "responded_at", 2, "n1"),
        OutOfRange("customers", "signup_at", 1, "C1"),
        OutOfRange("customers", "churned_at", 1, "C2"),
    ]
    assert len(_rows(any_engine, "select * from nps_responses")) == 3  # nothing deleted


def test_a_clean_warehouse_has_nothing_to_report(any_engine):
    insert_rows(
        any_engine,
        "nps_responses",
        [{"response_id": "n1", "customer_id": "C1", "responded_at": RANGE.latest, "score": 3}],
    )
    with any_engine.connect() as conn:
        assert stored_out_of_range(conn, RANGE) == []
