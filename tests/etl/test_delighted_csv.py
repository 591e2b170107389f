"""Delighted's CSV export of survey responses, row by row."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import sqlalchemy as sa

from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext
from etl.pipeline.load import LoadOptions, load_paths
from tests.conftest import FIXTURES

EXPORT = FIXTURES / "delighted" / "responses_export.csv"


def _email_id(email: str, key: str) -> str:
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


def test_every_nps_row_maps_as_written_out_by_hand():
    assert detect(EXPORT).name == "delighted_responses_csv"
    result = detect(EXPORT).read(EXPORT, ReadContext(hash_key="k"))
    assert result.rejected == []
    assert result.nps_responses.to_dicts() == [
        {
            "response_id": "91001",
            "customer_id": "CRM-1",  # the customer_id person property first
            "responded_at": dt.datetime(2024, 4, 18, 12, 34, 20),  # 05:34:20 -0700
            "score": 10,
            "comment": "Fixed in one reply, thanks!",
            "updated_at": None,
            "row_number": 1,
        },
        {
            "response_id": "91002",
            "customer_id": _email_id("lee@example.com", "k"),  # no property: the email
            "responded_at": dt.datetime(2024, 4, 19, 16, 0),
            "score": 2,
            "comment": "Still broken. Call me, or mail <email>",
            "updated_at": dt.datetime(2024, 4, 20, 17, 0),
            "row_number": 2,
        },
        {
            "response_id": "91004",
            "customer_id": "5004",  # neither: Delighted's person id
            "responded_at": dt.datetime(2024, 4, 21, 6, 30),
            "score": 8,
            "comment": None,
            "updated_at": None,
            "row_number": 4,
        },
    ]
    assert result.skipped == {"survey_type:csat": 1}


def test_loading_the_export_keeps_no_raw_email(any_engine):
    report = load_paths(any_engine, [EXPORT], LoadOptions())
    totals = report.totals()
    assert (totals["rows_read"], totals["rows_loaded"], totals["rows_skipped"]) == (4, 3, 1)
    with any_engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            text = " ".join(str(row) for row in conn.execute(sa.text(f"select * from {table}")))
            assert "example.com" not in text.lower(), table


def test_the_run_summary_and_the_runs_table_count_the_skipped_rows(tmp_path):
    from tests.processes import cli

    warehouse = ("--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}")
    done = cli("load", str(EXPORT), *warehouse)
    assert done.returncode == 0, done.stderr
    # 4 rows: 3 NPS answers loaded, the CSAT answer skipped, so the line adds up
    assert "4 read, 3 loaded, 0 replaced, 0 quarantined, 0 duplicates, 0 held, 1 skipped" in (
        done.stdout
    )
    runs = cli("runs", *warehouse)
    header = next(line for line in runs.stdout.splitlines() if "skipped" in line)
    row = next(line for line in runs.stdout.splitlines() if "succeeded" in line)
    cells = [c.strip() for c in row.split("│")]
    names = [c.strip() for c in header.split("┃")]
    assert cells[names.index("skipped")] == "1" and cells[names.index("read")] == "4"
