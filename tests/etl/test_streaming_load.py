"""A load in many small batches: the same warehouse as a load in one, nothing left behind.

The canonical CSV reader hands the loader batches of whole records; each is checked and
staged before the next is read. Cutting a file into batches of a few records must change
nothing a user can see: rows, versions, quarantine (row numbers and raw lines), counts and
the contract results great-expectations wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest
import sqlalchemy as sa

from etl.pipeline import apply as apply_module
from etl.pipeline import json_stream
from etl.pipeline.load import LoadError, LoadOptions, load_paths
from etl.sources import canonical_csv
from etl.sources.zendesk import reader as zendesk_reader
from tests.etl.test_load import TICKETS_HEADER, _row

EVERY_ROW_MAY_FAIL = LoadOptions(quarantine_limit=1.0)


def _file(tmp_path):
    rows = [_row(str(i)) for i in range(1, 41)]
    rows[5] = _row("3", updated_at="2024-01-05T00:00:00Z")  # a newer version, batches apart
    rows[30] = _row("3", updated_at="2024-01-04T00:00:00Z")  # an older one, read later
    rows[12] = _row("13", status="archived")  # fails a contract check
    rows[20] = "21,c1,2024-01-01T00:00:00Z,short row"  # ragged
    rows[25] = '26,c1,2024-01-01T00:00:00Z,,,open,email,,,"a,b\nc",,,,,,,,,x'  # quoted line break
    path = tmp_path / "tickets.csv"
    path.write_text("\n".join([TICKETS_HEADER, *rows]) + "\n")
    return path


def _state(engine) -> dict:
    queries = {
        "tickets": "select ticket_id, status, updated_at, tags from tickets order by ticket_id",
        "versions": "select ticket_id, valid_from from ticket_versions order by 1, 2",
        "quarantine": "select row_number, raw_row, reason from quarantine order by row_number",
        "checks": (
            "select check_name, success, failing_count, example_reason "
            "from etl_run_checks order by check_name"
        ),
        "stats": (
            "select rows_read, rows_loaded, rows_duplicates, rows_quarantined from etl_run_files"
        ),
    }
    with engine.connect() as conn:  # sorted here: PostgreSQL's collation orders text otherwise
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(sa.text(sql)))
            for name, sql in queries.items()
        }


def test_small_batches_load_exactly_what_one_batch_loads(any_engine, tmp_path, monkeypatch):
    path = _file(tmp_path)
    whole = sa.create_engine(f"duckdb:///{tmp_path / 'whole.duckdb'}")
    load_paths(whole, [path], EVERY_ROW_MAY_FAIL)
    monkeypatch.setattr(canonical_csv, "BATCH_BYTES", 300)  # a few records per batch
    batches = list(canonical_csv.read_batches(path, _ctx(), "tickets"))
    assert len(batches) > 10
    load_paths(any_engine, [path], EVERY_ROW_MAY_FAIL)
    expected, got = _state(whole), _state(any_engine)
    assert got == expected
    assert [r[0] for r in got["quarantine"]] == ["13", "21", "26"]
    assert ("ticket_id_not_null", "True", "0", "None") in got["checks"]
    assert (
        "status_in_set",
        "False",
        "1",
        "status: 'archived' is not one of new, open, pending, hold, solved, closed, deleted, other",
    ) in got["checks"]
    assert got["tickets"][[t[0] for t in got["tickets"]].index("3")][:3] == (
        "3",
        "solved",
        "2024-01-05 00:00:00",
    )
    whole.dispose()


def _ctx():
    from etl.pipeline.frames import ReadContext

    return ReadContext(hash_key="test")


def test_the_staging_database_is_removed_after_any_run(engine, tmp_path, monkeypatch):
    staging_root = tmp_path / "tmp"
    staging_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging_root))
    path = _file(tmp_path)
    load_paths(engine, [path], EVERY_ROW_MAY_FAIL)
    assert list(staging_root.iterdir()) == []

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away mid-merge")

    monkeypatch.setattr(apply_module, "map_tickets_to_customers", broken)
    with pytest.raises((RuntimeError, LoadError)):
        load_paths(engine, [path], LoadOptions(quarantine_limit=1.0, force=True))
    assert list(staging_root.iterdir()) == []


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(engine, tmp_path, monkeypatch):
    staging_root = tmp_path / "tmp"
    staging_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging_root))
    # a process that runs until it is killed below (it waits for input that never comes)
    killed = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    abandoned = staging_root / "turnaround-staging-killed"
    abandoned.mkdir()
    (abandoned / "staged.duckdb").write_bytes(b"rows of a run that was killed")
    (abandoned / "pid").write_text(str(killed.pid))
    running = staging_root / "turnaround-staging-running"  # a run still going: kept
    running.mkdir()
    (running / "pid").write_text(str(os.getpid()))
    load_paths(engine, [_file(tmp_path)], EVERY_ROW_MAY_FAIL)
    assert abandoned.exists()  # its process still runs
    killed.kill()
    killed.wait()
    load_paths(engine, [_file(tmp_path)], LoadOptions(quarantine_limit=1.0, force=True))
    assert sorted(p.name for p in staging_root.iterdir()) == ["turnaround-staging-running"]


def _zendesk_page(tmp_path):
    """An API page cut later into batches of two records: a newer and an older version of one
    ticket batches apart, a ticket the reader rejects and one a contract rejects, users that
    map requesters to customers."""

    def ticket(number: int, **fields) -> dict:
        return {
            "id": number,
            "via": {"channel": "email"},
            "created_at": "2024-03-01T09:00:00Z",
            "updated_at": "2024-03-02T10:00:00Z",
            "status": "open",
            "requester_id": 7 + number % 2,
            "tags": ["billing"],
            "custom_fields": [],
            **fields,
        }

    tickets = [ticket(n) for n in range(1, 11)]
    tickets[1] = ticket(3, status="solved", updated_at="2024-03-05T00:00:00Z")  # newer
    tickets[8] = ticket(3, status="pending", updated_at="2024-03-04T00:00:00Z")  # older
    tickets[4] = ticket(5, created_at="yesterday")  # the reader cannot convert it
    tickets[6] = ticket(7, status="archived")  # fails the status contract check
    users = [
        {"id": 7, "role": "end-user", "external_id": "CRM-7", "email": "seven@example.com"},
        {"id": 8, "role": "end-user", "external_id": "CRM-8", "email": "eight@example.com"},
    ]
    page = {"tickets": tickets, "users": users, "next_page": None, "count": 10}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=2))
    return path


def test_a_zendesk_page_in_small_streamed_batches_loads_what_one_batch_loads(
    any_engine, tmp_path, monkeypatch
):
    path = _zendesk_page(tmp_path)
    whole = sa.create_engine(f"duckdb:///{tmp_path / 'whole.duckdb'}")
    load_paths(whole, [path], EVERY_ROW_MAY_FAIL)
    monkeypatch.setattr(zendesk_reader, "BATCH_RECORDS", 2)
    monkeypatch.setattr(json_stream, "WHOLE_DOCUMENT_BYTES", 0)  # parsed as a stream of events
    assert len(list(zendesk_reader.read_batches(path, _ctx()))) == 6
    load_paths(any_engine, [path], EVERY_ROW_MAY_FAIL)
    expected, got = _state(whole), _state(any_engine)
    assert got == expected
    assert [r[0] for r in got["quarantine"]] == ["5", "7"]
    with any_engine.connect() as conn:
        customers = dict(conn.execute(sa.text("select ticket_id, customer_id from tickets")).all())
        status = conn.execute(sa.text("select status from tickets where ticket_id = '3'")).scalar()
    assert status == "solved"
    assert sorted(customers) == ["1", "10", "3", "4", "6", "8"]
    assert set(customers.values()) == {"CRM-7", "CRM-8"}  # requesters mapped through users
    whole.dispose()
