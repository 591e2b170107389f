"""``[metrics] definitions = "2026-11"`` keeps every number of that set: on fixed input files
(tests/fixtures/demo_canonical, tests/fixtures/canonical), the JSON of ``metrics``, sliced
``metrics``, ``cohorts``, ``survival`` and ``recovery`` holds every key and value the 2026-11
release printed for them (tests/fixtures/definitions_2026_11/, see tests/fixtures/README.md).
New keys may be added; no value may change."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import FIXTURES
from turnaround.cli import app

GOLDEN = FIXTURES / "definitions_2026_11"
runner = CliRunner()

# Each data set: its files, the load's extra options, the instant measured at.
DATA_SETS = {
    "canonical": ([FIXTURES / "demo_canonical"], (), "2026-11-01T00:00:00Z"),
    "fixtures": ([FIXTURES / "canonical"], ("--quarantine-limit", "1"), "2024-12-31T00:00:00Z"),
}
# Each answer: the golden file's name, the command.
ANSWERS = {
    "metrics": ("metrics",),
    "metrics-by-channel-month": ("metrics", "--by", "channel", "--grain", "month"),
    "metrics-episodes": ("metrics", "--count", "episodes", "--one-touch", "dbt_zendesk"),
    "cohorts": ("cohorts",),
    "survival": ("survival",),
    "recovery": ("recovery",),
}


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict[str, str]:
    """Each data set loaded once into its own DuckDB warehouse; its URL by name."""
    folder = tmp_path_factory.mktemp("definitions_kept")
    urls = {}
    for name, (paths, options, _) in DATA_SETS.items():
        urls[name] = f"duckdb:///{folder / f'{name}.duckdb'}"
        _invoke("load", *map(str, paths), *options, "--warehouse", urls[name])
    return urls


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "turnaround.toml"
    path.write_text('[metrics]\ndefinitions = "2026-11"\n')
    return path


def changed(found, golden, where: str = "") -> list[str]:
    """Where ``found`` drops or changes a key or value of ``golden`` (empty: nowhere). New
    keys in ``found`` are allowed; lists keep their length and order."""
    if isinstance(golden, dict):
        if not isinstance(found, dict):
            return [f"{where}: {found!r} is no object"]
        return [
            problem
            for key, value in golden.items()
            for problem in (
                changed(found[key], value, f"{where}.{key}")
                if key in found
                else [f"{where}.{key}: missing"]
            )
        ]
    if isinstance(golden, list):
        if not isinstance(found, list) or len(found) != len(golden):
            return [f"{where}: {len(golden)} items, found {found!r:.80}"]
        return [
            problem
            for i, (one, kept) in enumerate(zip(found, golden, strict=True))
            for problem in changed(one, kept, f"{where}[{i}]")
        ]
    if isinstance(golden, float) and type(found) in (int, float):
        # The last bits of a float sum may follow the warehouse's order of adding.
        same = math.isclose(found, golden, rel_tol=1e-9, abs_tol=1e-12)
    else:
        same = type(found) is type(golden) and found == golden
    return [] if same else [f"{where}: {golden!r} became {found!r}"]


def test_changed_finds_a_changed_dropped_or_shortened_value():
    golden = {"a": 1, "b": [{"c": 0.5}], "d": None}
    assert changed({"a": 1, "b": [{"c": 0.5, "new": 2}], "d": None, "e": 3}, golden) == []
    assert changed({"a": 1, "b": [{"c": 0.6}], "d": None}, golden) == [".b[0].c: 0.5 became 0.6"]
    assert changed({"a": 1, "b": [], "d": None}, golden) == [".b: 1 items, found []"]
    assert changed({"a": 1, "b": [{"c": 0.5}]}, golden) == [".d: missing"]
    assert changed({"a": True, "b": [{"c": 0.5}], "d": None}, golden) == [".a: 1 became True"]


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("data_set", DATA_SETS)
def test_the_2026_11_numbers_are_kept(loaded, config, data_set, answer):
    golden = json.loads((GOLDEN / f"{data_set}.{answer}.json").read_text())
    as_of = DATA_SETS[data_set][2]
    args = (*ANSWERS[answer], "--warehouse", loaded[data_set], "--as-of", as_of)
    found = json.loads(_invoke(*args, "--config", str(config), "--json"))
    assert changed(found, golden) == []
    assert found["definitions_version"] == "2026-11"
