"""The executive page, run with AppTest against real temporary warehouses."""

from __future__ import annotations

import json

import duckdb
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from dashboard.kpi_tiles import KPI_GROUPS
from dashboard.wording import LOAD_COMMANDS, as_of_text, paradox_sentence
from metrics import KPI_CATALOG, MetricParams, compute_kpis, format_value
from tests.conftest import insert_rows
from tests.dashboard.conftest import AS_OF
from warehouse import get_engine

DEFAULTS = MetricParams()


def _texts(at: AppTest) -> list[str]:
    """Every text element on the page: markdown, captions and callouts."""
    elements = [*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error]
    return [element.value for element in elements]


def _tile(at: AppTest, name: str):
    (tile,) = [metric for metric in at.metric if metric.label == KPI_CATALOG[name].label]
    return tile


def _assert_shows_load_instructions(at: AppTest) -> None:
    assert not at.exception
    page = "\n".join(_texts(at))
    for command in (*LOAD_COMMANDS, "turnaround demo"):
        assert command in page
    assert not at.metric


@pytest.fixture
def report(loaded_warehouse: str) -> dict:
    return compute_kpis(get_engine(loaded_warehouse, read_only=True), DEFAULTS)


def test_tiles_show_the_formatted_kpis(run_app, loaded_warehouse, report):
    at = run_app(loaded_warehouse)
    assert not at.exception
    assert report["kpis"]["one_touch_rate"] is not None
    assert _tile(at, "one_touch_rate").value == format_value(
        "one_touch_rate", report["kpis"]["one_touch_rate"]
    )
    for names in KPI_GROUPS.values():
        for name in names:
            assert _tile(at, name).value == format_value(name, report["kpis"][name])


def test_tile_with_target_states_it(run_app, loaded_warehouse, report):
    at = run_app(loaded_warehouse)
    p90 = _tile(at, "tta_p90_minutes")
    target = KPI_CATALOG["tta_p90_minutes"].default_target
    assert p90.delta == f"target ≤ {format_value('tta_p90_minutes', target)}"
    on_target = report["kpis"]["tta_p90_minutes"] <= target
    assert p90.proto.delta_description == ("on target" if on_target else "off target")
    assert MetricProto.MetricColor.Name(p90.proto.color) == ("GREEN" if on_target else "RED")


def test_page_says_when_the_data_is_from(run_app, loaded_warehouse, report):
    at = run_app(loaded_warehouse)
    assert report["as_of"] == "2026-10-31T23:59:59Z"
    assert as_of_text(report["as_of"]) in _texts(at)
    assert "Data as of 31 Oct 2026, 23:59 UTC" in _texts(at)


def test_page_states_the_paradox_verdicts(run_app, loaded_warehouse, report):
    at = run_app(loaded_warehouse)
    texts = _texts(at)
    for delta_name in ("nps_delta", "retention_delta"):
        sentence = paradox_sentence(delta_name, report["paradox"][delta_name], 90)
        assert sentence in texts
    # Recovered customers here are all promoters or passives; never-failed mostly detractors.
    assert report["paradox"]["nps_delta"]["verdict"] == "holds"
    assert any(text.endswith("the recovery paradox holds on loyalty.") for text in texts)
    for delta_name in ("nps_delta", "retention_delta"):  # like for like, beside the crude one
        matched = paradox_sentence(delta_name, report["paradox"][delta_name]["matched"], 90)
        assert any(text.startswith("Like for like") and text.endswith(matched) for text in texts)
    # Every failure ticket here has a version from before t0: no point-in-time note.
    assert report["hindsight"]["first_known_later"] == 0
    assert not any(text.startswith("Point in time") for text in texts)


def test_page_draws_trend_and_paradox_charts(run_app, loaded_warehouse):
    at = run_app(loaded_warehouse)
    titles = [json.loads(chart.proto.spec)["title"] for chart in at.get("vega_lite_chart")]
    assert titles == [
        "Time to acknowledge",
        "One-touch resolution",
        "NPS by recovery group",
        "90-day retention by recovery group",
    ]


def test_sidebar_horizon_feeds_the_metrics(run_app, loaded_warehouse):
    at = run_app(loaded_warehouse)
    at.sidebar.number_input[0].set_value(30).run()
    assert not at.exception
    report = compute_kpis(
        get_engine(loaded_warehouse, read_only=True), MetricParams(horizon_days=30)
    )
    tile = _tile(at, "never_failed_retention")
    assert tile.value == format_value(
        "never_failed_retention", report["kpis"]["never_failed_retention"]
    )
    sentence = paradox_sentence("retention_delta", report["paradox"]["retention_delta"], 30)
    assert sentence in _texts(at)


def test_missing_warehouse_file_shows_how_to_load(run_app, tmp_path):
    at = run_app(f"duckdb:///{tmp_path / 'nowhere.duckdb'}")
    _assert_shows_load_instructions(at)
    assert not (tmp_path / "nowhere.duckdb").exists()


def test_empty_warehouse_shows_how_to_load(run_app, engine, warehouse_url):
    _assert_shows_load_instructions(run_app(warehouse_url))


def test_warehouse_without_tables_shows_how_to_load(run_app, tmp_path):
    path = tmp_path / "blank.duckdb"
    duckdb.connect(str(path)).close()
    _assert_shows_load_instructions(run_app(f"duckdb:///{path}"))


def test_unsupported_warehouse_url_is_explained_without_load_instructions(run_app):
    at = run_app("sqlite:///turnaround.sqlite")
    assert not at.exception
    assert "unsupported warehouse" in at.warning[0].value
    assert not any("turnaround load" in text for text in _texts(at))


def test_locked_warehouse_is_explained_without_traceback(run_app, loaded_warehouse):
    path = loaded_warehouse.removeprefix("duckdb:///")
    writer = duckdb.connect(path)  # a load holding the file open for writing
    try:
        at = run_app(loaded_warehouse)
    finally:
        writer.close()
    assert not at.exception
    assert "could not be read" in at.warning[0].value
    assert not at.metric


def test_warehouse_without_tickets_shows_dashes(run_app, engine, warehouse_url):
    insert_rows(engine, "customers", [{"customer_id": "c1", "signup_at": AS_OF}])
    at = run_app(warehouse_url)
    assert not at.exception
    assert _tile(at, "tta_median_minutes").value == "—"
    assert _tile(at, "tta_p90_minutes").proto.delta_description == "no data"
    assert len(at.get("vega_lite_chart")) == 4


def test_a_state_read_from_a_later_version_is_noted(run_app, engine, warehouse_url):
    """A failure created before t0 whose only version is dated after t0: its state at t0
    may know too much, and the page says so."""
    import datetime as dt

    created = AS_OF - dt.timedelta(days=120)
    insert_rows(engine, "customers", [{"customer_id": "c1", "signup_at": created}])
    insert_rows(
        engine,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "customer_id": "c1",
                "created_at": created,
                "solved_at": created + dt.timedelta(days=1),
                "status": "solved",
                "type": "incident",
                "csat": "bad",
                "updated_at": AS_OF,
            }
        ],
    )
    at = run_app(warehouse_url)
    assert not at.exception
    notes = [text for text in _texts(at) if text.startswith("Point in time")]
    assert len(notes) == 1 and "1 of 1 failure tickets" in notes[0]
