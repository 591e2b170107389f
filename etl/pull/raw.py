"""Where a pull keeps the raw pages it fetched: one folder per run, readable by the owner
only, so a run can be replayed with ``turnaround load FOLDER``; folders older than the kept
number of days are deleted when the next pull starts."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

DEFAULT_KEEP_DAYS = 14


def default_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "turnaround" / "pulls"


def run_folder(root: Path, source: str, run_id: str) -> Path:
    """A new folder for one pull's pages: ``ROOT/SOURCE/RUN_ID``, mode 0700."""
    folder = root / source / run_id
    folder.mkdir(parents=True, mode=0o700)
    for part in (root, root / source):
        part.chmod(0o700)
    return folder


def write_page(folder: Path, name: str, body: bytes) -> Path:
    """One page as the API sent it, mode 0600 from the start."""
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(body)
    return path


def prune(root: Path, keep_days: float, now: dt.datetime | None = None) -> list[Path]:
    """Delete the run folders under ``root`` older than ``keep_days``; the ones deleted."""
    if not root.is_dir():
        return []
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - keep_days * 86400
    gone = []
    for source in root.iterdir():
        if not source.is_dir():
            continue
        for run in source.iterdir():
            if run.is_dir() and run.stat().st_mtime < cutoff:
                shutil.rmtree(run, ignore_errors=True)
                gone.append(run)
    return gone
