"""A nightly load while people read: readers never block a load for long, never see a
traceback, and writers take turns. Every case runs real processes on a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.processes import (
    cli,
    hold_reader,
    hold_write_window,
    hold_writer_lock,
    json_out,
    stamp,
    wait_for_line,
)
from turnaround.generate import generate


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """A small company already loaded into a warehouse, and a larger export to load next."""
    root = tmp_path_factory.mktemp("exports")
    first = root / "first"
    generate(first, customers=300, seed=3, fmt="canonical")
    nightly = root / "nightly"
    generate(nightly, customers=3000, seed=4, fmt="canonical")
    warehouse = root / "base.duckdb"
    loaded = cli("load", str(first), "--warehouse", f"duckdb:///{warehouse}")
    assert loaded.returncode == 0, loaded.stderr
    return {"warehouse": warehouse, "nightly": nightly}


@pytest.fixture
def url(exports, tmp_path) -> str:
    """A warehouse of this test's own, holding the small company."""
    path = tmp_path / "turnaround.duckdb"
    shutil.copy(exports["warehouse"], path)
    return f"duckdb:///{path}"


def _metrics(url: str, *extra: str):
    return cli("metrics", "--json", "--warehouse", url, *extra)


def test_metrics_in_a_loop_and_a_load_both_succeed(url, exports):
    results, stop = [], threading.Event()

    def loop():
        while not stop.is_set():
            started = time.time()
            results.append((started, _metrics(url), time.time()))

    reader = threading.Thread(target=loop)
    reader.start()
    time.sleep(1.5)  # the loop is running
    load_started = time.time()
    load = cli("load", str(exports["nightly"]), "--warehouse", url, "--json")
    load_ended = time.time()
    time.sleep(2.5)  # runs that start after the load ended
    stop.set()
    reader.join()

    assert load.returncode == 0, load.stderr
    assert json_out(load)["status"] == "succeeded" and json_out(load)["rows_loaded"] > 10_000
    during = [r for started, r, ended in results if started < load_ended and ended > load_started]
    assert len(during) >= 2  # readers really ran while the load did
    for _, result, _ in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert json.loads(result.stdout)["kpis"]["one_touch_rate"] is not None
    after = [r for started, r, _ in results if started > load_ended]
    assert after, "no reader started after the load"
    first = json.loads(results[0][1].stdout)["kpis"]
    assert json.loads(after[-1].stdout)["kpis"] != first  # readers see the load once it is in


def test_a_reader_waits_out_the_merge_and_then_answers(url):
    writer = hold_write_window(url, seconds=5)  # longer than a reader's start-up, even slow
    holding = stamp(wait_for_line(writer, "holding"))
    result = _metrics(url)
    answered = time.time()
    released = stamp(wait_for_line(writer, "released"))
    writer.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] is not None
    assert answered > released > holding  # it waited instead of failing
    assert "waiting for a load to finish writing the warehouse" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_reader_gives_up_after_its_bound_with_a_sentence(url, tmp_path):
    config = tmp_path / "turnaround.toml"
    config.write_text("[warehouse]\nread_wait_seconds = 1\n")
    writer = hold_write_window(url, seconds=6)
    wait_for_line(writer, "holding")
    result = _metrics(url, "--config", str(config))
    writer.wait(timeout=30)
    assert result.returncode == 1
    assert "a load has held the warehouse for more than 1 s" in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"  # --json: one object, even now
    assert "Traceback" not in result.stderr


def test_a_load_waits_for_a_running_reader_instead_of_failing(url, exports):
    reader = hold_reader(url, seconds=3)
    reader_in = stamp(wait_for_line(reader, "in"))
    load = cli("load", str(exports["nightly"]), "--warehouse", url, "--json")
    reader_out = stamp(wait_for_line(reader, "out"))
    reader.wait(timeout=30)
    assert load.returncode == 0, load.stderr
    report = json_out(load)
    assert report["status"] == "succeeded"
    assert reader_in < reader_out  # the reader kept its connection and finished its query


def test_a_waiting_writer_goes_before_new_readers(url):
    first_reader = hold_reader(url, seconds=2.5)
    first_in = stamp(wait_for_line(first_reader, "in"))
    writer = hold_write_window(url, seconds=1.5)
    wait_for_line(writer, "asking")
    time.sleep(0.5)  # the writer is queued behind the first reader
    second_reader = hold_reader(url, seconds=0)
    first_out = stamp(wait_for_line(first_reader, "out"))
    holding = stamp(wait_for_line(writer, "holding"))
    released = stamp(wait_for_line(writer, "released"))
    second_in = stamp(wait_for_line(second_reader, "in"))
    for process in (first_reader, writer, second_reader):
        process.wait(timeout=30)
    assert first_in < first_out <= holding  # the writer waited for the reader already in
    assert second_in >= released  # the reader that came later waited behind the writer


def test_a_second_load_waits_its_turn(url, exports):
    holder = hold_writer_lock(url, seconds=2)
    holding = stamp(wait_for_line(holder, "holding"))
    load = cli("load", str(exports["nightly"]), "--warehouse", url, "--wait", "60", "--json")
    released = stamp(wait_for_line(holder, "released"))
    holder.wait(timeout=30)
    assert load.returncode == 0, load.stderr
    report = json_out(load)
    assert report["status"] == "succeeded"
    ended = dt.datetime.fromisoformat(report["ended_at"]).replace(tzinfo=dt.UTC).timestamp()
    assert ended > released > holding  # it waited, then ran once the first load let go


def test_a_second_load_is_refused_after_its_wait_and_recorded(url, exports):
    holder = hold_writer_lock(url, seconds=4)
    wait_for_line(holder, "holding")
    refused = cli("load", str(exports["nightly"]), "--warehouse", url, "--wait", "1", "--json")
    assert refused.returncode == 1
    report = json_out(refused)
    assert report["status"] == "refused"
    assert f"another load is running (pid {holder.pid}" in report["message"]
    assert f"another load is running (pid {holder.pid}" in refused.stderr
    assert "Traceback" not in refused.stderr

    # While the first load still runs, `runs` shows the refusal from the journal...
    listed = json.loads(cli("runs", "--json", "--warehouse", url).stdout)
    assert [(r["batch_id"], r.get("journal")) for r in listed if r["status"] == "refused"] == [
        (report["batch_id"], True)
    ]
    holder.wait(timeout=30)
    # ...and the next load moves it into etl_runs.
    assert cli("load", str(exports["nightly"]), "--warehouse", url).returncode == 0
    listed = json.loads(cli("runs", "--json", "--warehouse", url).stdout)
    refusals = [r for r in listed if r["status"] == "refused"]
    assert [(r["batch_id"], r.get("journal")) for r in refusals] == [(report["batch_id"], None)]
