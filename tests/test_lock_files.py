"""The lock files beside a DuckDB warehouse: no more open than the warehouse file, and a load
never waits on any of them longer than its ``--wait``. The other holder is a real process
that opened the lock file read-only, as any user who can read the file may."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.etl.test_inbox import _nps
from tests.processes import cli, hold_flock, json_out

LOCKS = ("writer", "queue", "readers")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own are the owner's only)."""
    made = Path(tempfile.mkdtemp(prefix="turnaround-locks-"))
    made.chmod(0o755)
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture
def loaded(folder) -> tuple[str, Path]:
    """A warehouse with one run in it, its lock folder made, and the next export."""
    (folder / "first.csv").write_text(_nps(3))
    (folder / "next.csv").write_text(_nps(3, first_id=100))
    url = f"duckdb:///{folder / 'turnaround.duckdb'}"
    done = cli("load", str(folder / "first.csv"), "--warehouse", url)
    assert done.returncode == 0, done.stderr
    return url, folder


def _umask_zero() -> None:
    os.umask(0)


def test_lock_files_are_no_more_open_than_the_warehouse_whatever_the_umask(loaded):
    url, folder = loaded
    database, locks = folder / "turnaround.duckdb", folder / "turnaround.duckdb.locks"
    for mode, folder_mode in ((0o600, 0o700), (0o640, 0o750)):
        database.chmod(mode)
        done = cli("load", str(folder / "next.csv"), "--warehouse", url, preexec_fn=_umask_zero)
        assert done.returncode == 0, done.stderr
        assert {name: _mode(locks / name) for name in LOCKS} == dict.fromkeys(LOCKS, mode)
        assert _mode(locks) == folder_mode


def _umask_022() -> None:
    os.umask(0o022)


def test_the_first_load_leaves_the_lock_files_as_open_as_the_new_warehouse(folder):
    """The locks are made before the warehouse file is: they follow it once it exists."""
    (folder / "first.csv").write_text(_nps(3))
    url = f"duckdb:///{folder / 'turnaround.duckdb'}"
    done = cli("load", str(folder / "first.csv"), "--warehouse", url, preexec_fn=_umask_022)
    assert done.returncode == 0, done.stderr
    locks = folder / "turnaround.duckdb.locks"
    assert _mode(folder / "turnaround.duckdb") == 0o644
    assert {name: _mode(locks / name) for name in LOCKS} == dict.fromkeys(LOCKS, 0o644)
    assert _mode(locks) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the other user with runuser, as root")
def test_another_user_can_read_a_new_open_warehouse_after_its_first_load(folder):
    (folder / "first.csv").write_text(_nps(3))
    url = f"duckdb:///{folder / 'turnaround.duckdb'}"
    done = cli("load", str(folder / "first.csv"), "--warehouse", url, preexec_fn=_umask_022)
    assert done.returncode == 0, done.stderr
    other = hold_flock(folder / "turnaround.duckdb.locks" / "readers", user="nobody")
    line = other.stdout.readline().strip()
    other.stdin.close()
    other.wait(timeout=30)
    assert line == "holding", other.stderr.read()


@pytest.mark.parametrize("lock", LOCKS)
def test_a_load_gives_up_after_its_wait_on_any_lock(loaded, lock):
    url, folder = loaded
    holder = hold_flock(folder / "turnaround.duckdb.locks" / lock)
    try:
        assert holder.stdout.readline() == "holding\n", holder.stderr.read()
        # The guard is far below the 60 s a reader waits by default: --wait must bound it.
        refused = cli(
            "load",
            str(folder / "next.csv"),
            "--warehouse",
            url,
            "--wait",
            "1",
            "--json",
        )
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert refused.returncode == 1, refused.stderr
    report = json_out(refused)
    if lock == "writer":
        assert report["status"] == "refused"
        assert report["message"].startswith(
            f"another process holds {folder}/turnaround.duckdb.locks/writer (it is no load: a "
            "load writes its pid there); waited 1 s"
        )
    else:
        assert report["status"] == "failed"
        assert report["message"].startswith("a load has held the warehouse for more than 1 s")
    assert "Traceback" not in refused.stderr
    again = cli("load", str(folder / "next.csv"), "--warehouse", url, "--json")
    assert again.returncode == 0, again.stderr  # nothing of the refused run stays in the way
    assert json_out(again)["status"] == "succeeded"


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the other user with runuser, as root")
def test_another_user_cannot_hold_the_locks_of_a_private_warehouse(loaded):
    url, folder = loaded
    (folder / "turnaround.duckdb").chmod(0o600)
    assert cli("runs", "--warehouse", url).returncode == 0  # any use sets the lock files' mode
    for lock in LOCKS:
        other = hold_flock(folder / "turnaround.duckdb.locks" / lock, user="nobody")
        line = other.stdout.readline().strip()
        other.stdin.close()
        other.wait(timeout=30)
        assert line == "refused Permission denied", (lock, line, other.stderr.read())


def test_the_inbox_records_a_link_it_refused_within_its_wait(loaded):
    """The failed run of a refused link is recorded under --wait too: with the warehouse
    kept busy and --wait 0, it goes to the journal at once. Waiting the 30 s a failed run's
    record may wait would print the notice of a wait (after 1 s) first."""
    url, folder = loaded
    inbox = folder / "inbox"
    inbox.mkdir()
    (inbox / "next.csv").symlink_to(folder / "next.csv")
    holder = hold_flock(folder / "turnaround.duckdb.locks" / "readers")
    try:
        assert holder.stdout.readline() == "holding\n", holder.stderr.read()
        done = cli("load", "--inbox", str(inbox), "--warehouse", url, "--wait", "0")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert done.returncode == 1, done.stderr
    assert "waiting for" not in done.stderr
    assert "next.csv: failed" in done.stdout and (inbox / "failed" / "next.csv").is_symlink()
    runs = json_out(cli("runs", "--json", "--warehouse", url))
    assert runs[0]["status"] == "failed"  # from the journal, moved in by this command
    assert runs[0]["message"].startswith("next.csv is a symbolic link")
