"""``turnaround load --inbox DIR``: one run per arrival, moved to processed/ or failed/, files
still being written left for the next run, a file seen before skipped and recorded."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline import load
from etl.pipeline.inbox import run_inbox
from etl.pipeline.load import LoadOptions
from tests.conftest import FIXTURES
from tests.processes import cli, json_out
from warehouse import Warehouse

NPS_HEADER = "response_id,customer_id,responded_at,score,comment\n"


def _arrive(path: Path, text: str, age_seconds: float = 86_400) -> Path:
    """A file that arrived ``age_seconds`` ago (older than the settle time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def _nps(rows: int, bad: int = 0, first_id: int = 0) -> str:
    good = [f"r{first_id + i},c{i},2024-02-01,9,ok" for i in range(rows)]
    broken = [f"b{first_id + i},c{i},2024-02-01,eleven,not a score" for i in range(bad)]
    return NPS_HEADER + "\n".join(good + broken) + "\n"


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_every_arrival_is_a_run_of_its_own_and_moves_when_done(any_warehouse_url, inbox):
    _arrive(inbox / "nps-1.csv", _nps(5))
    _arrive(inbox / "nps-2.csv", _nps(40, bad=10, first_id=100))  # 20% bad: over 10%
    _arrive(inbox / "not-an-export.txt", "hello\n")
    zendesk = inbox / "2024-02-02"  # a folder: its files belong together
    _arrive(
        zendesk / "tickets.json",
        (FIXTURES / "real/zendesk_api_tickets_page_offset.json").read_text(),
    )
    _arrive(zendesk / "users.json", (FIXTURES / "real/zendesk_api_users_page.json").read_text())
    _arrive(inbox / "nps-3.csv.part", _nps(3))  # still being written
    _arrive(inbox / "nps-4.csv", _nps(2, first_id=200), age_seconds=0)  # changed just now

    # an hour: "just now" stays unsettled however slowly this test runs
    run = run_inbox(Warehouse.at(any_warehouse_url), inbox, LoadOptions(), settle_seconds=3600)

    outcomes = {o.entry: o.report.status for o in run.outcomes}
    assert outcomes == {
        "2024-02-02": "succeeded",
        "nps-1.csv": "succeeded",
        "nps-2.csv": "failed",
        "not-an-export.txt": "failed",
    }
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["2024-02-02", "nps-1.csv"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == [
        "not-an-export.txt",
        "not-an-export.txt.reason.txt",
        "nps-2.csv",
        "nps-2.csv.reason.txt",
    ]
    reason = (inbox / "failed" / "nps-2.csv.reason.txt").read_text()
    assert (
        "10 of 50 rows (20%) failed their checks, more than the quarantine limit of 10%" in reason
    )
    assert "matches no export format" in (inbox / "failed/not-an-export.txt.reason.txt").read_text()
    assert sorted(w["entry"] for w in run.waiting) == ["nps-3.csv.part", "nps-4.csv"]
    assert (inbox / "nps-3.csv.part").exists() and (inbox / "nps-4.csv").exists()

    engine = Warehouse.at(any_warehouse_url).writer()
    with engine.connect() as conn:
        runs = conn.execute(sa.text("select status, files from etl_runs")).all()
        tickets = conn.execute(sa.text("select count(*) from tickets")).scalar()
        responses = conn.execute(sa.text("select count(*) from nps_responses")).scalar()
    engine.dispose()
    assert sorted(runs) == [("failed", 1), ("failed", 1), ("succeeded", 1), ("succeeded", 2)]
    assert tickets == 91 and responses == 5  # nothing of the refused file loaded


def test_a_file_seen_before_is_skipped_recorded_and_moved(any_warehouse_url, inbox):
    warehouse = Warehouse.at(any_warehouse_url)
    _arrive(inbox / "nps.csv", _nps(5))
    run_inbox(warehouse, inbox, LoadOptions())
    _arrive(inbox / "nps-again.csv", _nps(5))  # the same content under another name
    run = run_inbox(warehouse, inbox, LoadOptions())
    (outcome,) = run.outcomes
    assert outcome.report.status == "skipped"
    assert outcome.report.skipped_files[0]["loaded_as"].endswith("nps.csv")
    assert Path(outcome.moved_to).parent.name == "processed"
    with warehouse.writer().connect() as conn:
        statuses = list(conn.execute(sa.text("select status from etl_runs order by started_at")))
    warehouse.dispose()
    assert [s for (s,) in statuses] == ["succeeded", "skipped"]


def test_the_inbox_from_the_command_line(tmp_path, inbox):
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    _arrive(inbox / "nps.csv", _nps(5))
    first = cli("load", "--inbox", str(inbox), "--warehouse", url, "--json")
    assert first.returncode == 0, first.stderr
    report = json_out(first)
    assert report["status"] == "succeeded"
    assert report["runs"][0]["entry"] == "nps.csv" and report["runs"][0]["rows_loaded"] == 5
    # Plain timestamped log lines when standard output is not a terminal.
    assert any(
        line[:4].isdigit() and line[10] == "T" and " INFO turnaround.load: " in line
        for line in first.stderr.splitlines()
    ), first.stderr

    _arrive(inbox / "bad.csv", _nps(1, bad=5))
    failed = cli("load", "--inbox", str(inbox), "--warehouse", url)
    assert failed.returncode == 1
    assert "bad.csv: failed" in failed.stdout
    assert (inbox / "failed" / "bad.csv.reason.txt").exists()


def test_the_contract_results_of_every_run_are_kept(any_warehouse_url, inbox):
    _arrive(inbox / "nps.csv", _nps(30, bad=2))  # 2 of 32: under the limit
    run_inbox(Warehouse.at(any_warehouse_url), inbox, LoadOptions())
    engine = Warehouse.at(any_warehouse_url).writer()
    with engine.connect() as conn:
        checks = {
            r.check_name: (r.success, r.failing_count, r.example_reason)
            for r in conn.execute(sa.text("select * from etl_run_checks"))
        }
    engine.dispose()
    assert checks["record_is_readable"] == (False, 2, "score: 'eleven' is not an integer")
    assert checks["score_between"] == (True, 0, None)
    assert checks["response_id_not_null"] == (True, 0, None)
    assert set(checks) >= {"customer_id_not_null", "responded_at_not_null", "score_not_null"}


def test_runs_json_shows_each_runs_files_and_checks(tmp_path, inbox):
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    _arrive(inbox / "nps.csv", _nps(30, bad=1))
    assert cli("load", "--inbox", str(inbox), "--warehouse", url).returncode == 0
    (run,) = json.loads(cli("runs", "--json", "--warehouse", url).stdout)
    assert run["status"] == "succeeded" and run["files"] == 1
    (file_result,) = run["file_results"]
    assert (file_result["rows_read"], file_result["rows_quarantined"]) == (31, 1)
    failing = [c for c in run["checks"] if not c["success"]]
    assert [(c["check_name"], c["failing_count"]) for c in failing] == [("record_is_readable", 1)]


def test_a_terminal_gets_a_progress_bar_with_rows_per_second(tmp_path):
    import pty
    import subprocess
    import threading

    from tests.processes import SAFETY_SECONDS, TURNAROUND

    nps = tmp_path / "nps.csv"
    nps.write_text(_nps(50))
    leader, follower = pty.openpty()
    shown: list[bytes] = []

    def drain():
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    done = subprocess.run(
        [TURNAROUND, "load", str(nps), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}"],
        stdout=follower,
        stderr=subprocess.PIPE,
        text=True,
        timeout=SAFETY_SECONDS,
    )
    os.close(follower)
    reader.join(timeout=SAFETY_SECONDS)  # it ends once the terminal closes: all is read
    os.close(leader)
    terminal = b"".join(shown).decode(errors="replace")
    assert done.returncode == 0
    assert "rows/s" in terminal and "Run succeeded" in terminal
    assert " INFO turnaround.load: " not in done.stderr  # coloured lines, not plain ones


def test_a_folder_of_hidden_files_waits_and_blocks_nothing(any_warehouse_url, inbox):
    _arrive(inbox / "a-folder" / ".DS_Store", "junk")
    _arrive(inbox / "nps.csv", _nps(3))
    run = run_inbox(Warehouse.at(any_warehouse_url), inbox, LoadOptions())
    assert [(o.entry, o.report.status) for o in run.outcomes] == [("nps.csv", "succeeded")]
    assert [w["entry"] for w in run.waiting] == ["a-folder"]


def test_the_inbox_never_follows_a_link_and_keeps_reasons_private(tmp_path, inbox):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    salaries = private / "salaries.csv"
    salaries.write_text("ticket_id,customer_id,created_at,salary_of_the_ceo\n1,c1,2024-01-01,9\n")
    salaries.chmod(0o600)
    survey = _arrive(private / "survey.csv", _nps(4, first_id=500))
    (inbox / "salaries.csv").symlink_to(salaries)
    (inbox / "survey.csv").symlink_to(survey)
    (inbox / "shadow").symlink_to("/etc/shadow")
    (inbox / "gone.csv").symlink_to(tmp_path / "no-such-file.csv")
    _arrive(inbox / "night" / "nps.csv", _nps(2, first_id=900))
    (inbox / "night" / "more.csv").symlink_to(survey)  # a folder holding a link
    _arrive(inbox / "nps.csv", _nps(3))
    _arrive(inbox / "broken.csv", "ticket_id,customer_id,created_at,secret_column\n1,c1,x,y\n")
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"

    done = cli("load", "--inbox", str(inbox), "--warehouse", url, "--json")
    assert done.returncode == 1, done.stderr  # the links failed
    runs = {r["entry"]: r for r in json_out(done)["runs"]}
    assert {entry: r["status"] for entry, r in runs.items()} == {
        "broken.csv": "failed",
        "gone.csv": "failed",
        "night": "failed",
        "nps.csv": "succeeded",
        "salaries.csv": "failed",
        "shadow": "failed",
        "survey.csv": "failed",
    }
    assert runs["salaries.csv"]["message"] == (
        "salaries.csv is a symbolic link: the inbox reads only files put into it, never what a "
        "link points to; copy the file in, or load it by name (turnaround load PATH)"
    )
    assert runs["night"]["message"].startswith("night holds a symbolic link (night/more.csv):")
    failed = inbox / "failed"
    assert (failed / "shadow").is_symlink() and (failed / "salaries.csv").is_symlink()
    reasons = sorted(failed.glob("*.reason.txt"))
    assert len(reasons) == 6
    for reason in reasons:
        text = reason.read_text()
        assert "salary_of_the_ceo" not in text and "root:" not in text
        assert stat.S_IMODE(reason.stat().st_mode) == 0o600, reason
    assert "secret_column" in (failed / "broken.csv.reason.txt").read_text()
    assert salaries.read_text().startswith("ticket_id,") and survey.exists()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ids = sorted(conn.execute(sa.text("select response_id from nps_responses")).scalars())
    engine.dispose()
    assert ids == ["r0", "r1", "r2"]  # nothing of the linked survey, nor of the folder

    # Named on the command line, a link is what the user asked for: it loads.
    named = cli("load", str(failed / "survey.csv"), "--warehouse", url, "--json")
    assert named.returncode == 0, named.stderr
    assert json_out(named)["status"] == "succeeded"


def test_a_failed_folder_that_is_a_link_is_not_written_through(tmp_path, inbox):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (inbox / "failed").symlink_to(elsewhere)
    _arrive(inbox / "broken.csv", "hello\n")
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    done = cli("load", "--inbox", str(inbox), "--warehouse", url)
    assert done.returncode == 1
    assert f"{inbox / 'failed'} is a symbolic link; make it a folder" in done.stderr
    assert list(elsewhere.iterdir()) == [] and (inbox / "broken.csv").exists()


@pytest.mark.parametrize("entry", ["nps.csv", "night/nps.csv"])
def test_a_link_swapped_in_after_the_inbox_looked_is_refused_unread(tmp_path, inbox, entry):
    """The inbox looks for links before a run, and the run opens the entry without following
    one: a file replaced by a link in between (here: as the run starts, the step that lists
    its files) is refused, and nothing of what it points to is loaded or quoted."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    survey = _arrive(private / "survey.csv", _nps(4, first_id=500))
    arrived = _arrive(inbox / entry, _nps(3))
    real_expand = load.expand

    def swapped_then_expand(paths, *args, **kwargs):
        arrived.unlink()
        arrived.symlink_to(survey)
        return real_expand(paths, *args, **kwargs)

    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(load, "expand", swapped_then_expand)
        run = run_inbox(Warehouse.at(url), inbox, LoadOptions(), settle_seconds=0)
    [outcome] = run.outcomes
    assert outcome.report.status == "failed"
    assert "became a symbolic link after the run listed it" in outcome.report.message
    assert str(survey) not in outcome.report.message
    assert outcome.moved_to == str(inbox / "failed" / entry.split("/")[0])
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # the failed first run made no table
        assert not sa.inspect(conn).has_table("nps_responses")
    engine.dispose()
