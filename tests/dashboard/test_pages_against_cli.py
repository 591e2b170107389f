"""The pages on generated demo data, loaded by the CLI into DuckDB and into PostgreSQL: what
each page shows equals what `turnaround metrics ... --json` (and `turnaround cohorts --json`)
print for the same filters and warehouse."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.kpi_tiles import KPI_GROUPS, status_text
from dashboard.wording import paradox_sentence
from metrics import KPI_CATALOG, format_value
from tests import postgres_server
from tests.processes import cli, json_out

# The page's default range is the last 30 days of data; the demo's data ends 31 Oct 2026.
RANGE = ("2026-10-02", "2026-10-31")


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def demo(request, tmp_path_factory) -> Iterator[str]:
    """Generated demo data loaded by the CLI, into each warehouse in turn."""
    root = tmp_path_factory.mktemp("pages")
    out = root / "exports"
    assert (
        cli(
            "generate",
            "--out",
            str(out),
            "--customers",
            "600",
            "--seed",
            "4",
            "--format",
            "canonical",
        ).returncode
        == 0
    )
    if request.param == "duckdb":
        url = f"duckdb:///{root / 'turnaround.duckdb'}"
        assert cli("load", str(out), "--warehouse", url).returncode == 0
        yield url
        return
    with postgres_server.fresh_database(request.getfixturevalue("pg_server")) as url:
        assert cli("load", str(out), "--warehouse", url).returncode == 0
        yield url


def _metrics(url: str, *args: str) -> dict:
    done = cli("metrics", "--warehouse", url, "--json", "--from", RANGE[0], "--to", RANGE[1], *args)
    assert done.returncode == 0, done.stderr
    return json_out(done)


def _texts(at: AppTest) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error]
    return [element.value for element in elements]


def test_overview_tiles_are_the_clis_kpis_for_the_same_filters(run_app, demo):
    at = run_app(demo, channel=["chat", "email"])
    assert not at.exception
    reported = _metrics(demo, "--where", "channel=chat,email")
    # each tile's tooltip opens with the catalog's label (its own label adds its window)
    tiles = {metric.help.split("**")[1][:-1]: metric.value for metric in at.metric}
    texts = _texts(at)
    for names in KPI_GROUPS.values():
        for name in names:
            label = KPI_CATALOG[name].label
            assert tiles[label] == format_value(name, reported["kpis"][name]), name
    for name in ("tta_p90_minutes", "tta_within_target_pct"):  # the two with a target
        value, n = reported["kpis"][name], reported["n"][name]
        assert status_text(name, value, KPI_CATALOG[name].default_target, n, 30) in texts
    assert reported["kpis"]["nps"] is None  # a customer KPI under a ticket filter
    assert tiles["NPS"] == "—"


def test_cohorts_table_is_the_clis_slice(run_app, demo):
    at = run_app(
        demo,
        page="views/cohorts.py",
        grain="month",
        kpi=KPI_CATALOG["one_touch_rate"].label,
        by="Plan",
    )
    assert not at.exception
    reported = _metrics(demo, "--kpi", "one_touch_rate", "--by", "plan", "--grain", "month")
    table = at.dataframe[0].value
    label = f"{KPI_CATALOG['one_touch_rate'].label} (%)"  # numbers, in percent
    shown = list(
        zip(
            table["Plan"],
            table["Period starting"],
            table[label],
            table["n"],
            table["Small group"],
            strict=True,
        )
    )
    assert shown == [
        (
            r["plan"],
            r["period_start"],
            pytest.approx(r["kpis"]["one_touch_rate"] * 100),
            r["n"]["one_touch_rate"],
            "small" if r["small"] else "",
        )
        for r in reported["rows"]
    ]
    assert len(shown) == 3  # three plans; the month of 2 to 31 October is October


def test_retention_triangle_is_the_clis_cohorts(run_app, demo):
    at = run_app(demo, page="views/cohorts.py")
    assert not at.exception
    done = cli("cohorts", "--warehouse", demo, "--json")
    reported = json_out(done)
    (chart,) = [c for c in at.get("vega_lite_chart") if "cohort size" in c.proto.spec]
    marks = [layer["mark"]["type"] for layer in json.loads(chart.proto.spec)["layer"]]
    assert marks == ["rect", "text"]  # the cells, and their shares and sizes written in them
    (dataset,) = chart.proto.datasets  # Streamlit sends the chart's data as Arrow
    rows = pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    shown = {(c["cohort"], c["month"]): c["share"] for c in rows if c["kind"] == "cell"}
    expected = {
        (c["cohort"], m["month"]): m["share"] for c in reported["cohorts"] for m in c["months"]
    }
    assert shown == pytest.approx(expected) and len(expected) > 20
    # Every cohort the CLI lists, with its size beside it.
    sizes = {c["cohort"]: c["customers"] for c in rows if c["kind"] == "size"}
    assert sizes == {c["cohort"]: c["customers"] for c in reported["cohorts"]}


def test_recovery_page_states_the_clis_paradox(run_app, demo):
    at = run_app(demo, page="views/recovery.py", segment=["smb"])
    assert not at.exception
    reported = _metrics(demo, "--where", "segment=smb")
    texts = _texts(at)
    for name, delta in reported["paradox"].items():
        if not isinstance(delta, dict):  # "primary" names a delta
            continue
        assert any(text.startswith(paradox_sentence(name, delta, 90)) for text in texts)
        if "matched" in delta:
            matched = paradox_sentence(name, delta["matched"], 90)
            assert any(text.endswith(matched) for text in texts)


def test_tickets_page_counts_the_clis_ticket_volume(run_app, demo):
    at = run_app(demo, page="views/tickets.py", priority=["urgent", "high"], status=["recovered"])
    assert not at.exception
    everything = _metrics(demo, "--where", "priority=urgent,high", "--kpi", "ticket_volume")
    recovered = json_out(
        cli(
            "metrics",
            "--warehouse",
            demo,
            "--json",
            "--from",
            RANGE[0],
            "--to",
            RANGE[1],
            "--where",
            "priority=urgent,high",
            "--kpi",
            "recovery_rate",
        )
    )
    # Recovered tickets: recovery rate x its n (solved failures), a whole number.
    count = round(recovered["kpis"]["recovery_rate"] * recovered["n"]["recovery_rate"])
    assert any(t.startswith(f"**{count:,} tickets**") for t in _texts(at))
    table = at.dataframe[0].value
    assert set(table["recovery_status"]) == {"recovered"}
    assert set(table["priority"]) <= {"urgent", "high"}
    assert everything["kpis"]["ticket_volume"] > count > 0
    created = {dt.date.fromisoformat(str(t)[:10]) for t in table["created_at"]}
    assert min(created) >= dt.date.fromisoformat(RANGE[0])


def test_health_page_lists_the_clis_runs(run_app, demo):
    at = run_app(demo, page="views/health.py")
    assert not at.exception
    runs = json_out(cli("runs", "--warehouse", demo, "--json"))
    table = at.dataframe[1].value  # freshness, then the runs
    assert list(table["batch"]) == [r["batch_id"] for r in runs]
    assert list(table["loaded"]) == [r["rows_loaded"] for r in runs]
    assert list(table["status"]) == ["succeeded"]
    fresh = at.dataframe[0].value
    # One load, every row of the canonical tables in it (the group and agent names it also
    # loaded are no table whose freshness is shown).
    canonical = [f for f in runs[0]["file_results"] if f["target_table"] in set(fresh["table"])]
    assert sum(fresh["rows"]) == sum(f["rows_loaded"] for f in canonical)
    assert {f["target_table"] for f in runs[0]["file_results"]} - set(fresh["table"]) == {
        "groups",
        "agents",
    }
