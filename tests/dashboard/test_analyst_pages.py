"""The analysts' views, run with AppTest against real temporary warehouses (a DuckDB file and
a database on the PostgreSQL server): a KPI by two dimensions at once, the retention triangle
with every cohort the CLI lists, and the Recovery page's survival splits, intervals, at-risk
numbers and paradox by segment. What each shows is what the metrics functions return."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.charts import SIZE_COLUMN, SMALL
from metrics import KPI_CATALOG, MetricParams, SliceRequest, compute_kpis, compute_slice
from metrics.cohorts import compute_cohorts
from metrics.survival import compute_survival
from tests.conftest import insert_rows
from tests.dashboard.conftest import ALL_DATES, ALL_RANGE
from warehouse import get_engine

DEFAULTS = MetricParams()
SIGNUP = dt.datetime(2025, 1, 1)
CREATED = dt.datetime(2026, 10, 10, 9, 0)


@pytest.fixture
def warehouse_url(any_warehouse_url: str) -> str:
    return any_warehouse_url


def _texts(at: AppTest) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error]
    return [element.value for element in elements]


def _chart_data(at: AppTest, column: str) -> tuple[dict, list[dict]]:
    """The spec and the rows (sent as Arrow) of the one chart whose data has ``column``."""
    found = []
    for chart in at.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            table = pa.ipc.open_stream(dataset.data.data).read_all()
            if column in table.column_names:
                found.append((json.loads(chart.proto.spec), table.to_pylist()))
    (one,) = found
    return one


def _table(at: AppTest, column: str):
    """The one table with ``column`` (a pandas frame, as AppTest gives it)."""
    (found,) = [d.value for d in at.dataframe if column in d.value.columns]
    return found


def _tickets(prefix: str, count: int, channel: str, group: str, one_touch: int) -> list[dict]:
    """``count`` solved tickets, the first ``one_touch`` of them with one agent reply (one
    touch), the rest with three."""
    return [
        {
            "ticket_id": f"{prefix}{i:02d}",
            "customer_id": f"c{prefix}{i:02d}",
            "created_at": CREATED,
            "first_reply_at": CREATED + dt.timedelta(minutes=30),
            "solved_at": CREATED + dt.timedelta(hours=5),
            "status": "solved",
            "type": "question",
            "channel": channel,
            "group_name": group,
            "agent_replies": 1 if i < one_touch else 3,
            "updated_at": CREATED + dt.timedelta(hours=5),
        }
        for i in range(count)
    ]


def test_a_kpi_by_two_dimensions_shows_each_cells_value_and_n(run_app, engine, warehouse_url):
    """One-touch resolution by channel and group, by hand: email/tier1 30 of 30 (100.0%,
    n=30, not small at min_group_size 30); api/tier1 1 of 3 (33.3%, n=3, small); api/tier2
    0 of 2 (0.0%, n=2, small). The best team overall (tier1) is the worst on api but one."""
    tickets = (
        _tickets("e", 30, "email", "tier1", one_touch=30)
        + _tickets("a", 3, "api", "tier1", one_touch=1)
        + _tickets("b", 2, "api", "tier2", one_touch=0)
    )
    insert_rows(
        engine,
        "customers",
        [{"customer_id": t["customer_id"], "signup_at": SIGNUP} for t in tickets],
    )
    insert_rows(engine, "tickets", tickets)
    at = run_app(
        warehouse_url,
        page="views/cohorts.py",
        dates=ALL_DATES,
        kpi=KPI_CATALOG["one_touch_rate"].label,
        by="Channel",
        across="Group",
    )
    assert not at.exception
    result = compute_slice(
        get_engine(warehouse_url, read_only=True),
        DEFAULTS,
        SliceRequest(
            kpis=("one_touch_rate",), by=("channel", "group"), start=ALL_RANGE[0], end=ALL_RANGE[1]
        ),
    )
    spec, cells = _chart_data(at, "column_value")
    shown = {
        (c["row_value"], c["column_value"]): (c["value"], c["n"], c["small"], c["label"])
        for c in cells
    }
    assert shown == {
        ("email", "tier1"): (1.0, 30, "", "100.0%\nn=30"),
        ("api", "tier1"): (pytest.approx(1 / 3), 3, SMALL, "33.3%\nn=3\nsmall"),
        ("api", "tier2"): (0.0, 2, SMALL, "0.0%\nn=2\nsmall"),
    }
    assert shown == {
        (r["channel"], r["group"]): (
            r["kpis"]["one_touch_rate"],
            r["n"]["one_touch_rate"],
            SMALL if r["small"] else "",
            shown[(r["channel"], r["group"])][3],
        )
        for r in result["rows"]
    }
    # Clicking a cell picks both values; a small cell is drawn without colour, outlined.
    rect, _text, clicks = spec["layer"]
    assert spec["params"][0]["views"] == [clicks["name"]]  # clicks land on the clear cell
    assert spec["params"][0]["select"]["fields"] == ["row_value", "column_value"]
    assert rect["encoding"]["color"]["condition"] == {
        "test": "datum.small == 'small group' || !isValid(datum.value)",
        "value": "white",
    }
    assert rect["mark"]["invalid"] is None  # a cell without a value is drawn all the same
    assert any("says “small”" in text for text in _texts(at))


@pytest.mark.parametrize("any_warehouse_url", ["duckdb"], indirect=True)
def test_one_period_is_drawn_as_labelled_bars(run_app, engine, warehouse_url):
    """All tickets in one month: a bar per channel with its value and n, not a column of
    points on top of each other."""
    tickets = _tickets("e", 4, "email", "tier1", one_touch=3) + _tickets(
        "a", 2, "api", "tier1", one_touch=0
    )
    insert_rows(
        engine,
        "customers",
        [{"customer_id": t["customer_id"], "signup_at": SIGNUP} for t in tickets],
    )
    insert_rows(engine, "tickets", tickets)
    at = run_app(
        warehouse_url,
        page="views/cohorts.py",
        dates=["2026-10-01", "2026-10-31"],
        grain="month",
        kpi=KPI_CATALOG["one_touch_rate"].label,
        by="Channel",
    )
    assert not at.exception
    spec, rows = _chart_data(at, "bar_label")
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "text"]
    # email 3 of 4 one touch, api 0 of 2; both small; October is not over at as_of.
    labels = {r["value_of"]: r["bar_label"] for r in rows}
    assert labels == {
        "email": "75.0% · n=4 · small · provisional",
        "api": "0.0% · n=2 · small · provisional",
    }


def test_the_first_failure_triangle_shows_every_cohort_the_cli_lists(
    run_app, engine, loaded_warehouse
):
    """Failures in June, September and October 2026, as_of 31 Oct: the September and
    October cohorts have no month ended after theirs yet (their first cell is the end of
    the month after), but they are cohorts all the same, shown with their size."""
    later = [
        {
            "ticket_id": f"late-{customer}",
            "customer_id": customer,
            "created_at": created,
            "solved_at": created + dt.timedelta(days=1),
            "status": "solved",
            "type": "incident",
            "updated_at": created + dt.timedelta(days=1),
        }
        for customer, created in (
            ("n30", dt.datetime(2026, 9, 10)),
            ("n31", dt.datetime(2026, 10, 10)),
        )
    ]
    insert_rows(engine, "tickets", later)
    at = run_app(loaded_warehouse, page="views/cohorts.py", cohort_by="First failure month")
    assert not at.exception
    reported = compute_cohorts(
        get_engine(loaded_warehouse, read_only=True), DEFAULTS, "first_failure_month"
    )
    _, rows = _chart_data(at, "kind")
    sizes = {
        (r["cohort"], r["recovery_group"]): r["customers"] for r in rows if r["kind"] == "size"
    }
    expected = {(c["cohort"], c["recovery_group"]): c["customers"] for c in reported["cohorts"]}
    assert sizes == expected
    assert {("2026-09", "recovered"), ("2026-10", "recovered")} <= set(sizes)
    assert all(r["column"] == SIZE_COLUMN for r in rows if r["cohort"] >= "2026-09")
    cells = {
        (r["cohort"], r["recovery_group"], r["month"]): (r["share"], r["label"])
        for r in rows
        if r["kind"] == "cell"
    }
    assert cells == {
        (c["cohort"], c["recovery_group"], m["month"]): (
            pytest.approx(m["share"]),
            f"{m['share']:.0%}",
        )
        for c in reported["cohorts"]
        for m in c["months"]
    }
    assert len(cells) > 3


def test_the_recovery_page_shows_intervals_at_risk_numbers_and_splits(
    run_app, engine, warehouse_url
):
    """The hand-computed world of tests/metrics/test_survival_landmark.py. At risk, by hand
    (whole days from the landmark; the follow-up ends on day 365): recovered r1 churns on
    day 30, r3 on day 100, r2 stays: 3, 3, 2, 1, 1 on days 0, 30, 90, 180, 365; unrecovered
    u1 churns on day 10: 2, 1, 1, 1, 1; in recovery i1 stays: 1 throughout; never failed n1
    churns on day 60, n2 on day 200: 4, 4, 3, 3, 2."""
    from tests.metrics.test_survival_landmark import AS_OF as LATEST
    from tests.metrics.test_survival_landmark import _hand_world

    _hand_world(engine)
    insert_rows(
        engine,
        "tickets",
        [{"ticket_id": "q", "customer_id": "n4", "created_at": LATEST, "type": "question"}],
    )
    at = run_app(warehouse_url, page="views/recovery.py", dates=ALL_DATES)
    assert not at.exception
    table = _table(at, "day 0")
    assert list(table.columns) == ["group", *(f"day {d}" for d in (0, 30, 90, 180, 365))]
    at_risk = {row[0]: [int(n) for n in row[1:]] for row in table.itertuples(index=False)}
    assert at_risk == {
        "Recovered": [3, 3, 2, 1, 1],
        "Unrecovered": [2, 1, 1, 1, 1],
        "In recovery": [1, 1, 1, 1, 1],
        "Never failed": [4, 4, 3, 3, 2],
    }
    survival = compute_survival(get_engine(warehouse_url, read_only=True), DEFAULTS)
    # Numbers (the table sorts them as numbers), in percent, shown with a % format.
    horizon = _table(at, "95% CI low (%)")
    for column, key in (
        ("still a customer at day 90 (%)", "survival"),
        ("95% CI low (%)", "ci_low"),
        ("95% CI high (%)", "ci_high"),
    ):
        assert list(horizon[column]) == pytest.approx(
            [g["at_horizon"][key] * 100 for g in survival["groups"]]
        )
    texts = _texts(at)
    assert any(t.startswith("The landmark is 2024-01-01, 365 days before") for t in texts)
    # The legend names the curves drawn, no more.
    spec, _ = _chart_data(at, "at_risk")
    (band, _line) = spec["layer"]
    assert band["encoding"]["color"]["scale"]["domain"] == [
        "Recovered",
        "Unrecovered",
        "In recovery",
        "Never failed",
    ]

    # A split by recovery quality: its groups, as compute_survival(by=...) gives them.
    at.selectbox(key="split").set_value("one_touch").run()
    assert not at.exception
    split = compute_survival(get_engine(warehouse_url, read_only=True), DEFAULTS, "one_touch")
    names = [g["group"] for g in split["groups"]]
    assert names and set(names) <= {"one touch", "not one touch", "replies unknown"}
    assert list(_table(at, "day 0")["group"]) == names
    spec, _ = _chart_data(at, "at_risk")
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == names


def test_the_recovery_page_shows_the_paradox_by_segment(run_app, engine, loaded_warehouse):
    at = run_app(loaded_warehouse, page="views/recovery.py", dates=ALL_DATES)
    assert not at.exception
    report = compute_kpis(
        get_engine(loaded_warehouse, read_only=True),
        DEFAULTS,
        SliceRequest(start=ALL_RANGE[0], end=ALL_RANGE[1]),
    )
    table = _table(at, "segment")
    segments = report["paradox_by_segment"]
    assert len(segments) == len(table) >= 1
    for row, found in zip(table.to_dict("records"), segments, strict=True):
        delta = found["retention_delta"]
        assert row["90-day retention: n recovered"] == delta["n"]["recovered"]
        assert row["90-day retention: n never failed"] == delta["n"]["never_failed"]
        nps = found["nps_delta"]
        assert row["NPS: verdict"] == (nps["verdict"] or "not enough data").replace("_", " ")
    texts = _texts(at)
    # The bars, the curves and the money: each says the filters do not apply to it.
    assert sum("Company-wide, at the data's as-of time" in t for t in texts) == 3
