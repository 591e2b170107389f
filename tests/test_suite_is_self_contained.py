"""The test suite needs only the repository: a clone with nothing beside it passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import repository_guard
from tests.conftest import FIXTURES
from tests.repository_guard import REPO_ROOT, OutsideRepositoryRead

TESTS = Path(__file__).resolve().parent
SIBLING = "/".join(("..", "shared"))  # spelled out, this file would name it itself
PARENTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def test_a_read_outside_the_repository_fails_the_test_that_makes_it():
    outside = REPO_ROOT.parent / "shared" / "fixtures" / "real" / "README.md"
    with pytest.raises(OutsideRepositoryRead, match="copy the file into tests/fixtures"):
        outside.read_text()
    with pytest.raises(OutsideRepositoryRead):
        open(REPO_ROOT.parent / "anything.csv", "rb")  # noqa: SIM115 - the open is refused


def test_reads_inside_the_repository_and_tmp_path_are_allowed(tmp_path):
    scratch = tmp_path / "scratch.csv"
    scratch.write_text("a\n1\n")
    assert scratch.read_text() == "a\n1\n"
    assert (FIXTURES / "README.md").read_text().startswith("# Test fixtures")
    assert not repository_guard.is_allowed(REPO_ROOT.parent / "shared")


def test_no_test_names_a_path_above_the_repository():
    for path in TESTS.rglob("*.py"):
        text = path.read_text()
        assert SIBLING not in text, path
        for match in PARENTS.finditer(text):
            target = path.resolve().parents[int(match.group(1))]
            assert target == REPO_ROOT or REPO_ROOT in target.parents, (path, match.group(0))


def test_every_fixture_has_its_source_in_the_readme():
    readme = (FIXTURES / "README.md").read_text()
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and p.name != "README.md"]
    assert files
    for path in files:
        relative = path.relative_to(FIXTURES).as_posix()
        assert relative in readme, f"{relative} has no line in tests/fixtures/README.md"
