"""Loading runs: accounting, re-delivery, held metrics, refusal and rollback, on a real DuckDB
file and a real PostgreSQL server alike."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline import apply as apply_module
from etl.pipeline.frames import UnreadableFile
from etl.pipeline.load import LoadOptions, load_paths
from tests.conftest import FIXTURES

EVERY_ROW_MAY_FAIL = LoadOptions(quarantine_limit=1.0)

TICKETS_HEADER = (
    "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,type,priority,"
    "tags,group_name,assignee_id,agent_replies,reopens,assignee_stations,group_stations,csat,"
    "compensation,updated_at"
)


def _tickets_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([TICKETS_HEADER, *rows]) + "\n")
    return path


def _row(ticket_id: str, status: str = "solved", updated_at: str = "2024-01-02T00:00:00Z") -> str:
    return (
        f"{ticket_id},c1,2024-01-01T00:00:00Z,2024-01-01T00:30:00Z,2024-01-01T05:00:00Z,"
        f"{status},email,incident,normal,bug;area_app,Tier 1,a1,1,0,1,1,good,,{updated_at}"
    )


def _snapshot(engine: sa.Engine) -> dict[str, list]:
    tables = (
        "tickets",
        "nps_responses",
        "customers",
        "quarantine",
        "held_ticket_metrics",
        "customer_identities",
    )
    with engine.connect() as conn:
        return {
            t: sorted(map(tuple, conn.execute(sa.text(f"select * from {t}")).all()), key=str)
            for t in tables
        }


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar()


def test_every_row_is_accounted_for(any_engine, tmp_path):
    engine = any_engine
    path = _tickets_csv(
        tmp_path / "tickets.csv",
        [
            _row("1"),
            _row("2"),
            _row("2", updated_at="2024-01-03T00:00:00Z"),  # newer copy in the same file wins
            _row("3", status="archived"),  # not an allowed status -> quarantine
            "4,c1,not-a-date,,,open,email,,,,,,,,,,,,2024-01-02T00:00:00Z",
        ],
    )
    report = load_paths(engine, [path], EVERY_ROW_MAY_FAIL)
    stats = report.stats[(str(path.resolve()), "tickets")]
    assert (stats.rows_read, stats.rows_loaded, stats.rows_duplicates, stats.rows_quarantined) == (
        5,
        2,
        1,
        2,
    )
    assert stats.balanced
    with engine.connect() as conn:
        updated = conn.execute(sa.text("select updated_at from tickets where ticket_id = '2'"))
        assert str(updated.scalar()) == "2024-01-03 00:00:00"
        reasons = dict(conn.execute(sa.text("select row_number, reason from quarantine")).all())
    assert set(reasons) == {4, 5}
    assert "archived" in reasons[4] and "created_at" in reasons[5]


def test_reloading_the_same_file_changes_nothing(any_engine, tmp_path):
    engine = any_engine
    path = _tickets_csv(tmp_path / "tickets.csv", [_row("1"), _row("2")])
    first = load_paths(engine, [path])
    before = _snapshot(engine)
    again = load_paths(engine, [path])  # the same content: skipped without reading
    assert again.status == "skipped" and again.totals()["rows_read"] == 0
    assert again.skipped_files[0]["loaded_in"] == first.batch_id
    forced = load_paths(engine, [path], LoadOptions(force=True))  # read: every row a duplicate
    assert forced.totals()["rows_duplicates"] == 2 and forced.totals()["rows_loaded"] == 0
    assert _snapshot(engine)["tickets"] == before["tickets"]


def test_a_newer_export_replaces_the_stored_ticket(any_engine, tmp_path):
    engine = any_engine
    load_paths(engine, [_tickets_csv(tmp_path / "a.csv", [_row("1", status="open")])])
    newer = _row("1", status="solved", updated_at="2024-02-01T00:00:00Z")
    report = load_paths(engine, [_tickets_csv(tmp_path / "b.csv", [newer])])
    assert report.totals()["rows_replaced"] == 1
    assert _count(engine, "tickets") == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("select status from tickets")).scalar() == "solved"


def test_zendesk_fixture_holds_metrics_until_their_tickets_arrive(any_engine, tmp_path):
    engine = any_engine
    fixture = FIXTURES / "zendesk_airbyte" / "records.jsonl"
    report = load_paths(engine, [fixture])
    per_table = {table: s for (_, table), s in report.stats.items()}
    assert per_table["tickets"].rows_loaded == 3
    assert per_table["ticket_metrics"].rows_held == 3  # tickets 159-161 are not in the file
    assert all(s.balanced for s in report.stats.values())
    assert per_table["brands"].rows_skipped == 1
    assert _count(engine, "held_ticket_metrics") == 3
    with engine.connect() as conn:
        channels = dict(conn.execute(sa.text("select ticket_id, channel from tickets")).all())
    assert channels == {"145": "voice", "1": "other", "146": "web"}

    # A later run delivers ticket 160: its held metrics are applied and released.
    ticket = next(
        json.loads(line)["data"]
        for line in fixture.read_text().splitlines()
        if json.loads(line)["stream"] == "tickets"
    )
    later = tmp_path / "later.jsonl"
    later.write_text(json.dumps({"stream": "tickets", "data": {**ticket, "id": 160}}) + "\n")
    second = load_paths(engine, [later])
    assert second.rows_released == 1
    assert _count(engine, "held_ticket_metrics") == 2
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "select agent_replies, reopens, created_at, first_reply_at from tickets "
                "where ticket_id = '160'"
            )
        ).one()
    assert row[0] == 2 and row[1] == 1
    assert (row[3] - row[2]).total_seconds() == 97667 * 60  # reply_time_in_minutes.calendar


def test_unreadable_file_is_refused_and_nothing_loads(any_engine, tmp_path):
    engine = any_engine
    good = _tickets_csv(tmp_path / "tickets.csv", [_row("1")])
    load_paths(engine, [good])
    before = _snapshot(engine)
    bad = tmp_path / "report.xlsx"
    bad.write_bytes(b"PK\x03\x04\x00\x00binary")
    other = _tickets_csv(tmp_path / "more.csv", [_row("9")])
    with pytest.raises(UnreadableFile) as refused:
        load_paths(engine, [other, bad])
    assert "Zendesk API JSON" in str(refused.value) and "report.xlsx" in str(refused.value)
    assert _snapshot(engine) == before
    with engine.connect() as conn:
        statuses = [
            r[0] for r in conn.execute(sa.text("select status from etl_runs order by started_at"))
        ]
    assert statuses == ["succeeded", "failed"]


def test_a_crash_mid_load_leaves_the_warehouse_as_it_was(any_engine, tmp_path, monkeypatch):
    engine = any_engine
    load_paths(engine, [_tickets_csv(tmp_path / "a.csv", [_row("1")])])
    before = _snapshot(engine)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    # Tickets are merged; then writing the quarantine fails.
    monkeypatch.setattr(apply_module, "write_quarantine", crash)
    bad_row = _row("3", status="deleted")
    path = _tickets_csv(tmp_path / "b.csv", [_row("2"), bad_row])
    with pytest.raises(OSError, match="disk full"):
        load_paths(engine, [path], EVERY_ROW_MAY_FAIL)
    assert _snapshot(engine) == before


def test_folders_are_loaded_file_by_file(any_engine, tmp_path):
    engine = any_engine
    folder = tmp_path / "exports"
    folder.mkdir()
    _tickets_csv(folder / "tickets.csv", [_row("1")])
    shutil.copy(FIXTURES / "zendesk_airbyte" / "records.jsonl", folder / "zendesk.jsonl")
    (folder / ".hidden").write_text("ignored")
    report = load_paths(engine, [folder])
    assert len(report.files) == 2
    assert _count(engine, "tickets") == 4


def test_an_unchanged_file_is_judged_by_size_and_time_before_its_hash(any_engine, tmp_path):
    engine = any_engine
    path = _tickets_csv(tmp_path / "tickets.csv", [_row("1"), _row("2")])
    load_paths(engine, [path])
    stat = path.stat()
    # Same size and modification time: taken as loaded without being read. (Different
    # bytes of the same length prove that it was not read: --force reads it.)
    path.write_text(path.read_text().replace(",solved,", ",closed,"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    again = load_paths(engine, [path])
    assert again.status == "skipped" and again.totals()["rows_read"] == 0
    # Only its time changed: read and hashed, the hash matches, skipped.
    _tickets_csv(path, [_row("1"), _row("2")])
    touched = load_paths(engine, [path])
    assert touched.status == "skipped"
    # Content and time changed: loaded.
    _tickets_csv(path, [_row("1"), _row("2", status="closed", updated_at="2024-01-03T00:00:00Z")])
    changed = load_paths(engine, [path])
    assert changed.status == "succeeded" and changed.totals()["rows_replaced"] == 1
    forced = load_paths(engine, [path], LoadOptions(force=True))
    assert forced.totals()["rows_duplicates"] == 2


def test_postgresql_gets_the_indexes_the_metric_queries_use(any_engine, tmp_path):
    from warehouse.schema import PG_INDEXES

    load_paths(any_engine, [_tickets_csv(tmp_path / "tickets.csv", [_row("1")])])
    listing = {
        "postgresql": "select indexname from pg_indexes",
        "duckdb": "select index_name from duckdb_indexes()",
    }[any_engine.dialect.name]
    with any_engine.connect() as conn:
        names = set(conn.execute(sa.text(listing)).scalars())
    wanted = {i.name for i in PG_INDEXES}
    if any_engine.dialect.name == "postgresql":
        assert wanted <= names
    else:  # DuckDB scans with zone maps; an index would only slow its loads
        assert not wanted & names
