"""History loaded before the look-back changes no recovery group: the seeded demo, and the same
demo with every ticket created before every look-back the comparisons read removed (the NPS
window's start, as_of - 365 days, less lookback_days; t0 = as_of - H is later), give the same
retention KPIs, recovery groups and paradox at as_of under the 2026-12 definitions. Under
2026-11 (groups over every failure since the data began) the same trim moves them."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metrics import MetricParams, compute_kpis, recovery_groups
from turnaround.cli import app
from warehouse import get_engine

runner = CliRunner()
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
HORIZON_DAYS = 90  # MetricParams' default H
NPS_WINDOW_DAYS = 365  # the NPS comparison reads responses in (as_of - 365 days, as_of]
# A look-back shorter than the default 365 days, so that the two-year demo has history
# before every look-back the comparisons read.
LOOKBACK_DAYS = 180
# The earliest look-back read: a response's group is settled by the failures of the
# look-back before it (docs/metrics.md, "Recovery paradox"), and t0 = as_of - H is later.
CUTOFF = AS_OF - dt.timedelta(days=max(HORIZON_DAYS, NPS_WINDOW_DAYS) + LOOKBACK_DAYS)
RETENTION_KPIS = ("recovered_retention", "never_failed_retention", "unrecovered_retention")
NPS_KPIS = ("nps_recovered", "nps_never_failed")


def _invoke(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


def _created(row: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))


def _trimmed_copy(source: Path, target: Path) -> int:
    """``source``'s files in ``target``, tickets created before CUTOFF left out; how many."""
    shutil.copytree(source, target)
    with (source / "tickets.csv").open(newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
        header = reader.fieldnames
    kept = [row for row in rows if _created(row) >= CUTOFF]
    with (target / "tickets.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(kept)
    return len(rows) - len(kept)


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict[str, str]:
    """The seeded demo loaded whole and trimmed: a DuckDB URL each."""
    folder = tmp_path_factory.mktemp("trimming")
    demo = folder / "demo"
    _invoke(
        "generate", "--out", str(demo), "--customers", "400", "--seed", "3", "--format", "canonical"
    )
    removed = _trimmed_copy(demo, folder / "trimmed")
    assert removed > 100  # the demo has history before the look-back to trim
    urls = {}
    for name in ("whole", "trimmed"):
        urls[name] = f"duckdb:///{folder / f'{name}.duckdb'}"
        files = folder / ("demo" if name == "whole" else name)
        _invoke("load", str(files), "--warehouse", urls[name])
    return urls


def answers(url: str, definitions: str) -> dict:
    """Everything the recovery groups decide at AS_OF: the retention and group NPS KPIs with
    their n, every group's size, rates and intervals, the paradox and hindsight."""
    engine = get_engine(url)
    params = MetricParams(as_of=AS_OF, definitions=definitions, lookback_days=LOOKBACK_DAYS)
    result = compute_kpis(engine, params)
    groups = recovery_groups(engine, params)
    engine.dispose()
    names = (*RETENTION_KPIS, *NPS_KPIS)
    return {
        "kpis": {name: result["kpis"][name] for name in names},
        "n": {name: result["n"][name] for name in names},
        "groups": groups.to_dicts(),
        "paradox": result["paradox"],
        "paradox_by_segment": result["paradox_by_segment"],
        "hindsight": result["hindsight"],
    }


def test_history_before_the_look_back_changes_nothing(warehouses):
    whole = answers(warehouses["whole"], "2026-12")
    assert whole == answers(warehouses["trimmed"], "2026-12")
    # Not vacuous: every group has customers, and both deltas have values.
    assert all(group["customers_at_t0"] for group in whole["groups"])
    assert whole["paradox"]["nps_delta"]["value"] is not None
    assert whole["paradox"]["retention_delta"]["value"] is not None


def never_failed_at_t0(found: dict) -> int:
    return next(g["customers_at_t0"] for g in found["groups"] if g["group"] == "never_failed")


def test_under_2026_11_the_same_trim_moves_the_groups(warehouses):
    whole = answers(warehouses["whole"], "2026-11")
    trimmed = answers(warehouses["trimmed"], "2026-11")
    # Customers whose only failures came before the cutoff become never-failed once trimmed.
    assert never_failed_at_t0(trimmed) > never_failed_at_t0(whole)
    assert whole["paradox"]["nps_delta"]["value"] != trimmed["paradox"]["nps_delta"]["value"]
