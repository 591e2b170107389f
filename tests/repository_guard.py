"""Fail any test that reads a data file outside the repository.

A user's clone has nothing beside it, so a fixture read from a sibling folder passes here and
fails there. The guard is a Python audit hook on ``open``: a read of a path outside the allowed
roots raises ``OutsideRepositoryRead`` in the test that made it. Allowed: the repository, the
temporary folder (tmp_path and friends), the interpreter and its virtual environment, and the
system's own folders. Writes are not checked (they land in tmp_path).
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev", "/run", "/var")
# Per-user folders that libraries read their own settings and caches from.
HOME_FOLDERS = (".cache", ".config", ".local", ".streamlit", ".pyenv")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT


class OutsideRepositoryRead(PermissionError):
    """A test read a file that a clone of the repository would not have."""


def allowed_roots() -> tuple[str, ...]:
    roots = {
        REPO_ROOT,
        Path(tempfile.gettempdir()),
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        *(Path(p) for p in sysconfig.get_paths().values()),
        *(Path(root) for root in SYSTEM_ROOTS),
        *(Path.home() / folder for folder in HOME_FOLDERS),
    }
    resolved = {os.path.realpath(root) for root in roots}
    return tuple(sorted(resolved))


def is_allowed(path: str | os.PathLike, roots: tuple[str, ...] | None = None) -> bool:
    """Whether a test may read ``path`` (relative paths are taken from the working folder)."""
    real = os.path.realpath(os.fspath(path))
    for root in roots if roots is not None else allowed_roots():
        if real == root or real.startswith(root.rstrip("/") + "/"):
            return True
    return False


def _is_read(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return not any(ch in mode for ch in "wax+")
    if isinstance(flags, int):
        return not flags & _WRITE_FLAGS
    return True


def install() -> None:
    """Install the audit hook in this process (once; hooks cannot be removed)."""
    if getattr(install, "done", False):
        return
    roots = allowed_roots()

    def hook(event: str, args: tuple) -> None:
        if event != "open":
            return
        path, mode, flags = (*args, None, None)[:3]
        if isinstance(path, int) or path is None or not _is_read(mode, flags):
            return
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not is_allowed(path, roots):
            raise OutsideRepositoryRead(
                f"a test read {path}, outside the repository: copy the file into "
                "tests/fixtures/ (with its source in tests/fixtures/README.md)"
            )

    sys.addaudithook(hook)
    install.done = True  # type: ignore[attr-defined]
