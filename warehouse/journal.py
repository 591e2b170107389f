"""The run journal: runs that could not be written to ``etl_runs`` when they ended.

A load refused because another load holds the warehouse cannot write its own history row.
On DuckDB it appends the row to ``<warehouse>.locks/journal.jsonl`` instead; the next writer
moves every journal row into ``etl_runs`` inside its write window, and ``turnaround runs``
shows journal rows that are still waiting. On PostgreSQL the row goes straight into
``etl_runs`` (another writer's transaction does not block an insert).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path

import sqlalchemy as sa

from warehouse.locks import lock_folder, open_lock_file
from warehouse.schema import etl_runs

TIMESTAMPS = ("started_at", "ended_at")


def journal_path(database: Path) -> Path:
    return lock_folder(database) / "journal.jsonl"


def append(database: Path, run_row: dict) -> None:
    """Add one etl_runs row to the journal (appends are whole lines, under an flock)."""
    line = json.dumps(run_row, default=_text) + "\n"
    fd = open_lock_file(journal_path(database), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(fd, "a", encoding="utf-8") as file:  # no more open than the warehouse
        fcntl.flock(file, fcntl.LOCK_EX)
        file.write(line)


def pending(database: Path) -> tuple[list[dict], int]:
    """The journal's rows (timestamps as datetimes) and the number of lines read; a line
    that is not JSON is skipped."""
    try:
        with journal_path(database).open(encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_SH)  # never half a line that is being appended
            lines = file.read().splitlines()
    except OSError:
        return [], 0
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        for name in TIMESTAMPS:
            if row.get(name):
                row[name] = dt.datetime.fromisoformat(row[name])
        rows.append(row)
    return rows, len(lines)


def move_into_runs(conn: sa.Connection, database: Path) -> int:
    """Insert the journal's rows into etl_runs in the caller's transaction; return the number
    of journal lines consumed, for ``clear`` once the transaction has committed. A row already
    in etl_runs (moved by a run that stopped before clearing) is not inserted twice."""
    rows, lines = pending(database)
    if not rows:
        return lines
    ids = [r["batch_id"] for r in rows]
    known = set(
        conn.execute(sa.select(etl_runs.c.batch_id).where(etl_runs.c.batch_id.in_(ids))).scalars()
    )
    new = [
        {c.name: r[c.name] for c in etl_runs.columns if c.name in r}
        for r in rows
        if r["batch_id"] not in known
    ]
    if new:
        conn.execute(etl_runs.insert(), new)
    return lines


def clear(database: Path, consumed: int) -> None:
    """Drop the first ``consumed`` lines of the journal; lines appended since stay."""
    path = journal_path(database)
    if consumed == 0 or not path.exists():
        return
    with path.open("r+", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        rest = file.read().splitlines(keepends=True)[consumed:]
        file.seek(0)
        file.truncate()
        file.writelines(rest)


def _text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
