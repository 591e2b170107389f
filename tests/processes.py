"""Real processes for the tests: the ``turnaround`` command, and small Python programs that
hold the warehouse the way a load or a reader does.

Tests synchronise on what a process prints (a line on its stdout or stderr), never on sleeps
or the clock: a holder prints ``holding`` (or ``in``) once it holds, and holds until the test
lets it go (``let_go()`` writes a line to its stdin). ``SAFETY_SECONDS`` only stops a test that
would otherwise hang; no test waits that long to pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

BIN = Path(sys.executable).parent
TURNAROUND = str(BIN / "turnaround")
SAFETY_SECONDS = 600  # a hung process fails its test after this; a loaded machine needs room


def cli(*args: str, timeout: float = SAFETY_SECONDS, **kwargs) -> subprocess.CompletedProcess:
    """Run ``turnaround ARGS`` to the end; stdout and stderr as text."""
    return subprocess.run(
        [TURNAROUND, *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


class Running:
    """A process a test runs beside itself and reads line by line as it prints.

    A thread per stream moves each line into a queue as it comes, so ``wait_for`` returns as
    soon as the line is there and fails (after ``SAFETY_SECONDS``, or when the stream ends)
    instead of hanging. Use it as a context manager: on leaving, a process still running is
    killed.
    """

    def __init__(self, args: list[str], **kwargs) -> None:
        self.args = args
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )
        self.pid = self.process.pid
        self.seen: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._lines: dict[str, queue.SimpleQueue] = {n: queue.SimpleQueue() for n in self.seen}
        self._ended: set[str] = set()
        self._pumps = [
            threading.Thread(target=_pump, args=(getattr(self.process, n), q), daemon=True)
            for n, q in self._lines.items()
        ]
        for pump in self._pumps:
            pump.start()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def next_line(self, stream: str = "stdout") -> str:
        """The next line the process prints on ``stream``; fails when the stream ends first."""
        if stream in self._ended:
            raise AssertionError(self._describe(f"{stream} ended before the line awaited"))
        try:
            line = self._lines[stream].get(timeout=SAFETY_SECONDS)
        except queue.Empty:
            raise AssertionError(
                self._describe(f"no line on {stream} within {SAFETY_SECONDS} s")
            ) from None
        if line is None:
            self._ended.add(stream)
            raise AssertionError(self._describe(f"{stream} ended before the line awaited"))
        self.seen[stream].append(line)
        return line

    def wait_for(self, text: str, stream: str = "stdout") -> str:
        """Read ``stream`` on to the first line containing ``text``; return that line."""
        while text not in (line := self.next_line(stream)):
            pass
        return line

    def let_go(self) -> None:
        """Tell a holder to release what it holds (it waits for a line on its stdin)."""
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self) -> subprocess.CompletedProcess:
        """Wait for the process to end; everything it printed, lines already read included."""
        try:
            self.process.wait(SAFETY_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(
                self._describe(f"still running after {SAFETY_SECONDS} s")
            ) from None
        for pump in self._pumps:
            pump.join()
        for name, lines in self._lines.items():
            while name not in self._ended and (line := lines.get()) is not None:
                self.seen[name].append(line)
            self._ended.add(name)
        self.process.stdin.close()
        return subprocess.CompletedProcess(
            self.args,
            self.process.returncode,
            "".join(f"{line}\n" for line in self.seen["stdout"]),
            "".join(f"{line}\n" for line in self.seen["stderr"]),
        )

    def _describe(self, what: str) -> str:
        """What went wrong, with every line the process printed (once it has ended)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)  # a stream that ended: the process is ending too
        if self.process.poll() is not None:
            for pump in self._pumps:
                pump.join(timeout=10)
            for name, lines in self._lines.items():
                while name not in self._ended and not lines.empty():
                    if (line := lines.get()) is None:
                        self._ended.add(name)
                    else:
                        self.seen[name].append(line)
        printed = "\n".join(f"{n}: {line}" for n, lines in self.seen.items() for line in lines)
        command = " ".join([Path(self.args[0]).name, *self.args[1:]])
        return f"{command[:200]} (pid {self.pid}): {what}; it printed:\n{printed}"


def _pump(stream, lines: queue.SimpleQueue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)  # the stream ended


def start(*args: str, **kwargs) -> Running:
    """``turnaround ARGS`` running beside the test."""
    return Running([TURNAROUND, *args], **kwargs)


def start_python(code: str) -> Running:
    """A Python program running beside the test; its stdout is unbuffered."""
    return Running([sys.executable, "-u", "-c", textwrap.dedent(code)], env={**os.environ})


# What a holder program prints a wait as (the notice a command logs on stderr), on stdout
# beside its other lines, so a test reads the order of events on one stream.
_PRINT_NOTICES = "notice=lambda message: print(message, flush=True)"


def hold_write_window(url: str) -> Running:
    """A process that holds the write window (as a load's merge does) until let go.
    It prints ``asking``, any wait it has to make (``waiting for ...``), ``holding``, and
    ``released`` once it has let go."""
    return start_python(
        f"""
        import sys
        from warehouse.access import Warehouse
        warehouse = Warehouse.at({url!r}, {_PRINT_NOTICES})
        print("asking", flush=True)
        with warehouse.write({SAFETY_SECONDS}) as conn:
            print("holding", flush=True)
            sys.stdin.readline()
        print("released", flush=True)
        """
    )


def hold_writer_lock(url: str) -> Running:
    """A process that holds the writer lock (as a running load does) until let go; prints
    ``holding``, then ``released`` once it has let go."""
    return start_python(
        f"""
        import sys
        from warehouse.access import Warehouse
        with Warehouse.at({url!r}).writer_lock({SAFETY_SECONDS}, "turnaround load"):
            print("holding", flush=True)
            sys.stdin.readline()
        print("released", flush=True)
        """
    )


def hold_reader(url: str) -> Running:
    """A process that keeps a read connection open (a long metrics query) until let go.
    It prints any wait it has to make (``waiting for ...``), ``in`` once connected, and
    ``out`` once closed."""
    return start_python(
        f"""
        import sys
        import sqlalchemy as sa
        from warehouse.access import Warehouse
        warehouse = Warehouse.at({url!r}, read_wait_seconds={SAFETY_SECONDS}, {_PRINT_NOTICES})
        engine = warehouse.reader()
        with engine.connect() as conn:
            conn.execute(sa.text("select count(*) from tickets")).scalar()
            print("in", flush=True)
            sys.stdin.readline()
        print("out", flush=True)
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
