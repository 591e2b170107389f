"""What a run learns before it reads a file: each file's content hash, what the warehouse
already holds (its key fingerprint, the file contents loaded before), and the hash key to use.

Nothing here writes the warehouse; it is read read-only, through the readers' gate.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISLNK

import sqlalchemy as sa

from etl.echo import one_line, path_text
from etl.identity import (
    HashKey,
    HashKeyError,
    find_hash_key,
    load_hash_key,
    secrets_file,
)
from etl.pipeline.load_options import FileChanged, FileRefused, LoadError, LoadOptions
from etl.pipeline.report import RunReport
from warehouse.access import Warehouse
from warehouse.schema import check_schema, loaded_files, meta_value, schema_version

log = logging.getLogger("turnaround.load")


@dataclass(frozen=True)
class FileDigest:
    sha256: str
    size_bytes: int
    modified_ns: int | None = None
    hashed: bool = True  # False: taken from the warehouse, the file's size and time unchanged
    # The file as it was before it was hashed (size, times, inode): the read must find it so.
    identity: tuple[int, ...] | None = None


def file_identity(stat: os.stat_result) -> tuple[int, ...]:
    """What changes whenever a file's content does: its size and modification time, the
    change time (which no user can set back) and the inode (a file replaced by a rename)."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev)


@dataclass
class WarehouseState:
    """What a run needs to know of the warehouse before it reads anything."""

    fingerprint: str | None = None
    loaded: dict[str, tuple[str, str]] = field(default_factory=dict)  # sha256 -> (batch, file)


def hash_key_for(options: LoadOptions, state: WarehouseState) -> HashKey:
    """The email hash key. A new one is made only for a warehouse that has none yet: one
    whose customer ids were made with a key must get that key back, not a new one."""
    try:
        if state.fingerprint is None:
            key = load_hash_key(options.secrets_file)
        else:
            key = find_hash_key(options.secrets_file)
    except HashKeyError as exc:
        raise LoadError(str(exc)) from None
    if key is None:
        raise LoadError(
            "this warehouse's customer ids were made with an email hash key that is neither in "
            f"TURNAROUND_HASH_KEY nor in the secrets file {secrets_file(options.secrets_file)}: "
            f"restore that key (fingerprint {state.fingerprint}) and load again"
        )
    if key.created:
        log.warning(
            "created a new email hash key in %s (readable by you only): keep it private and "
            "backed up; without it, emails in later exports cannot be matched to the customers "
            "loaded now",
            key.origin,
        )
    return key


def file_digest(path: Path) -> FileDigest:
    """The file's content hash, with its size, times and inode from before the hash. The
    file is opened without following a link (FileRefused): a path the user named was
    resolved already, and the inbox reads no link, however late one is put in place."""
    digest = hashlib.sha256()
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRefused(
                f"{one_line(str(path))}: became a symbolic link after the run listed it, and "
                "such a link is not followed; copy the file in, or load it by name (turnaround "
                "load PATH)"
            ) from None
        raise
    with os.fdopen(descriptor, "rb") as file:
        stat = os.fstat(file.fileno())  # before the first byte is read: a later write shows
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return FileDigest(
        digest.hexdigest(), stat.st_size, stat.st_mtime_ns, identity=file_identity(stat)
    )


def file_digests(
    warehouse: Warehouse, files: list[Path], force: bool = False
) -> dict[Path, FileDigest]:
    """Each file's content hash. A file that a successful run loaded from the same path, with
    the same size and modification time, is not read again: its recorded hash stands (as
    make and rsync judge a file). ``force`` hashes every file."""
    known = {} if force else _loaded_by_path(warehouse, files)
    digests = {}
    for path in files:
        stat = os.lstat(path)
        sha = known.get((path_text(path), stat.st_size, stat.st_mtime_ns))
        if S_ISLNK(stat.st_mode):  # hashed, so refused: a link is never taken on trust
            sha = None
        if sha is not None:
            digests[path] = FileDigest(
                sha, stat.st_size, stat.st_mtime_ns, hashed=False, identity=file_identity(stat)
            )
        else:
            digests[path] = file_digest(path)
    return digests


def refuse_if_changed(path: Path, digest: FileDigest) -> None:
    """Raise FileChanged where ``path`` is not the file ``digest`` was taken of: written, cut
    or replaced since. Called once the file is read, it judges by size, times and inode
    alone, without reading the file again (docs/loading.md, "A file that changes")."""
    try:
        now = file_identity(os.lstat(path))  # a link put in its place is a change too
    except OSError:
        now = None
    if digest.identity is not None and now != digest.identity:
        raise FileChanged(
            f"{one_line(str(path))}: changed while it was read (it was being written, cut or "
            "replaced); nothing was loaded and it is not recorded as loaded: load it again once "
            "it is written whole"
        )


def _loaded_by_path(warehouse: Warehouse, files: list[Path]) -> dict[tuple, str]:
    """(path, size, modification time) -> content hash, for these paths loaded before."""
    if not files or not warehouse.file_exists():
        return {}
    with warehouse.reader().connect() as conn:
        if schema_version(conn) is None:
            return {}
        check_schema(conn, warehouse.display)  # an older warehouse is refused: migrate first
        rows = conn.execute(
            sa.select(
                loaded_files.c.source_file,
                loaded_files.c.size_bytes,
                loaded_files.c.modified_ns,
                loaded_files.c.sha256,
            ).where(
                loaded_files.c.source_file.in_([path_text(f) for f in files]),
                loaded_files.c.modified_ns.is_not(None),
            )
        ).all()
    return {(name, size, modified): sha for name, size, modified, sha in rows}


def warehouse_state(warehouse: Warehouse, digests: list[str]) -> WarehouseState:
    """The key fingerprint and which of these file contents were loaded, read read-only."""
    if not warehouse.file_exists():
        return WarehouseState()
    with warehouse.reader().connect() as conn:
        if schema_version(conn) is None:
            return WarehouseState()
        check_schema(conn, warehouse.display)  # an older warehouse is refused: migrate first
        loaded = conn.execute(
            sa.select(
                loaded_files.c.sha256, loaded_files.c.batch_id, loaded_files.c.source_file
            ).where(loaded_files.c.sha256.in_(digests))
        ).all()
        return WarehouseState(
            fingerprint=meta_value(conn, "hash_key_fingerprint"),
            loaded={sha: (batch, name) for sha, batch, name in loaded},
        )


def check_key(state: WarehouseState, key: HashKey) -> None:
    """Refuse a key other than the one the warehouse's customer ids were made with."""
    if state.fingerprint is not None and state.fingerprint != key.fingerprint:
        raise LoadError(
            f"the email hash key from {key.origin} is not the key this warehouse's customer ids "
            f"were made with (fingerprint {key.fingerprint}; the warehouse has "
            f"{state.fingerprint}). Set TURNAROUND_HASH_KEY or the secrets file to the key used "
            "before, or load into a new warehouse"
        )


def not_loaded_yet(formats, digests, state: WarehouseState, options, report: RunReport):
    """The (file, format) pairs to read: those whose content no successful run loaded (all,
    with ``--force``); the others are noted in the report as skipped."""
    to_read = []
    for path, fmt in formats:
        digest = digests[path]
        earlier = state.loaded.get(digest.sha256)
        if earlier is None or options.force:
            to_read.append((path, fmt))
            continue
        batch, name = earlier
        report.skipped_files.append(
            {
                "file": path_text(path),
                "sha256": digest.sha256,
                "loaded_in": batch,
                "loaded_as": name,
            }
        )
        log.info("%s: already loaded in run %s (as %s); skipped", path, batch, name)
    return to_read
