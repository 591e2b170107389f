"""Fail any test that reads a data file outside the repository.

A user's clone has nothing beside it, so a fixture read from a sibling folder passes here and
fails there. The guard is a Python audit hook on ``open``: a read of a path outside the allowed
roots raises ``OutsideRepositoryRead`` in the test that made it. Allowed: the repository, the
interpreter and its virtual environment, the temporary folder (tmp_path and friends) and the
system's own folders; never a folder beside the repository. Writes are not checked (they
land in tmp_path).
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


def _real(paths) -> tuple[str, ...]:
    return tuple(sorted({os.path.realpath(p) for p in paths}))


def interpreter_roots() -> tuple[str, ...]:
    """Where Python and its packages live: always readable, wherever they are."""
    return _real(
        [
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            *sysconfig.get_paths().values(),
        ]
    )


def general_roots() -> tuple[str, ...]:
    """The temporary folder and the system's own folders."""
    return _real(
        [
            tempfile.gettempdir(),
            *SYSTEM_ROOTS,
            *(Path.home() / folder for folder in HOME_FOLDERS),
        ]
    )


def _under(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip("/") + "/")


def is_allowed(path: str | os.PathLike) -> bool:
    """Whether a test may read ``path`` (relative paths are taken from the working folder).

    The repository and the interpreter are readable; a sibling of the repository (what a
    user's clone does not have beside it) is not, even inside the temporary folder; then the
    temporary folder and the system's folders are.
    """
    real = os.path.realpath(os.fspath(path))
    repo = os.path.realpath(REPO_ROOT)
    if _under(real, repo) or any(_under(real, r) for r in _INTERPRETER):
        return True
    parent = os.path.dirname(repo)
    if parent != os.path.realpath(tempfile.gettempdir()) and _under(real, parent):
        return False  # beside the repository: a clone has nothing there
    return any(_under(real, r) for r in _GENERAL)


_INTERPRETER = interpreter_roots()
_GENERAL = general_roots()


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

    def hook(event: str, args: tuple) -> None:
        if event != "open":
            return
        path, mode, flags = (*args, None, None)[:3]
        if isinstance(path, int) or path is None or not _is_read(mode, flags):
            return
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not is_allowed(path):
            raise OutsideRepositoryRead(
                f"a test read {path}, outside the repository: copy the file into "
                "tests/fixtures/ (with its source in tests/fixtures/README.md)"
            )

    sys.addaudithook(hook)
    install.done = True  # type: ignore[attr-defined]
