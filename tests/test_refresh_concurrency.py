"""A nightly load while people read: readers never block a load for long, never see a
traceback, and writers take turns. Every case runs real processes on a real DuckDB file, and
synchronises on what they print: a holder holds until the test lets it go."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from pathlib import Path

import pytest

from tests.processes import (
    SAFETY_SECONDS,
    cli,
    hold_reader,
    hold_write_window,
    hold_writer_lock,
    json_out,
    start,
)
from turnaround.generate import generate

pytestmark = pytest.mark.concurrency  # make stress loops these under load

READER_WAITING = "waiting for a load to finish writing the warehouse"
WRITER_WAITING_FOR_READERS = "waiting for readers of the warehouse to finish"


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


def _load(url: str, exports, *extra: str) -> list[str]:
    return ["load", str(exports["nightly"]), "--warehouse", url, "--json", *extra]


def test_metrics_in_a_loop_and_a_load_both_succeed(url, exports, tmp_path):
    patient = tmp_path / "turnaround.toml"  # readers queued behind the merge wait it out
    patient.write_text(f"[warehouse]\nread_wait_seconds = {SAFETY_SECONDS}\n")
    tick = itertools.count()  # the order of events across the threads, instead of a clock
    runs: list[tuple[int, object, int]] = []  # (started, result, ended) of each reader
    changed, stop = threading.Condition(), threading.Event()

    def loop() -> None:  # readers back to back, as a dashboard and a cron job might
        while not stop.is_set():
            started = next(tick)
            result = _metrics(url, "--config", str(patient))
            with changed:
                runs.append((started, result, next(tick)))
                changed.notify_all()

    def wait_for_a_reader_started_after(mark: int) -> None:
        with changed:
            found = changed.wait_for(
                lambda: any(started > mark for started, _, _ in runs), timeout=SAFETY_SECONDS
            )
        assert found, "the readers stalled"

    readers = threading.Thread(target=loop)
    readers.start()
    try:
        wait_for_a_reader_started_after(-1)  # the loop is running
        # Another load's turn keeps this one waiting until the test lets it go, so a whole
        # reader surely runs while the load does, however fast either of them is.
        with hold_writer_lock(url) as other_load:
            other_load.wait_for("holding")
            load_started = next(tick)
            with start(*_load(url, exports, "--wait", str(SAFETY_SECONDS))) as loading:
                loading.wait_for("waiting for another load to finish", "stderr")
                wait_for_a_reader_started_after(next(tick))
                other_load.let_go()
                other_load.wait_for("released")
                load = loading.finish()
        load_ended = next(tick)
        wait_for_a_reader_started_after(load_ended)
    finally:
        stop.set()
        readers.join()

    assert load.returncode == 0, load.stderr
    assert json_out(load)["status"] == "succeeded" and json_out(load)["rows_loaded"] > 10_000
    during = [r for started, r, ended in runs if started > load_started and ended < load_ended]
    assert during  # readers really ran while the load did
    for _, result, _ in runs:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert json.loads(result.stdout)["kpis"]["one_touch_rate"] is not None
    after = [r for started, r, _ in runs if started > load_ended]
    first = json.loads(runs[0][1].stdout)["kpis"]
    assert json.loads(after[-1].stdout)["kpis"] != first  # readers see the load once it is in


def test_a_reader_waits_out_the_merge_and_then_answers(url):
    with hold_write_window(url) as writer:
        writer.wait_for("holding")
        with start("metrics", "--json", "--warehouse", url) as reader:
            reader.wait_for(READER_WAITING, "stderr")  # it waits instead of failing
            writer.let_go()
            writer.wait_for("released")
            result = reader.finish()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["as_of"] is not None
    assert "Traceback" not in result.stderr


def test_a_reader_gives_up_after_its_bound_with_a_sentence(url, tmp_path):
    config = tmp_path / "turnaround.toml"
    config.write_text("[warehouse]\nread_wait_seconds = 1\n")
    with hold_write_window(url) as writer:
        writer.wait_for("holding")
        result = _metrics(url, "--config", str(config))
        writer.let_go()
        writer.wait_for("released")
    assert result.returncode == 1
    assert "a load has held the warehouse for more than 1 s" in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"  # --json: one object, even now
    assert "Traceback" not in result.stderr


def test_a_load_waits_for_a_running_reader_instead_of_failing(url, exports):
    with hold_reader(url) as reader:
        reader.wait_for("in")
        with start(*_load(url, exports)) as loading:
            loading.wait_for(WRITER_WAITING_FOR_READERS, "stderr")
            reader.let_go()
            reader.wait_for("out")  # the reader kept its connection and finished its query
            load = loading.finish()
    assert load.returncode == 0, load.stderr
    assert json_out(load)["status"] == "succeeded"


def test_a_waiting_writer_goes_before_new_readers(url):
    # Each holder prints its waits on stdout before it holds, so the order of its lines says
    # whether it had to wait.
    with hold_reader(url) as first_reader:
        assert first_reader.next_line() == "in"
        with hold_write_window(url) as writer:
            assert writer.next_line() == "asking"
            assert writer.next_line() == WRITER_WAITING_FOR_READERS  # the reader already in
            with hold_reader(url) as second_reader:
                assert second_reader.next_line() == READER_WAITING  # behind the waiting writer
                first_reader.let_go()
                assert first_reader.next_line() == "out"
                assert writer.next_line() == "holding"
                writer.let_go()
                assert writer.next_line() == "released"
                assert second_reader.next_line() == "in"  # only once the writer has finished
                second_reader.let_go()
                assert second_reader.next_line() == "out"


def test_a_second_load_waits_its_turn(url, exports):
    with hold_writer_lock(url) as holder:
        holder.wait_for("holding")
        with start(*_load(url, exports, "--wait", str(SAFETY_SECONDS))) as second:
            second.wait_for("waiting for another load to finish", "stderr")
            holder.let_go()
            holder.wait_for("released")
            load = second.finish()  # it waited, then ran once the first load let go
    assert load.returncode == 0, load.stderr
    assert json_out(load)["status"] == "succeeded"


def test_a_second_load_is_refused_after_its_wait_and_recorded(url, exports):
    with hold_writer_lock(url) as holder:
        holder.wait_for("holding")  # and holds until it is let go, below
        refused = cli(*_load(url, exports, "--wait", "1"))
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
        holder.let_go()
        holder.wait_for("released")
    # ...and the next load moves it into etl_runs.
    assert cli("load", str(exports["nightly"]), "--warehouse", url).returncode == 0
    listed = json.loads(cli("runs", "--json", "--warehouse", url).stdout)
    refusals = [r for r in listed if r["status"] == "refused"]
    assert [(r["batch_id"], r.get("journal")) for r in refusals] == [(report["batch_id"], None)]
