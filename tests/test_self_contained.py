"""The repository carries its own contract: no tracked file cites a file outside it.

Code, tests and docs cite docs/ pages (docs/contract.md and the pages it links), never a
document that lives beside the repository or a path on one machine: a clone has neither.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.repository_guard import REPO_ROOT

# Spelled in parts, so that this file does not cite them itself.
OUTSIDE_DOCUMENTS = tuple(f"{name}.md" for name in ("PRODUCT", "STYLE", "ENVIRONMENT"))
SIBLING = "/".join(("..", "shared"))
# An absolute path into the machine's work folder, not the tail of a longer path (a folder
# named work inside docs/ is relative).
WORK = "/".join(("", "work", ""))
ABSOLUTE_WORK = re.compile(r"(?<![\w.~/-])" + WORK)


def tracked_files() -> list[str]:
    """Every path git tracks in the repository, relative to its root."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in listed.decode().split("\0") if name]


def text_lines(name: str) -> list[str] | None:
    """The file's lines, or None for a binary file (a NUL byte, or not UTF-8)."""
    path = REPO_ROOT / name
    if not path.is_file():  # deleted in the work tree, not yet in the index
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode().splitlines()
    except UnicodeDecodeError:
        return None


def outside_citations(line: str) -> list[str]:
    """What ``line`` cites outside the repository."""
    found = [name for name in (*OUTSIDE_DOCUMENTS, SIBLING) if name in line]
    return found + [match.group(0) for match in ABSOLUTE_WORK.finditer(line)]


def test_the_patterns_find_what_they_are_for():
    product = OUTSIDE_DOCUMENTS[0]
    assert outside_citations(f"see {product}, Canonical tables") == [product]
    assert outside_citations(f"open('{SIBLING}/fixtures')") == [SIBLING]
    assert outside_citations(f"cd {WORK}main") == [WORK]
    assert outside_citations("docs/contract.md, Canonical tables") == []
    assert outside_citations("a/work/b and ~/work/c are relative or a user's") == []


def test_no_tracked_file_cites_a_path_outside_the_repository():
    citations = []
    for name in tracked_files():
        for number, line in enumerate(text_lines(name) or [], start=1):
            citations += [f"{name}:{number}: {found}" for found in outside_citations(line)]
    assert not citations, "cite a docs/ page instead:\n" + "\n".join(citations)
