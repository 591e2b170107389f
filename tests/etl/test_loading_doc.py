"""docs/loading.md says what the code does: the schema version it calls current is the one
``turnaround migrate`` brings a warehouse to, and every step up to it is described."""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.migrations import STEPS
from warehouse.schema import SCHEMA_VERSION

LOADING = Path(__file__).resolve().parents[2] / "docs" / "loading.md"


def test_the_upgrading_section_names_the_current_schema_version_and_each_step():
    text = " ".join(LOADING.read_text().split())  # sentences as one line, however wrapped
    assert re.findall(r"Schema version (\d+) \(this version\)", text) == [str(SCHEMA_VERSION)]
    described = {int(v) for v in re.findall(r"Schema version (\d+)", text)}
    assert described == {step + 1 for step in STEPS}  # 2 .. the current version
