"""Logs a scheduler can keep, and a progress bar for a person at a terminal.

Log records go to standard error through ``logging``: plain lines with a UTC timestamp when
standard output is not a terminal (cron, systemd, Airflow keep them as they are), rich's
coloured lines when it is. Either way one record is one line (``etl.echo.one_line``).
Results (tables, ``--json``) go to standard output alone.
"""

from __future__ import annotations

import logging
import sys
import time

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from data_contracts.times import ISO_Z
from etl.echo import one_line

LEVELS = ("debug", "info", "warning", "error")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _OneLineFormatter(logging.Formatter):
    """One record, one line: control characters in the message are escaped (``\\n``), so a
    file name or a quoted value cannot start a line of its own. A traceback stays as it is."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # a copy: other handlers see the original
        record.msg, record.args = one_line(record.getMessage()), None
        return super().format(record)


class _UtcFormatter(_OneLineFormatter):
    converter = time.gmtime

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        return time.strftime(ISO_Z, self.converter(record.created))


def is_terminal() -> bool:
    return sys.stdout.isatty()


def setup_logging(level: str = "info") -> None:
    """Route Turnaround's loggers to standard error at ``level``."""
    root = logging.getLogger("turnaround")
    root.handlers.clear()
    root.propagate = False
    if is_terminal():
        handler: logging.Handler = RichHandler(
            console=Console(stderr=True), show_path=False, log_time_format="%H:%M:%S"
        )
        handler.setFormatter(_OneLineFormatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_UtcFormatter(PLAIN_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())


class LoadProgress:
    """A bar over the files of a load with rows read and rows per second, drawn on standard
    output when it is a terminal and gone once the load ends; elsewhere it does nothing
    (the log lines say the same)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: Progress | None = None
        self.task = None
        self.started = time.perf_counter()

    def __enter__(self) -> LoadProgress:
        if self.enabled:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rows]} rows, {task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                console=Console(),  # standard output: the terminal this bar is for
                transient=True,
            )
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, done: int, total: int, rows: int, current: str) -> None:
        if self.bar is None:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        name = current.rsplit("/", 1)[-1] if current else "merging"
        fields = {"rows": f"{rows:,}", "rate": f"{rows / elapsed:,.0f}"}
        if self.task is None:
            self.task = self.bar.add_task(f"Reading {name}", total=total, **fields)
        description = f"Reading {name}" if current else "Merging into the warehouse"
        self.bar.update(self.task, completed=done, total=total, description=description, **fields)
