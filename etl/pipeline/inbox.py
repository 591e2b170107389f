"""``turnaround load --inbox DIR``: load whatever has arrived in a folder, unattended.

Grain: one run per entry of the inbox. An entry is a file at the top of the folder, or a
folder at the top (its files belong together, e.g. one night's Zendesk tickets, users and
metrics, and load in one run). After its run an entry moves to ``processed/`` (loaded, or
already loaded before) or to ``failed/`` beside a ``<name>.reason.txt``. A run that fails for a
reason outside the file (the warehouse, the hash key) leaves the entry where it is and stops
the inbox run, so nothing is set aside for a fault the next run may not have. An entry still
being written waits for the next run: a name ending in ``.part`` or ``.tmp``, or a change in the
last ``settle_seconds``. An entry that is, or holds, a symbolic link is refused unread: what
a link points to is not what was put in the inbox. The writer lock is taken once for the whole
inbox run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.times import utc_now
from etl.echo import listed, one_line, path_text
from etl.pipeline.frames import UnreadableFile
from etl.pipeline.load import (
    FileChanged,
    FileRefused,
    LoadOptions,
    expand,
    hold_writer_lock,
    new_batch_id,
    run_locked,
)
from etl.pipeline.report import RunReport
from etl.pipeline.run_record import record_failure
from warehouse.access import Warehouse

log = logging.getLogger("turnaround.inbox")

PROCESSED, FAILED = "processed", "failed"
PARTIAL_SUFFIXES = (".part", ".tmp")
DEFAULT_SETTLE_SECONDS = 5.0


class InboxError(Exception):
    """The inbox folder itself cannot be used as it is; the message says why."""


@dataclass
class EntryOutcome:
    entry: str  # the name in the inbox
    report: RunReport
    moved_to: str | None = None

    def as_json(self) -> dict:
        return {"entry": self.entry, "moved_to": self.moved_to, **self.report.as_json()}


@dataclass
class InboxRun:
    inbox: str
    outcomes: list[EntryOutcome] = field(default_factory=list)
    waiting: list[dict] = field(default_factory=list)  # entry, why

    @property
    def failed(self) -> list[EntryOutcome]:
        return [o for o in self.outcomes if o.report.status not in ("succeeded", "skipped")]

    def as_json(self) -> dict:
        return {
            "inbox": self.inbox,
            "status": "failed" if self.failed else "succeeded",
            "runs": [o.as_json() for o in self.outcomes],
            "waiting": self.waiting,
        }


def _still_arriving(path: Path, settle_seconds: float, now: float) -> str | None:
    """Why ``path`` is not ready to load yet, or None when it is."""
    files = [path] if path.is_file() else expand([path])  # what the run would read
    for file in files:
        if file.name.endswith(PARTIAL_SUFFIXES):
            return f"{file.name} is still being written ({file.suffix})"
        age = now - file.stat().st_mtime
        if age < settle_seconds:
            return f"{file.name} changed {age:.1f} s ago (waits until {settle_seconds:g} s)"
    if not files:
        return "the folder holds no files to load yet"
    return None


def links_in(entry: Path) -> list[str]:
    """The symbolic links an entry is or holds, named from the inbox: none is ever read."""
    if entry.is_symlink():
        return [entry.name]
    if not entry.is_dir():
        return []
    return [str(p.relative_to(entry.parent)) for p in sorted(entry.rglob("*")) if p.is_symlink()]


def scan(inbox: Path, settle_seconds: float) -> tuple[list[Path], list[dict]]:
    """The entries ready to load (or to refuse: a link), in name order, and those that wait."""
    now = time.time()
    ready, waiting = [], []
    for entry in sorted(inbox.iterdir()):
        if entry.name in (PROCESSED, FAILED) or entry.name.startswith("."):
            continue
        if links_in(entry):  # refused unread, before anything follows the link
            ready.append(entry)
            continue
        why = _still_arriving(entry, settle_seconds, now)
        if why is None:
            ready.append(entry)
        else:
            waiting.append({"entry": entry.name, "why": why})
    return ready, waiting


def link_refusal(entry: Path, links: list[str]) -> str:
    """Why an entry that is or holds a symbolic link is refused."""
    if links == [entry.name]:
        what = "is a symbolic link"
    else:
        what = f"holds a symbolic link ({listed(links, 3)})"
    return (
        f"{one_line(entry.name)} {what}: the inbox reads only files put into it, never what a link "
        "points to; copy the file in, or load it by name (turnaround load PATH)"
    )


def _move(entry: Path, folder: Path, batch_id: str) -> Path:
    """Move an entry (a link as the link itself) into ``folder``, never over an earlier one
    of the same name."""
    if folder.is_symlink():  # what lands there must not land where a link points
        raise InboxError(f"{folder} is a symbolic link; make it a folder")
    folder.mkdir(exist_ok=True)
    target = folder / entry.name
    if target.exists():
        target = folder / f"{entry.stem}.{batch_id}{entry.suffix}"
    shutil.move(str(entry), target)
    return target


def run_inbox(
    warehouse: Warehouse,
    inbox: Path,
    options: LoadOptions,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    progress=None,
) -> InboxRun:
    """Load every ready entry of ``inbox``, one run each; raises LoadRefused when another
    writer keeps the warehouse (nothing is moved then)."""
    run = InboxRun(str(inbox))
    inbox_options = dataclasses.replace(options, follow_links=False)
    ready, run.waiting = scan(inbox, settle_seconds)
    for waiting in run.waiting:
        log.info("%s: waits for the next run: %s", waiting["entry"], waiting["why"])
    if not ready:
        log.info("inbox %s: nothing to load", inbox)
        return run
    with ExitStack() as held:
        first = RunReport(batch_id=new_batch_id(utc_now()), started_at=utc_now())
        first.files = [path_text(e) for e in ready]
        hold_writer_lock(held, warehouse, options, first)
        for entry in ready:
            report = RunReport(batch_id=new_batch_id(utc_now()), started_at=utc_now())
            outcome = EntryOutcome(entry.name, report)
            run.outcomes.append(outcome)
            links = links_in(entry)  # looked at again now: an entry may change after the scan
            try:
                if links:
                    why = link_refusal(entry, links)
                    refuse_unread(warehouse, entry, report, why, options.wait_seconds)
                run_locked(warehouse, [entry], inbox_options, report, progress)
            except FileChanged as exc:  # still being written: the next run reads it whole
                log.warning("%s: left in the inbox for the next run: %s", entry.name, exc)
                continue
            except (FileRefused, UnreadableFile) as exc:  # the file is at fault: set it aside
                moved = _move(entry, inbox / FAILED, report.batch_id)
                text = f"run {report.batch_id} failed: {report.message or exc}".rstrip()
                write_reason(moved.with_name(moved.name + ".reason.txt"), text + "\n")
                outcome.moved_to = str(moved)
                log.error("%s: refused, moved to %s: %s", entry.name, moved, exc)
                continue
            except Exception as exc:  # the warehouse or the set-up is at fault: retry later
                log.error("%s: failed, left in the inbox for the next run: %s", entry.name, exc)
                break
            outcome.moved_to = str(_move(entry, inbox / PROCESSED, report.batch_id))
    return run


def refuse_unread(
    warehouse: Warehouse, entry: Path, report: RunReport, why: str, wait_seconds: float
) -> None:
    """Record a run that refused ``entry`` without opening it (waiting at most
    ``wait_seconds`` for the warehouse), and raise its refusal."""
    report.files = [path_text(entry)]
    report.fail("failed", why)
    record_failure(warehouse, report, wait_seconds)
    raise FileRefused(why, report)


def write_reason(path: Path, text: str) -> None:
    """Write a reason file readable by its owner only: a reason may quote the file (its
    header, a value). A link put where the reason goes is refused, never written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(fd, 0o600)  # whatever the umask, and for a file that was there before
        file.write(text)
