"""Chart builders: given metric frames, expect these encodings and data rows."""

import datetime as dt

import polars as pl
import pytest

from dashboard.charts import one_touch_trend_chart, recovery_group_chart, tta_trend_chart


@pytest.fixture
def trends() -> pl.DataFrame:
    weeks = [dt.date(2026, 9, 7) + dt.timedelta(weeks=i) for i in range(3)]
    return pl.DataFrame(
        {
            "week_start": weeks,
            "tickets_created": [10, 12, 0],
            "tta_median_minutes": [30.0, 25.0, None],
            "tta_p90_minutes": [90.0, 70.0, None],
            "one_touch_rate": [0.6, 0.7, None],
        }
    )


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


def test_tta_trend_has_one_row_per_week_and_both_statistics(trends):
    spec = tta_trend_chart(trends).to_dict()
    assert len(spec["layer"]) == 1
    lines = spec["layer"][0]
    assert lines["transform"][0]["fold"] == ["Median", "90th percentile"]
    assert lines["encoding"]["x"]["field"] == "week_start"
    assert lines["encoding"]["x"]["type"] == "temporal"
    assert lines["encoding"]["y"]["title"] == "Time to acknowledge (minutes)"
    assert [len(rows) for rows in _datasets(spec)] == [3]
    assert spec["width"] == "container"


def test_tta_trend_draws_the_target(trends):
    spec = tta_trend_chart(trends, target_minutes=60).to_dict()
    rule = spec["layer"][1]
    assert rule["mark"]["type"] == "rule"
    assert rule["encoding"]["y"]["field"] == "target_minutes"
    assert sorted(len(rows) for rows in _datasets(spec)) == [1, 3]


def test_one_touch_trend_is_a_percentage_axis(trends):
    spec = one_touch_trend_chart(trends).to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["y"]["field"] == "one_touch_rate"
    assert spec["encoding"]["y"]["axis"]["format"] == "%"
    assert "%" in spec["encoding"]["y"]["title"]
    assert [len(rows) for rows in _datasets(spec)] == [3]


@pytest.mark.parametrize("measure", ["nps", "retention"])
def test_recovery_group_chart_has_bars_and_interval_bars(groups, measure):
    spec = recovery_group_chart(groups, measure).to_dict()
    bars, intervals = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    assert intervals["mark"]["type"] == "errorbar"
    assert intervals["encoding"]["y"]["field"] == "ci_low"
    assert intervals["encoding"]["y2"]["field"] == "ci_high"
    assert bars["encoding"]["x"]["sort"] == [
        "Recovered",
        "Never failed",
        "Unrecovered",
        "In recovery",
    ]
    (rows,) = _datasets(spec)
    assert [row["group"] for row in rows] == [
        "Recovered",
        "Never failed",
        "Unrecovered",
        "In recovery",
    ]


def test_recovery_group_chart_reads_the_measure_columns(groups):
    spec = recovery_group_chart(groups, "retention", horizon_days=30).to_dict()
    (rows,) = _datasets(spec)
    assert rows[0]["value"] == 0.95
    assert (rows[0]["ci_low"], rows[0]["ci_high"]) == (0.88, 0.99)
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Customers retained after 30 days (%)"


def test_recovery_group_chart_refuses_unknown_measure(groups):
    with pytest.raises(ValueError, match="measure"):
        recovery_group_chart(groups, "csat")
