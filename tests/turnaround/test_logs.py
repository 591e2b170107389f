"""Log lines a scheduler keeps: one event is one line, whatever a file's name holds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import sqlalchemy as sa

from tests.etl.test_inbox import _arrive, _nps
from tests.processes import cli, json_out

LINE_START = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR) turnaround\.")
FORGED = "2026-12-07T00:00:00Z INFO turnaround.load: run forged succeeded"


def _log_lines(stderr: str) -> list[str]:
    """The standard error of a command that fails: its log lines, then ``error: ...``."""
    lines = stderr.splitlines()
    if "error: " in stderr:
        lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("error: "))]
    return lines


def test_a_newline_in_a_file_name_forges_no_log_line(tmp_path):
    loaded = tmp_path / f"nps\n{FORGED}.csv"
    loaded.write_text(_nps(2))
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    done = cli("load", str(loaded), "--warehouse", url)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(LINE_START.match(line) for line in lines), lines
    assert any(f"nps\\n{FORGED}.csv: canonical_nps_csv, 2 rows read" in line for line in lines)


def test_a_refused_file_with_a_newline_in_its_name_is_one_line_in_the_message(tmp_path):
    refused = tmp_path / "notes\nfake.csv"
    refused.write_text("hello\n")
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    done = cli("load", str(refused), "--warehouse", url, "--json")
    assert done.returncode == 1
    message = json_out(done)["message"]
    assert message.startswith(f"{tmp_path}/notes\\nfake.csv: matches no export format")
    assert "\nfake.csv" not in message


def test_the_inbox_logs_one_line_per_event(tmp_path):
    inbox = tmp_path / "inbox"
    _arrive(inbox / "bad\nERROR turnaround.inbox: forged.csv", "hello\n")
    _arrive(inbox / "nps.csv", _nps(2))
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    done = cli("load", "--inbox", str(inbox), "--warehouse", url)
    assert done.returncode == 1  # the bad file failed
    lines = _log_lines(done.stderr)
    assert all(LINE_START.match(line) for line in lines), lines
    (refusal,) = [line for line in lines if "refused, moved to" in line]
    assert refusal.startswith(
        refusal[:20] + " ERROR turnaround.inbox: bad\\nERROR turnaround.inbox"
    )
    assert "matches no export format Turnaround reads\\nExpected one of:\\n  - " in refusal
    assert Path(inbox / "failed" / "bad\nERROR turnaround.inbox: forged.csv").exists()
    # The outcome lines on standard output escape the name too (rich wraps them at 140).
    outcomes = done.stdout.splitlines()
    assert outcomes[0].startswith("bad\\nERROR turnaround.inbox: forged.csv: failed (")
    assert not [line for line in outcomes if line.startswith("ERROR turnaround.inbox: forged")]


def test_a_file_name_that_is_not_utf8_loads_and_is_stored_escaped(tmp_path):
    """Linux allows any bytes in a name; Python holds the ones UTF-8 does not decode as lone
    surrogates. The name is stored and printed with them escaped, never a traceback."""
    name = os.fsdecode(b"nps_\xe9t\xe9.csv")
    assert name == "nps_\udce9t\udce9.csv"
    loaded = tmp_path / name
    loaded.write_text(_nps(2))
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    done = cli("load", str(loaded), "--warehouse", url, "--json")
    assert done.returncode == 0, done.stderr
    assert json_out(done)["status"] == "succeeded"
    shown = f"{tmp_path}/nps_\\udce9t\\udce9.csv"
    assert f"{shown}: canonical_nps_csv, 2 rows read" in done.stderr
    assert "Logging error" not in done.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select distinct source_file from nps_responses")).all()
    engine.dispose()
    assert stored == [(shown,)]
    again = cli("load", str(loaded), "--warehouse", url)  # known by its stored name
    assert again.returncode == 0, again.stderr
    assert "1 file(s) skipped" in again.stdout or "already loaded" in again.stdout, again.stdout

    refused = tmp_path / os.fsdecode(b"notes_\xe9.csv")
    refused.write_text("hello\n")
    failed = cli("load", str(refused), "--warehouse", url, "--json")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert json_out(failed)["message"].startswith(f"{tmp_path}/notes_\\udce9.csv: matches no")

    inbox = tmp_path / "inbox"
    _arrive(inbox / os.fsdecode(b"r\xe9ponses.csv"), _nps(2, first_id=50))
    done = cli("load", "--inbox", str(inbox), "--warehouse", url)
    assert done.returncode == 0, done.stderr
    assert "r\\udce9ponses.csv: succeeded" in done.stdout
    assert (inbox / "processed" / os.fsdecode(b"r\xe9ponses.csv")).exists()
