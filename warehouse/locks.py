"""Who may use a DuckDB warehouse file when: writers one at a time, readers never blocked long.

DuckDB lets one process hold a database file read-write, and any process holding the file,
even read-only, keeps a writer out. Turnaround's own processes take turns through three
lock files in a folder beside the warehouse (``turnaround.duckdb.locks/``), each an
``flock`` that the kernel releases when its process dies:

- ``writer``: held by a load (``migrate``, ``forget``) for its whole run, so writers run one
  at a time; it holds the holder's pid and command, for the message a waiting writer prints.
- ``queue``: held exclusively by a writer from the moment it wants the warehouse until its
  merge is committed. A reader takes it shared on its way in, so once a writer waits, new
  readers wait behind it (a waiting writer goes first).
- ``readers``: held shared by every open reader connection; a writer takes it exclusively
  for its write window, after the readers already in have finished.

The lock files are no more open than the warehouse file (``file_mode``): flock works on a
read-only descriptor, so whoever can open one can hold it. The first write makes them before
the warehouse file exists (owner only), and opens them as the new file once it made it.

PostgreSQL needs none of this (readers never block there); its writers take an advisory lock
instead (``warehouse.access``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.05
NOTICE_AFTER_SECONDS = 1.0  # waits shorter than this pass without a word

Notice = Callable[[str], None]


class LockTimeout(Exception):
    """A lock was not free within the time allowed; the message says what was awaited."""


def lock_folder(database: Path) -> Path:
    return database.with_name(database.name + ".locks")


def file_mode(database: Path) -> int:
    """The mode of the files in a warehouse's lock folder: the warehouse file's read and write
    bits (0600 before it exists). flock works on a read-only descriptor, so whoever can open a
    lock file can hold it; whoever can read the warehouse can keep a writer out through
    DuckDB's own lock already, so a lock file opens to no one else."""
    try:
        return stat.S_IMODE(database.stat().st_mode) & 0o666
    except FileNotFoundError:
        return 0o600


def folder_mode(mode: int) -> int:
    """A lock folder's mode: a lock file's, with entry for those who may read."""
    return mode | (mode & 0o444) >> 2


def open_lock_file(path: Path, flags: int) -> int:
    """Open (with ``os.O_CREAT``: create) a file of a warehouse's lock folder, making the
    folder where it is missing; the folder and the file get their modes set explicitly,
    whatever the umask, and again when the warehouse's mode changed since (where this user
    owns them)."""
    folder = path.parent
    database = folder.with_name(folder.name.removesuffix(".locks"))
    mode = file_mode(database)
    folder.mkdir(mode=0o700, exist_ok=True)
    _set_mode(folder, folder_mode(mode))
    fd = os.open(path, flags | os.O_CLOEXEC, mode)
    _set_mode(fd, mode)
    return fd


def match_warehouse(database: Path) -> None:
    """Give a warehouse's lock folder and the files in it the modes ``file_mode`` gives now:
    for the first write, whose locks were made (0600) before the warehouse file was."""
    folder = lock_folder(database)
    mode = file_mode(database)
    _set_mode(folder, folder_mode(mode))
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                _set_mode(Path(entry.path), mode)


def _set_mode(target: Path | int, mode: int) -> None:
    """chmod ``target`` (a path, or a descriptor) to ``mode`` where this user owns it and its
    mode differs; on a read-only mount it stays as it is."""
    found = os.stat(target)
    if found.st_uid != os.geteuid() or stat.S_IMODE(found.st_mode) == mode:
        return
    try:
        os.chmod(target, mode)
    except OSError as exc:
        if exc.errno != errno.EROFS:
            raise


@dataclass
class FileLock:
    """One flock on one file; ``acquire`` waits up to a deadline, telling ``notice`` once.

    flock needs no write access, so only a lock that records its holder (``writable``)
    opens its file for writing: a reader of another user can still take the gate.
    """

    path: Path
    shared: bool = False
    writable: bool = False
    fd: int | None = None
    held: bool = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free now. A folder that cannot hold lock files (a read-only
        mount) has no writer either: readers pass freely there."""
        if self.fd is None:
            self.fd = _open(self.path, writable=self.writable, required=not self.shared)
            if self.fd is None:
                return True
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.held = True
        return True

    def acquire(self, deadline: float, waiting_for: str, notice: Notice | None) -> None:
        """Wait for the lock until ``deadline``; on a timeout (or any error, Ctrl+C
        included) nothing stays held."""
        started, told = time.monotonic(), False
        try:
            while not self.try_acquire():
                now = time.monotonic()
                if now >= deadline:
                    raise LockTimeout(waiting_for)
                if notice and not told and now - started >= NOTICE_AFTER_SECONDS:
                    notice(f"waiting for {waiting_for}")
                    told = True
                time.sleep(POLL_SECONDS)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        if self.fd is not None:
            if self.writable and self.held:  # a holder record names a holder that is there
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing the descriptor drops its flock
            self.fd, self.held = None, False

    def write_holder(self, holder: dict) -> None:
        """Record who holds this (exclusive) lock, for the message a waiter prints."""
        if self.fd is None:
            return
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(holder).encode(), 0)


def read_holder(path: Path) -> dict:
    """What the last holder of a lock file wrote about itself ({} when nothing readable)."""
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _open(path: Path, writable: bool, required: bool) -> int | None:
    """A descriptor for a lock file, created (and its folder) where it is missing.

    A reader that can create nothing there (a read-only mount, another user's folder) gets
    None and passes: no writer can write there either. A writer (``required``) must get its
    lock, and an error says why it cannot.
    """
    flags = (os.O_RDWR if writable else os.O_RDONLY) | os.O_CREAT
    try:
        return open_lock_file(path, flags)
    except OSError as exc:
        if required or exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT):
            raise
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


@dataclass
class Gate:
    """The queue and readers locks of one warehouse file."""

    database: Path

    def _locks(self) -> tuple[Path, Path]:
        folder = lock_folder(self.database)
        return folder / "queue", folder / "readers"

    def enter_reader(self, deadline: float, notice: Notice | None) -> FileLock:
        """Pass the queue and hold ``readers`` shared; release the returned lock when done."""
        queue_path, readers_path = self._locks()
        queue = FileLock(queue_path, shared=True)
        readers = FileLock(readers_path, shared=True)
        try:
            queue.acquire(deadline, "a load to finish writing the warehouse", notice)
            readers.acquire(deadline, "a load to finish writing the warehouse", notice)
        finally:
            queue.release()  # readers.acquire releases its own lock when it fails
        return readers

    def enter_writer(self, deadline: float, notice: Notice | None) -> tuple[FileLock, FileLock]:
        """Hold the queue (new readers wait), then ``readers`` exclusively (readers already in
        have finished). Release both, readers first, when the merge is committed."""
        queue_path, readers_path = self._locks()
        queue, readers = FileLock(queue_path), FileLock(readers_path)
        queue.acquire(deadline, "another writer's turn in the queue", notice)
        try:
            readers.acquire(deadline, "readers of the warehouse to finish", notice)
        except BaseException:
            queue.release()
            raise
        return queue, readers
