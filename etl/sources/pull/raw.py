"""Where a pull keeps the raw pages it fetched: one folder per run, readable by the owner
only, so a run can be replayed with ``turnaround load FOLDER``; folders older than the kept
number of days are deleted when the next pull starts."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

DEFAULT_KEEP_DAYS = 14


def default_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "turnaround" / "pulls"


def run_folder(root: Path, source: str, run_id: str) -> Path:
    """A new folder for one pull's pages: ``ROOT/SOURCE/RUN_ID``, mode 0700. ``ROOT`` and
    ``ROOT/SOURCE`` are made 0700 when the pull makes them; a folder that was there before
    keeps its mode (the run folder itself keeps the pages to the owner)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    for part in (root, root / source):
        try:  # a pull of another source may be making the same folder at the same time
            part.mkdir(mode=0o700)
        except FileExistsError:
            continue
        part.chmod(0o700)  # whatever the umask
    folder = root / source / run_id
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    return folder


def write_page(folder: Path, name: str, body: bytes) -> Path:
    """One page as the API sent it, mode 0600 from the start."""
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(body)
    return path


# A run folder's name: the run's id (etl.pipeline.load.new_batch_id).
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def pull_folder_of(page: Path) -> Path | None:
    """The run folder ``ROOT/SOURCE/RUN_ID`` a file lies in, where it is one of a pull's
    kept pages (only a pull names a folder by a run id); None for any other file."""
    folder = page.parent
    return folder if _RUN_ID.fullmatch(folder.name) else None


def run_folders(root: Path, source: str) -> list[Path]:
    """The run folders ``ROOT/SOURCE/RUN_ID`` of ``source``, oldest first (a run's id starts
    with its time); nothing else under ``root``, and no symbolic link."""
    folder = root / source
    if not folder.is_dir():
        return []
    return sorted(
        run
        for run in folder.iterdir()
        if _RUN_ID.fullmatch(run.name) and run.is_dir() and not run.is_symlink()
    )


def prune(
    root: Path, keep_days: float, sources: Iterable[str], now: dt.datetime | None = None
) -> list[Path]:
    """Delete the run folders (``ROOT/SOURCE/RUN_ID``, of the pull ``sources``) older than
    ``keep_days``; the ones deleted. Nothing else under ``root`` is touched, so the folder
    may be one that holds other things too."""
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - keep_days * 86400
    gone = []
    for source in sources:
        for run in run_folders(root, source):
            if run.stat().st_mtime < cutoff:
                shutil.rmtree(run, ignore_errors=True)
                gone.append(run)
    return gone
