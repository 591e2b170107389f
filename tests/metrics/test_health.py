"""What the Data health page reads (metrics.health), from real loads (`turnaround load`) into
each warehouse: a DuckDB file and a database on the PostgreSQL server."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from metrics.health import freshness, last_runs, quarantined, staleness
from tests.processes import cli, json_out
from warehouse import get_engine
from warehouse.schema import etl_runs

NOW = dt.datetime(2026, 11, 2, 12, 0)


def _load(url: str, *files, config=None) -> dict:
    extra = ["--config", str(config)] if config else []
    return json_out(cli("load", *map(str, files), "--warehouse", url, "--json", *extra))


def test_freshness_and_runs_after_a_load_with_a_bad_row(tmp_path, any_warehouse_url):
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(
        "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,updated_at\n"
        "t1,c1,2026-10-01T09:00:00Z,2026-10-01T09:30:00Z,,open,email,2026-10-02T10:00:00Z\n"
        "t2,c1,2026-10-03T09:00:00Z,,,open,email,2026-10-05T08:00:00Z\n"
        "t3,c1,not a time,,,open,email,2026-10-05T08:00:00Z\n"
    )
    url = any_warehouse_url
    config = tmp_path / "turnaround.toml"
    config.write_text("[load]\nquarantine_limit = 0.5\n")  # one bad row of three is kept out
    report = _load(url, tickets, config=config)
    assert report["rows_loaded"] == 2 and report["rows_quarantined"] == 1
    engine = get_engine(url, read_only=True)

    (row,) = freshness(engine)
    assert (row["table"], row["source"], row["rows"]) == ("tickets", "canonical", 2)
    assert row["latest_event"] == dt.datetime(2026, 10, 5, 8, 0)  # t2's updated_at
    runs = last_runs(engine)
    assert runs["latest"]["batch_id"] == runs["succeeded"]["batch_id"] == report["batch_id"]
    assert row["last_loaded"] == runs["succeeded"]["ended_at"]

    held = quarantined(engine)
    assert held["total"] == 1 and len(held["rows"]) == 1
    assert held["rows"][0]["row_number"] == 3 and "created_at" in held["rows"][0]["reason"]
    assert quarantined(engine, limit=0)["rows"] == []


def _run(status: str, started: dt.datetime, ended: dt.datetime | None, message=None) -> dict:
    return {"status": status, "started_at": started, "ended_at": ended, "message": message}


def test_staleness_names_a_failed_load_or_an_old_one():
    fresh = _run("succeeded", NOW - dt.timedelta(hours=3), NOW - dt.timedelta(hours=2))
    assert staleness({"latest": fresh, "succeeded": fresh}, NOW, 36) is None
    assert staleness({"latest": None, "succeeded": None}, NOW, 36) is None

    old = _run("succeeded", NOW - dt.timedelta(hours=50), NOW - dt.timedelta(hours=49))
    banner = staleness({"latest": old, "succeeded": old}, NOW, 36)
    assert banner.startswith("The data may be stale: the last successful load ended 49 hours ago")
    assert "more than 36 hours" in banner
    older = _run("succeeded", NOW - dt.timedelta(days=9), NOW - dt.timedelta(days=9))
    assert "ended 9 days ago" in staleness({"latest": older, "succeeded": older}, NOW, 36)

    failed = _run("failed", NOW - dt.timedelta(hours=1), NOW, "tickets.csv: not a CSV\nmore")
    banner = staleness({"latest": failed, "succeeded": fresh}, NOW, 36)
    assert banner == "The last load (02 Nov 2026, 11:00 UTC) failed: tickets.csv: not a CSV"
    skipped = _run("skipped", NOW, NOW)  # an inbox run that found nothing new
    assert staleness({"latest": skipped, "succeeded": fresh}, NOW, 36) is None
    # A load that succeeded after the failed one began (two loads in a row): no failure.
    late = _run("succeeded", NOW - dt.timedelta(minutes=50), NOW - dt.timedelta(minutes=30))
    early = _run("failed", NOW - dt.timedelta(hours=1), NOW - dt.timedelta(minutes=55), "x")
    assert staleness({"latest": early, "succeeded": late}, NOW, 36) is None


def test_a_refused_file_is_the_latest_run(tmp_path, any_warehouse_url):
    url = any_warehouse_url
    good = tmp_path / "customers.csv"
    good.write_text("customer_id,signup_at\nc1,2026-01-01T00:00:00Z\n")
    assert _load(url, good)["status"] == "succeeded"
    bad = tmp_path / "tickets.csv"
    bad.write_text("this is not,an export\n1,2\n")
    assert cli("load", str(bad), "--warehouse", url).returncode == 1
    runs = last_runs(get_engine(url, read_only=True))
    assert runs["latest"]["status"] == "failed"
    assert runs["succeeded"]["status"] == "succeeded"
    with get_engine(url, read_only=True).connect() as conn:
        assert conn.execute(sa.text("select count(*) from etl_runs")).scalar_one() == 2
    assert staleness(runs, NOW, 36).startswith("The last load (")


def test_a_refused_run_is_not_the_latest_load(tmp_path, any_warehouse_url):
    """A load refused because another was running says nothing of the data: the banner
    looks past it, to the loads that ran."""
    url = any_warehouse_url
    good = tmp_path / "customers.csv"
    good.write_text("customer_id,signup_at\nc1,2026-01-01T00:00:00Z\n")
    report = _load(url, good)
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(
            etl_runs.insert(),
            [
                {
                    "batch_id": "refused-1",
                    "started_at": dt.datetime(2100, 1, 1),
                    "ended_at": dt.datetime(2100, 1, 1),
                    "status": "refused",
                    "files": 1,
                    "message": "another load is running (pid 1)",
                }
            ],
        )
    runs = last_runs(engine)
    assert runs["latest"]["batch_id"] == report["batch_id"]
    assert staleness(runs, NOW, 36) is None
