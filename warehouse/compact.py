"""Compact a DuckDB warehouse file: rewrite it as a fresh copy of what it holds.

A DELETE in DuckDB frees the rows' blocks for reuse, and neither CHECKPOINT nor VACUUM
overwrites them: an erased person's bytes stay in the file until a block is reused. DuckDB's
way to reclaim them is to copy the database into a new file (``COPY FROM DATABASE``), which
writes only live rows, every table with its keys and indexes. The copy is made beside the
file and swapped in whole (``os.replace``), so the warehouse is the old file or the new one,
never half of each. The caller holds the file alone (``Warehouse.compact``).
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class Compaction:
    """A compaction's outcome: the file's size before and after, when the copy was swapped
    in (Unix seconds), or why it was not."""

    bytes_before: int
    bytes_after: int
    finished_at: float
    problem: str | None = None


def wal_of(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def compact_file(database: Path, leave_out_meta: tuple[str, ...] = ()) -> Compaction:
    """Rewrite the DuckDB file ``database`` as a copy of its live contents, keeping its mode,
    without the warehouse_meta rows named in ``leave_out_meta`` (what is true of the old
    file only). Raises what DuckDB or the file system raises; the file is then as it was."""
    before = database.stat().st_size
    copy = database.with_name(f".{database.name}.compact")
    for leftover in (copy, wal_of(copy)):  # of a compaction that was killed
        leftover.unlink(missing_ok=True)
    engine = sa.create_engine("duckdb:///:memory:", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("ATTACH :path AS old"), {"path": str(database)})
            conn.execute(sa.text("ATTACH :path AS new"), {"path": str(copy)})
            conn.execute(sa.text("COPY FROM DATABASE old TO new"))
            for name in leave_out_meta:
                conn.execute(
                    sa.text("DELETE FROM new.warehouse_meta WHERE name = :name"), {"name": name}
                )
            conn.commit()
            # Both files checkpointed and closed: a write-ahead log left beside the old file
            # would be replayed against the copy once it takes the file's name.
            for statement in ("CHECKPOINT old", "DETACH old", "CHECKPOINT new", "DETACH new"):
                conn.execute(sa.text(statement))
                conn.commit()
        for left in (wal_of(database), wal_of(copy)):
            if left.exists():
                raise OSError(
                    f"{left} is still there after a checkpoint; the file was left as it was"
                )
        _like(copy, database.stat())
        with copy.open("rb") as file:
            os.fsync(file.fileno())
        os.replace(copy, database)
    except BaseException:
        copy.unlink(missing_ok=True)
        wal_of(copy).unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    folder = os.open(database.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself, on disk
    finally:
        os.close(folder)
    return Compaction(before, database.stat().st_size, time.time())


def _like(copy: Path, original: os.stat_result) -> None:
    """The copy with the file's mode, owner and group, so that whoever read or wrote the
    warehouse still can (a service user's file, a dashboard's group); a copy that cannot
    have the file's group is refused (raises OSError) rather than swapped in."""
    os.chmod(copy, stat.S_IMODE(original.st_mode))
    made = copy.stat()
    if (made.st_uid, made.st_gid) == (original.st_uid, original.st_gid):
        return
    try:
        os.chown(copy, original.st_uid, original.st_gid)
    except PermissionError:  # not root: the group at least, if this user is in it
        try:
            os.chown(copy, -1, original.st_gid)
        except PermissionError:
            raise OSError(
                f"the copy cannot have the file's group (gid {original.st_gid}); the file was "
                "left as it was"
            ) from None
