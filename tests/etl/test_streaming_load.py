"""A load in many small batches: the same warehouse as a load in one, nothing left behind.

The canonical CSV reader hands the loader batches of whole records; each is checked and
staged before the next is read. Cutting a file into batches of a few records must change
nothing a user can see: rows, versions, quarantine (row numbers and raw lines), counts and
the contract results great-expectations wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
import sqlalchemy as sa

from etl import apply as apply_module
from etl import canonical_csv
from etl.load import LoadError, LoadOptions, load_paths
from tests.etl.test_load import TICKETS_HEADER, _row

EVERY_ROW_MAY_FAIL = LoadOptions(quarantine_limit=1.0)


def _file(tmp_path):
    rows = [_row(str(i)) for i in range(1, 41)]
    rows[5] = _row("3", updated_at="2024-01-05T00:00:00Z")  # a newer version, batches apart
    rows[30] = _row("3", updated_at="2024-01-04T00:00:00Z")  # an older one, read later
    rows[12] = _row("13", status="deleted")  # fails a contract check
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
    with engine.connect() as conn:
        return {
            name: [tuple(str(v) for v in row) for row in conn.execute(sa.text(sql))]
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
        "status: 'deleted' is not one of new, open, pending, hold, solved, closed",
    ) in got["checks"]
    assert got["tickets"][[t[0] for t in got["tickets"]].index("3")][:3] == (
        "3",
        "solved",
        "2024-01-05 00:00:00",
    )
    whole.dispose()


def _ctx():
    from etl.frames import ReadContext

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
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
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
