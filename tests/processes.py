"""Real processes for the tests: the ``turnaround`` command, and small Python programs that
hold the warehouse the way a load or a reader does, printing what they do with a timestamp."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TURNAROUND = str(BIN / "turnaround")


def cli(*args: str, timeout: float = 180, **kwargs) -> subprocess.CompletedProcess:
    """Run ``turnaround ARGS`` to the end; stdout and stderr as text."""
    return subprocess.run(
        [TURNAROUND, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def spawn_python(code: str) -> subprocess.Popen:
    """A Python program in a process of its own; its stdout is line-buffered text."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )


def wait_for_line(process: subprocess.Popen, starts_with: str, timeout: float = 60) -> str:
    """Read the process's stdout until a line starts with ``starts_with``; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(starts_with):
            return line.strip()
        if not line and process.poll() is not None:
            raise AssertionError(f"process ended before {starts_with!r}: {process.stderr.read()}")
    raise AssertionError(f"no {starts_with!r} line within {timeout} s")


def stamp(line: str) -> float:
    """The timestamp at the end of a ``word <time.time()>`` line."""
    return float(line.split()[-1])


def hold_write_window(url: str, seconds: float) -> subprocess.Popen:
    """A process that holds the write window (as a load's merge does) for ``seconds``.
    It prints ``asking T``, ``holding T`` and ``released T``."""
    return spawn_python(
        f"""
        import time
        from warehouse.access import Warehouse
        warehouse = Warehouse.at({url!r})
        print("asking", time.time(), flush=True)
        with warehouse.write(60) as conn:
            print("holding", time.time(), flush=True)
            time.sleep({seconds})
        print("released", time.time(), flush=True)
        """
    )


def hold_writer_lock(url: str, seconds: float) -> subprocess.Popen:
    """A process that holds the writer lock (as a running load does); prints ``holding T``."""
    return spawn_python(
        f"""
        import time
        from warehouse.access import Warehouse
        with Warehouse.at({url!r}).writer_lock(60, "turnaround load"):
            print("holding", time.time(), flush=True)
            time.sleep({seconds})
        print("released", time.time(), flush=True)
        """
    )


def hold_reader(url: str, seconds: float) -> subprocess.Popen:
    """A process that keeps a read connection open (a long metrics query) for ``seconds``.
    It prints ``in T`` once connected and ``out T`` once closed."""
    return spawn_python(
        f"""
        import time
        import sqlalchemy as sa
        from warehouse.access import Warehouse
        engine = Warehouse.at({url!r}).reader()
        with engine.connect() as conn:
            conn.execute(sa.text("select count(*) from tickets")).scalar()
            print("in", time.time(), flush=True)
            time.sleep({seconds})
        print("out", time.time(), flush=True)
        """
    )


def json_out(result: subprocess.CompletedProcess):
    return json.loads(result.stdout)


def hold_flock(path: Path, user: str | None = None) -> subprocess.Popen:
    """A process that opens ``path`` read-only, as any user who can read it may, and holds an
    exclusive flock on it until its standard input closes. It prints ``holding`` once it
    holds the lock, or ``refused <reason>`` when it cannot open the file. ``user``: run as
    that user (``runuser``; the tests must run as root)."""
    code = textwrap.dedent(
        """
        import fcntl, os, sys
        try:
            fd = os.open(sys.argv[1], os.O_RDONLY)
        except OSError as exc:
            print("refused", exc.strerror, flush=True)
            sys.exit(0)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("holding", flush=True)
        sys.stdin.read()
        """
    )
    python = sys.executable
    if user is not None:  # the suite's Python may sit in a folder that user cannot enter
        python = shutil.which("python3", path="/usr/bin:/bin") or python
    command = [python, "-I", "-c", code, str(path)]
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
