"""Far-dated rows through the real commands: ``turnaround load`` quarantines them and
``turnaround metrics --json`` keeps its as_of and its numbers; the range is a setting;
``turnaround migrate`` reports rows stored before the check."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, insert_rows
from tests.processes import cli, json_out
from turnaround.generate import generate
from warehouse import ensure_schema, get_engine

FAR_ROWS = (
    "response_id,customer_id,responded_at,score,comment\n"
    "far1,C000029,9999-12-31T00:00:00Z,3,placeholder\n"
    "far2,C000066,0001-01-01T00:00:00Z,3,typo\n"
)


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plausible")
    generate(folder / "demo", customers=200, seed=1, fmt="canonical")
    return folder


def _metrics(url: str) -> dict:
    return json_out(cli("metrics", "--json", "--warehouse", url))


def test_far_dated_responses_are_quarantined_and_metrics_keep_their_as_of(exports, tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    assert cli("load", str(exports / "demo"), "--warehouse", url).returncode == 0
    before = _metrics(url)
    far = tmp_path / "far" / "nps_far.csv"
    far.parent.mkdir()
    far.write_text(FAR_ROWS)
    # Two bad rows of two: a file that is all bad is refused whole, unless the limit allows.
    done = cli("load", str(far), "--warehouse", url, "--quarantine-limit", "1", "--json")
    assert done.returncode == 0, done.stderr
    loaded = json_out(done)
    [stats] = loaded["files"]
    assert (stats["rows_read"], stats["rows_loaded"], stats["rows_quarantined"]) == (2, 0, 2)
    after = _metrics(url)
    assert after["as_of"] == before["as_of"]  # the demo's last event, not 9999-12-31
    assert after["as_of"].startswith("2026-10-31T")
    assert after["kpis"] == before["kpis"]
    runs = json_out(cli("runs", "--json", "--warehouse", url))
    [check] = [c for c in runs[0]["checks"] if c["check_name"] == "responded_at_plausible"]
    assert check["failing_count"] == 2
    assert check["example_reason"].startswith(
        "responded_at: 9999-12-31 00:00:00 is outside the plausible range 1970-01-01 00:00:00 to "
    )


def test_a_future_churned_at_loads_and_leaves_as_of_alone(exports, tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    churn = tmp_path / "churn" / "customers.csv"
    churn.parent.mkdir()
    churn.write_text(
        "customer_id,signup_at,churned_at,segment,plan,region,mrr\n"
        "C900001,2025-01-01T00:00:00Z,2099-12-31T00:00:00Z,smb,pro,EU,49\n"
    )
    assert cli("load", str(exports / "demo"), "--warehouse", url).returncode == 0
    before = _metrics(url)["as_of"]
    done = cli("load", str(churn), "--warehouse", url, "--json")
    assert json_out(done)["rows_loaded"] == 1
    assert _metrics(url)["as_of"] == before  # not 2099-12-31
    assert before.startswith("2026-10-31T")


def test_the_range_is_a_setting(exports, tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    config = tmp_path / "turnaround.toml"
    config.write_text('[load]\nplausible_from = "2025-01-01"\nplausible_ahead_days = 0\n')
    nps = tmp_path / "old" / "nps.csv"
    nps.parent.mkdir()
    nps.write_text(
        "response_id,customer_id,responded_at,score,comment\n"
        + "".join(f"ok{i},C1,2025-02-{i + 1:02d}T00:00:00Z,9,\n" for i in range(20))
        + "old,C1,2024-12-31T00:00:00Z,9,\n"
    )
    done = cli("load", str(nps), "--warehouse", url, "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    assert json_out(done)["files"][0]["rows_quarantined"] == 1


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ('plausible_from = "someday"', "load.plausible_from must be a date such as 1970-01-01"),
        ('plausible_from = "2999-01-01"', "load.plausible_from must be a date"),
        ("plausible_from = 1899-12-31", "from 1900-01-01 to today, not datetime.date(1899"),
        ("plausible_ahead_days = -1", "load.plausible_ahead_days must be"),
    ],
)
def test_a_bad_range_setting_is_one_line_naming_the_key(tmp_path, setting, named):
    config = tmp_path / "turnaround.toml"
    config.write_text(f"[load]\n{setting}\n")
    done = cli(
        "load",
        str(tmp_path),
        "--warehouse",
        f"duckdb:///{tmp_path / 'w.duckdb'}",
        "--config",
        str(config),
    )
    assert done.returncode == 2
    assert named in done.stderr and "Traceback" not in done.stderr


def test_migrate_reports_rows_stored_out_of_range_and_keeps_them(tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    engine = get_engine(url)
    ensure_schema(engine)
    far = dt.datetime(9999, 12, 31)
    insert_rows(
        engine,
        "nps_responses",
        [
            {"response_id": "far1", "customer_id": "C1", "responded_at": far, "score": 3},
            {"response_id": "far2", "customer_id": "C2", "responded_at": far, "score": 3},
        ],
    )
    engine.dispose()
    done = cli("migrate", "--warehouse", url)
    assert done.returncode == 0, done.stderr
    assert "nps_responses.responded_at: 2 rows (e.g. far1)" in done.stdout
    report = json_out(cli("migrate", "--warehouse", url, "--json"))
    assert report["out_of_range"] == [
        {"table": "nps_responses", "column": "responded_at", "rows": 2, "example_id": "far1"}
    ]
    assert report["plausible_range"]["from"] == "1970-01-01T00:00:00"
    engine = get_engine(url)  # the rows are still there
    with engine.connect() as conn:
        count = conn.exec_driver_sql("select count(*) from nps_responses").scalar()
    engine.dispose()
    assert count == 2


def test_far_times_of_metrics_ratings_and_groups_are_reported_as_checks(tmp_path):
    """Tables without a contract (ticket metrics, ratings, groups) report their event times'
    checks as the contract tables do: in etl_run_checks, and so in ``runs --json``."""
    fixture = FIXTURES / "zendesk_airbyte" / "records.jsonl"
    records = [json.loads(line) for line in fixture.read_text().splitlines()]
    metric = next(r["data"] for r in records if r["stream"] == "ticket_metrics")
    rating = {"id": 1, "ticket_id": 145, "score": "good", "updated_at": "2024-05-28T19:44:02Z"}
    group = {"id": 7, "name": "Support", "updated_at": "2024-05-28T19:44:02Z"}
    far = [
        ("ticket_metrics", {**metric, "id": 1, "ticket_id": 900, "solved_at": "9999-12-31"}),
        ("satisfaction_ratings", rating),
        ("satisfaction_ratings", {**rating, "id": 2, "updated_at": "0001-01-01T00:00:00Z"}),
        ("groups", group),
        ("groups", {**group, "id": 8, "updated_at": "2999-01-01T00:00:00Z"}),
    ]
    path = tmp_path / "zendesk.jsonl"
    extra = [json.dumps({"stream": stream, "data": data}) for stream, data in far]
    path.write_text("\n".join([*fixture.read_text().splitlines(), *extra]) + "\n")
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    done = cli("load", str(path), "--warehouse", url, "--quarantine-limit", "0.5")
    assert done.returncode == 0, done.stderr
    assert "zendesk.jsonl ticket_metrics: 1 row(s) failed solved_at_plausible, e.g. " in done.stdout
    runs = json_out(cli("runs", "--json", "--warehouse", url))
    checks = {(c["target_table"], c["check_name"]): c for c in runs[0]["checks"]}
    failed = {key: c["failing_count"] for key, c in checks.items() if not c["success"]}
    assert failed == {
        ("ticket_metrics", "solved_at_plausible"): 1,
        ("ratings", "updated_at_plausible"): 1,
        ("groups", "updated_at_plausible"): 1,
    }
    assert checks[("ratings", "updated_at_plausible")]["example_reason"].startswith(
        "updated_at: 0001-01-01 00:00:00 is outside the plausible range 1970-01-01 00:00:00 to "
    )
    assert checks[("groups", "updated_at_plausible")]["example_reason"].startswith(
        "updated_at: 2999-01-01 00:00:00 is outside the plausible range"
    )
    assert checks[("ticket_metrics", "updated_at_plausible")]["success"]  # passing ones too
