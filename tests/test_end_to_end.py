"""End to end: generate demo exports, load them with the CLI, compare formats and the page."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from metrics import KPI_CATALOG, format_value
from turnaround.cli import app
from turnaround.generate.settings import AGENT_ID_BASE, AGENTS_PER_GROUP, GROUPS
from turnaround.generate.writers import agent_name
from warehouse.engine import ENV_VAR

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
runner = CliRunner()


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict[str, str]:
    """Warehouse URLs holding the same seeded demo data, loaded from each export format."""
    root = tmp_path_factory.mktemp("demo")
    urls = {}
    for fmt in ("zendesk", "canonical"):
        out = root / fmt
        _cli("generate", "--out", str(out), "--customers", "1500", "--seed", "11", "--format", fmt)
        files = sorted(str(p) for p in out.iterdir())
        random.Random(3).shuffle(files)  # any order must give the same result
        urls[fmt] = f"duckdb:///{root / fmt}.duckdb"
        _cli("load", *files, "--warehouse", urls[fmt])
    return urls


def _metrics(url: str, *args: str) -> dict:
    return json.loads(_cli("metrics", "--json", "--warehouse", url, *args))


# Measured by the source, where it measures them: Zendesk's business-hours reply time (the
# canonical CSV of the demo has no business minutes), and first resolution (neither demo
# format writes it).
SOURCE_MEASURED = {
    "business_tta_median_minutes": ("zendesk",),
    "business_tta_p90_minutes": ("zendesk",),
    "business_tta_within_target_pct": ("zendesk",),
    "first_resolution_median_minutes": (),
    "first_resolution_p90_minutes": (),
}


def _without_source_measured(result: dict) -> dict:
    kpis = {k: v for k, v in result["kpis"].items() if k not in SOURCE_MEASURED}
    n = {k: v for k, v in result["n"].items() if k not in SOURCE_MEASURED}
    return result | {"kpis": kpis, "n": n}


def test_both_demo_formats_give_the_same_kpis(loaded):
    found = {fmt: _metrics(loaded[fmt]) for fmt in ("zendesk", "canonical")}
    assert set(found["zendesk"]["kpis"]) == set(KPI_CATALOG)
    for fmt, result in found.items():
        for name, value in result["kpis"].items():
            measured = fmt in SOURCE_MEASURED.get(name, (fmt,))
            assert (value is not None) is measured, (fmt, name)
    assert _without_source_measured(found["zendesk"]) == _without_source_measured(
        found["canonical"]
    )


def test_one_run_per_file_in_the_worst_order_gives_the_same_kpis(loaded, tmp_path):
    exports = Path(loaded["zendesk"].removeprefix("duckdb:///").removesuffix(".duckdb"))
    url = f"duckdb:///{tmp_path / 'one-by-one.duckdb'}"
    # Tickets before their metrics and their users, each in a run of its own.
    for name in (
        "zendesk_tickets.jsonl",
        "zendesk_ticket_metrics.jsonl",
        "delighted_responses.json",
        "customers.csv",
        "zendesk_users.jsonl",
    ):
        _cli("load", str(exports / name), "--warehouse", url)
    one_by_one = _metrics(url)
    assert one_by_one["paradox"]["nps_delta"]["verdict"] is not None
    assert one_by_one == _metrics(loaded["zendesk"])  # the same files in one run
    assert _without_source_measured(one_by_one) == _without_source_measured(
        _metrics(loaded["canonical"])
    )


def test_reloading_the_demo_loads_nothing_twice(loaded):
    before = _metrics(loaded["zendesk"])
    exports = Path(loaded["zendesk"].removeprefix("duckdb:///").removesuffix(".duckdb"))
    files = [str(p) for p in sorted(exports.iterdir())]
    again = json.loads(_cli("load", *files, "--warehouse", loaded["zendesk"], "--json"))
    assert again["status"] == "skipped" and len(again["skipped_files"]) == len(files)
    forced = json.loads(_cli("load", *files, "--warehouse", loaded["zendesk"], "--force", "--json"))
    assert forced["rows_loaded"] == 0 and forced["rows_replaced"] == 0
    assert forced["rows_duplicates"] == forced["rows_read"] > 0
    assert _metrics(loaded["zendesk"]) == before


def test_runs_lists_the_loads(loaded):
    runs = json.loads(_cli("runs", "--json", "--warehouse", loaded["canonical"]))
    # tickets, nps, customers, and the optional groups.csv and agents.csv
    assert runs[0]["status"] == "succeeded" and runs[0]["files"] == 5
    assert runs[0]["rows_read"] == runs[0]["rows_loaded"] > 0


def test_metrics_by_group_and_assignee_carry_the_demos_names(loaded, tmp_path):
    teams = {str(group_id): name for name, group_id in GROUPS.items()}
    agents = {str(AGENT_ID_BASE + n): agent_name(n) for n in range(len(GROUPS) * AGENTS_PER_GROUP)}
    for url in loaded.values():
        by_group = _metrics(url, "--by", "group", "--kpi", "ticket_volume")
        # the id as it was (what --where takes), its name beside it
        assert {r["group"]: r["group_name"] for r in by_group["rows"]} == teams
        by_agent = _metrics(url, "--by", "assignee", "--kpi", "ticket_volume")
        named = {r["assignee"]: r["assignee_name"] for r in by_agent["rows"] if r["assignee"]}
        assert named == {agent: agents[agent] for agent in named}
    config = tmp_path / "turnaround.toml"
    config.write_text("[privacy]\npseudonymise_agents = true\n")
    hidden = _metrics(
        loaded["zendesk"], "--by", "assignee", "--kpi", "ticket_volume", "--config", str(config)
    )
    shown = [r["assignee_name"] for r in hidden["rows"] if r["assignee"]]
    assert all(re.fullmatch(r"Agent [0-9a-f]{6}", name) for name in shown)
    assert len(set(shown)) == len(shown) == len(named)  # one pseudonym per agent


def test_dashboard_tiles_show_what_the_cli_reports(loaded, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv(ENV_VAR, loaded["zendesk"])
    everything = ["2000-01-01", "2026-10-31"]  # every day of the demo (the page's default: 30)
    reported = _metrics(loaded["zendesk"], "--from", everything[0], "--to", everything[1])
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.query_params["dates"] = everything
    at.run()
    assert not at.exception
    # each tile's tooltip opens with the catalog's label (its own label adds its window)
    tiles = {metric.help.split("**")[1][:-1]: metric.value for metric in at.metric}
    for name in ("one_touch_rate", "nps_recovered", "tta_median_minutes"):
        label = KPI_CATALOG[name].label
        assert tiles[label] == format_value(name, reported["kpis"][name])


def test_usage_errors_exit_2_and_failures_exit_1(tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    assert (
        runner.invoke(app, ["load", str(tmp_path / "missing.csv"), "--warehouse", url]).exit_code
        == 2
    )
    assert (
        runner.invoke(app, ["metrics", "--as-of", "yesterday", "--warehouse", url]).exit_code == 2
    )
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    refused = runner.invoke(app, ["load", str(junk), "--warehouse", url])
    assert refused.exit_code == 1
    assert "Expected one of" in refused.output and "Nothing was loaded" in refused.output
    assert "Traceback" not in refused.output
