"""Chart builders: given metric results, expect these encodings, units and data rows."""

import struct

import polars as pl
import pytest

from dashboard.charts import (
    COMPLETE,
    GROUP_COLORS,
    INCOMPLETE,
    INCOMPLETE_DASH,
    PALETTE,
    PICK,
    by_dimension_chart,
    png,
    png_spec,
    recovery_group_chart,
    survival_chart,
    trend_chart,
    triangle_chart,
)


def _row(period: str, complete: bool = True, **kpis) -> dict:
    return {
        "period_start": period,
        "complete": complete,
        "kpis": kpis,
        "n": dict.fromkeys(kpis, 40),
        "small": False,
    }


@pytest.fixture
def weeks() -> list[dict]:
    """Three weeks of compute_slice rows; the last has no tickets acknowledged."""
    return [
        _row("2026-09-07", tta_median_minutes=30.0, tta_p90_minutes=400.0, one_touch_rate=0.6),
        _row("2026-09-14", tta_median_minutes=25.0, tta_p90_minutes=200.0, one_touch_rate=0.7),
        _row("2026-09-21", tta_median_minutes=None, tta_p90_minutes=None, one_touch_rate=None),
    ]


@pytest.fixture
def maturing() -> list[dict]:
    """Four weeks; the last two are not yet complete (the as_of week's p90 looks best)."""
    return [
        _row("2026-09-07", tta_p90_minutes=2760.0),
        _row("2026-09-14", tta_p90_minutes=2700.0),
        _row("2026-09-21", False, tta_p90_minutes=1900.0),
        _row("2026-09-28", False, tta_p90_minutes=1200.0),
    ]


@pytest.fixture
def groups() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "group": ["recovered", "never_failed", "unrecovered", "in_recovery"],
            "customers_at_t0": [40, 40, 10, 3],
            "retention": [0.95, 0.7, 0.4, None],
            "retention_ci_low": [0.88, 0.55, 0.1, None],
            "retention_ci_high": [0.99, 0.82, 0.7, None],
            "nps_responses": [40, 40, 0, 1],
            "nps": [75.0, -50.0, None, 100.0],
            "nps_ci_low": [60.0, -70.0, None, None],
            "nps_ci_high": [90.0, -30.0, None, None],
        }
    )


def _datasets(spec: dict) -> list[list[dict]]:
    return list(spec["datasets"].values())


def _pick(spec: dict) -> dict:
    """The chart's click selection (a layered chart lifts it to the top)."""
    (param,) = spec.get("params") or spec["layer"][0]["params"]
    assert param["name"] == PICK and param["select"]["on"] == "click"
    return param


def _rows_of(spec: dict, size: int) -> list[dict]:
    (rows,) = [rows for rows in _datasets(spec) if len(rows) == size]
    return rows


def test_tta_trend_runs_to_hours_with_the_target_as_a_rule(weeks):
    spec = trend_chart(weeks, ["tta_median_minutes", "tta_p90_minutes"], "week", 60).to_dict()
    lines, _, _, rule = spec["layer"]  # solid and dashed lines, points, the target
    assert lines["encoding"]["y"]["title"] == "Time to acknowledge (hours)"  # 400 min: hours
    assert lines["encoding"]["x"]["title"] == "Week starting"
    assert lines["encoding"]["x"]["sort"] == {"field": "period_start", "op": "min"}
    rows = _rows_of(spec, 6)  # two statistics for three weeks
    p90 = {r["period"]: r["value"] for r in rows if r["series"] == "90th percentile"}
    assert p90["07 Sep"] == pytest.approx(400 / 60)
    assert rule["mark"]["type"] == "rule" and _rows_of(spec, 1) == [{"target": 1.0}]
    # a click picks a period and the line (the KPI) it is on
    assert _pick(spec)["select"]["fields"] == ["period_start", "kpi"]


def test_short_times_stay_in_minutes_and_rates_are_percent(weeks):
    spec = trend_chart(weeks[1:], ["tta_median_minutes"], "week").to_dict()
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Time to acknowledge, median (minutes)"
    assert len(spec["layer"]) == 3  # lines and points; no target, no rule
    rate = trend_chart(weeks, ["one_touch_rate"], "month", 0.5).to_dict()["layer"][0]
    assert rate["encoding"]["y"]["axis"]["format"] == ".0%"  # 60% and 70%: whole percents
    assert rate["encoding"]["y"]["title"] == "One-touch resolution (%)"
    assert rate["encoding"]["x"]["field"] == "period"  # one labelled category per period
    months = trend_chart(weeks, ["one_touch_rate"], "month").to_dict()
    assert [r["period"] for r in _rows_of(months, 3)] == ["Sep 2026"] * 3


def test_by_dimension_chart_labels_ids_by_name_and_picks_the_id():
    rows = [
        {"group": "5", **_row("2026-09-07", one_touch_rate=0.5)},
        {"group": "5", **_row("2026-09-14", one_touch_rate=0.25)},
    ]
    spec = by_dimension_chart(
        rows, "one_touch_rate", "group", "Group", "week", ["VIP", "VIP"]
    ).to_dict()
    row = _rows_of(spec, 2)[0]
    assert (row["value_of"], row["shown_as"]) == ("5", "VIP")
    _, points, _ = spec["layer"]
    assert points["encoding"]["color"]["field"] == "shown_as"  # the legend names it
    assert spec["params"][0]["select"]["fields"][0] == "value_of"  # a click picks the id


def test_by_dimension_chart_has_a_line_per_value_and_marks_small_groups():
    rows = [
        {"channel": "chat", **_row("2026-09-07", one_touch_rate=0.5)},
        {"channel": None, **_row("2026-09-14", one_touch_rate=0.25), "small": True},
    ]
    spec = by_dimension_chart(rows, "one_touch_rate", "channel", "Channel", "week").to_dict()
    data = _rows_of(spec, 2)
    assert [(r["value_of"], r["value"], r["small"]) for r in data] == [
        ("chat", 0.5, ""),
        ("(none)", 0.25, "small group"),
    ]
    lines, points, _ = spec["layer"]
    assert lines["encoding"]["color"]["scale"]["range"] == list(PALETTE)
    hollow = points["encoding"]["fill"]
    assert hollow["condition"] == {"test": "datum.small == 'small group'", "value": "white"}
    assert hollow["field"] == "shown_as"  # other points are filled with their line's colour
    assert _pick(spec)["select"]["fields"] == ["value_of", "period_start"]


def test_one_period_by_dimension_is_labelled_bars_not_a_column_of_points():
    rows = [
        {"channel": "chat", **_row("2026-09-07", one_touch_rate=0.5)},
        {"channel": "api", **_row("2026-09-07", one_touch_rate=0.25), "small": True},
    ]
    spec = by_dimension_chart(rows, "one_touch_rate", "channel", "Channel", "week").to_dict()
    bars, text = spec["layer"]
    # each bar by its label (a group by its name), a click picks the id (below)
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x"]["field"] == "shown_as"
    assert bars["encoding"]["fill"]["condition"]["value"] == "white"  # the small one hollow
    assert text["encoding"]["text"]["field"] == "bar_label"
    n = rows[0]["n"]["one_touch_rate"]
    labels = [r["bar_label"] for r in _rows_of(spec, 2)]
    assert labels == [f"50.0% · n={n:,}", f"25.0% · n={n:,} · small"]
    assert _pick(spec)["select"]["fields"] == ["value_of", "period_start"]


@pytest.mark.parametrize("measure", ["nps", "retention"])
def test_recovery_group_chart_has_bars_intervals_and_fixed_group_colours(groups, measure):
    spec = recovery_group_chart(groups, measure).to_dict()
    bars, intervals = spec["layer"]
    assert bars["mark"]["type"] == "bar" and intervals["mark"]["type"] == "errorbar"
    assert (intervals["encoding"]["y"]["field"], intervals["encoding"]["y2"]["field"]) == (
        "ci_low",
        "ci_high",
    )
    assert bars["encoding"]["color"]["scale"]["range"] == list(GROUP_COLORS.values())
    (rows,) = _datasets(spec)
    assert [row["recovery_group"] for row in rows] == [
        "recovered",
        "never_failed",
        "unrecovered",
        "in_recovery",
    ]
    assert _pick(spec)["select"]["fields"] == ["recovery_group"]


def test_recovery_group_chart_reads_the_measure_columns(groups):
    spec = recovery_group_chart(groups, "retention", horizon_days=30).to_dict()
    (rows,) = _datasets(spec)
    assert rows[0]["value"] == 0.95
    assert (rows[0]["ci_low"], rows[0]["ci_high"]) == (0.88, 0.99)
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Retained after 30 days (%)"
    with pytest.raises(ValueError, match="measure"):
        recovery_group_chart(groups, "csat")


def test_survival_chart_draws_each_curve_with_its_band():
    curve = [{"day": 1, "at_risk": 10, "survival": 0.9, "ci_low": 0.6, "ci_high": 0.98}]
    survival = {"groups": [{"group": "recovered", "curve": curve}]}
    spec = survival_chart(survival).to_dict()
    band, line = spec["layer"]
    # The legend names the curves drawn: one group here, not the four recovery groups.
    assert band["encoding"]["color"]["scale"]["domain"] == ["Recovered"]
    assert band["mark"]["type"] == "area" and band["encoding"]["y2"]["field"] == "ci_high"
    assert line["encoding"]["y"]["axis"]["format"] == "%"
    assert _rows_of(spec, 1)[0]["group"] == "Recovered"


def test_triangle_is_a_heatmap_with_a_colour_blind_safe_scale():
    cohorts = {
        "cohorts": [
            {
                "cohort": "2026-08",
                "recovery_group": None,
                "customers": 4,
                "months": [{"month": 1, "retained": 3, "share": 0.75}],
            }
        ]
    }
    spec = triangle_chart(cohorts).to_dict()
    rect, text = spec["layer"]
    assert rect["mark"]["type"] == "rect" and text["mark"]["type"] == "text"
    assert rect["encoding"]["color"]["scale"]["scheme"] == "cividis"
    size, cell = _rows_of(spec, 2)  # the cohort's size, then its one month
    assert cell == {
        "cohort": "2026-08",
        "group": "All",
        "recovery_group": None,
        "kind": "cell",
        "column": "+1",
        "month": 1,
        "share": 0.75,
        "retained": 3,
        "customers": 4,
        "label": "75%",
    }
    assert (size["kind"], size["label"], size["customers"]) == ("size", "4", 4)
    assert text["encoding"]["text"]["field"] == "label"


def test_png_is_an_image_of_the_chart_at_a_fixed_width(weeks):
    image = png(trend_chart(weeks, ["one_touch_rate"], "week"), "One-touch resolution")
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", image[16:24])  # the IHDR chunk
    assert width > 2 * 600 and height > 2 * 200  # 720 px wide plot at scale 2, with axes


def test_periods_over_more_than_a_year_carry_the_year():
    rows = [_row("2025-12-29", one_touch_rate=0.5), _row("2026-12-28", one_touch_rate=0.6)]
    spec = trend_chart(rows, ["one_touch_rate"], "week").to_dict()
    assert [r["period"] for r in _rows_of(spec, 2)] == ["29 Dec 2025", "28 Dec 2026"]


def _layers(spec: dict) -> tuple[dict, dict, dict]:
    """The trend's solid line, dashed line and points layers."""
    solid, dashed, points = spec["layer"][:3]
    return solid, dashed, points


def test_an_incomplete_period_is_dashed_hollow_and_says_so(maturing):
    spec = trend_chart(maturing, ["tta_p90_minutes"], "week", 60).to_dict()
    solid, dashed, points = _layers(spec)
    rows = _rows_of(spec, 4)
    assert [(r["period"], r["status"]) for r in rows] == [
        ("07 Sep", COMPLETE),
        ("14 Sep", COMPLETE),
        ("21 Sep", INCOMPLETE),
        ("28 Sep", INCOMPLETE),
    ]
    # The solid line runs over complete weeks; the dashed one from the last complete week on.
    assert [r["period"] for r in rows if r["solid"]] == ["07 Sep", "14 Sep"]
    assert [r["period"] for r in rows if r["dashed"]] == ["14 Sep", "21 Sep", "28 Sep"]
    assert {"filter": "datum.solid"} in solid["transform"]
    assert {"filter": "datum.dashed"} in dashed["transform"]
    dash = dashed["encoding"]["strokeDash"]
    assert dash["scale"] == {"domain": [COMPLETE, INCOMPLETE], "range": [[1, 0], INCOMPLETE_DASH]}
    assert dash["legend"] is not None  # the legend names the dashed segment
    # An incomplete week's point is hollow, and its tooltip says why.
    hollow = points["encoding"]["fill"]["condition"]
    assert hollow == {"test": f"datum.status == '{INCOMPLETE}'", "value": "white"}
    tooltip = {t["field"]: t["title"] for t in points["encoding"]["tooltip"]}
    assert tooltip["status"] == "Period" and INCOMPLETE.startswith("incomplete")


def test_complete_periods_have_no_dashed_segment(weeks):
    spec = trend_chart(weeks, ["one_touch_rate"], "week").to_dict()
    rows = _rows_of(spec, 3)
    assert all(r["solid"] and not r["dashed"] for r in rows)


def test_by_dimension_chart_dashes_incomplete_periods():
    rows = [
        {"channel": "chat", **_row("2026-09-07", one_touch_rate=0.5)},
        {"channel": "chat", **_row("2026-09-14", False, one_touch_rate=0.9)},
    ]
    spec = by_dimension_chart(rows, "one_touch_rate", "channel", "Channel", "week").to_dict()
    data = _rows_of(spec, 2)
    assert [(r["status"], r["solid"], r["dashed"]) for r in data] == [
        (COMPLETE, True, True),
        (INCOMPLETE, False, True),
    ]
    _, points, dashed = spec["layer"]
    assert dashed["encoding"]["strokeDash"]["scale"]["range"][1] == INCOMPLETE_DASH
    assert "status" in [t["field"] for t in points["encoding"]["tooltip"]]


def test_an_all_zero_rate_gets_a_whole_axis_not_one_tick():
    """A reopen rate of 0% every week: the axis runs 0% to 100% in whole percents (before, a
    single tick whose precision the browser chose: "0.000000%")."""
    import re

    import vl_convert

    rows = [_row("2026-09-07", reopen_rate=0.0), _row("2026-09-14", reopen_rate=0.0)]
    spec = trend_chart(rows, ["reopen_rate"], "week").to_dict()
    y = spec["layer"][0]["encoding"]["y"]
    assert y["axis"]["format"] == ".0%" and y["scale"] == {"domain": [0, 1]}
    spec["width"] = 400
    labels = re.findall(r"<text[^>]*>([^<]*%)<", vl_convert.vegalite_to_svg(spec))
    assert labels[0] == "0%" and labels[-1] == "100%" and len(labels) > 2
    small = trend_chart([_row("2026-09-07", reopen_rate=0.012)], ["reopen_rate"], "week")
    assert small.to_dict()["layer"][0]["encoding"]["y"]["axis"]["format"] == ".1%"


def test_a_chart_without_a_value_is_not_drawn(weeks):
    from dashboard.charts import has_values

    assert has_values(weeks, ["one_touch_rate"])
    assert not has_values(weeks[2:], ["tta_median_minutes", "tta_p90_minutes"])


def test_an_exported_chart_carries_its_title_range_and_filters(weeks, monkeypatch):
    import datetime as dt
    from types import SimpleNamespace

    from dashboard import ui
    from dashboard.filters import Selection

    chosen = Selection(
        dt.date(2026, 10, 1), dt.date(2026, 10, 31), "week", (("channel", ("chat", "email")),)
    )
    monkeypatch.setattr(
        ui, "context", lambda: SimpleNamespace(as_of="2026-10-31T23:59:59Z", selection=chosen)
    )
    chart = trend_chart(weeks, ["one_touch_rate"], "week")
    spec = png_spec(chart, "One-touch resolution", ui.png_subtitle())
    assert spec["title"] == {
        "text": "One-touch resolution",
        "subtitle": [
            "Data as of 31 Oct 2026, 23:59 UTC · 01 Oct 2026 to 31 Oct 2026 (31 days)",
            "Filters: Channel: chat, email",
        ],
        "anchor": "start",
    }
    assert spec["width"] == 720
    company = png_spec(chart, "Retention triangle", ui.png_subtitle(company_wide=True))
    assert company["title"]["subtitle"][1] == "Company-wide: the range and filters do not apply"
    assert png(chart, "One-touch resolution", ui.png_subtitle())[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_duration_column_sorts_as_numbers():
    """Medians of 8 min, 4 h 33 m, 3 min and 18 h 37 m: as text, descending, they sorted
    "8.0 min", "4 h 33 m", "3.0 min", "18 h 37 m"; as numbers (hours: they run past three
    hours, as the charts switch) 18.6, 4.55, 0.133, 0.05."""
    from dashboard import ui

    values, title, column = ui.kpi_values("tta_median_minutes", [8.0, 273.0, 3.0, 1117.0])
    assert title == "Time to acknowledge, median (hours)"
    frame = pl.DataFrame({title: values})
    assert frame.schema[title] == pl.Float64
    ordered = frame.sort(title, descending=True)[title].to_list()
    assert ordered == pytest.approx([1117 / 60, 273 / 60, 8 / 60, 3 / 60])
    assert column["type_config"]["format"] == "%.1f"
    rates, title, column = ui.kpi_values("one_touch_rate", [0.9, 0.25, None])
    assert rates == pytest.approx([90.0, 25.0, None]) and title == "One-touch resolution (%)"
    assert column["type_config"]["format"] == "%.1f%%"
