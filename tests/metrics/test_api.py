"""The public API's shapes: the JSON contract, weekly trends, the catalog and formatting."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from metrics import (
    KPI_CATALOG,
    MetricParams,
    compute_kpis,
    format_value,
    recovery_groups,
    weekly_trends,
)
from tests.metrics.rows import insert


@pytest.fixture
def engine(any_engine):
    """Every test here runs on DuckDB and on PostgreSQL."""
    return any_engine


CONTRACT_KPIS = [
    "tta_median_minutes",
    "tta_p90_minutes",
    "tta_within_target_pct",
    "one_touch_rate",
    "handoff_rate",
    "recovered_retention",
    "never_failed_retention",
    "unrecovered_retention",
    "attrition_rate_12m",
    "nps",
    "nps_recovered",
    "nps_never_failed",
]
NO_VALUES = {"value": None, "ci_low": None, "ci_high": None, "verdict": "not_enough_data"}
NO_ONE = {"recovered": 0, "never_failed": 0}
NO_MATCH = NO_VALUES | {
    "n": NO_ONE,
    "customers": NO_ONE,
    "method": "direct_standardisation",
    "variance": "cluster_robust",
    "matched_on": ["tenure_band", "segment", "plan"],
    "strata": 0,
    "strata_dropped": 0,
    "unmatched": {"recovered": 0},
}


def test_an_empty_warehouse_gives_no_as_of_and_no_values(engine):
    result = compute_kpis(engine)
    assert result == {
        "as_of": None,
        "kpis": dict.fromkeys(KPI_CATALOG),
        "n": dict.fromkeys(KPI_CATALOG),
        "paradox": {
            "nps_delta": NO_VALUES
            | {"n": NO_ONE, "customers": NO_ONE, "method": "cluster_robust_wald"}
            | {"matched": NO_MATCH},
            "retention_delta": NO_VALUES
            | {"n": NO_ONE, "method": "newcombe_hybrid_score", "matched": NO_MATCH},
            "csat_delta": NO_VALUES
            | {
                "n": {"recovered": 0, "ordinary": 0},
                "customers": {"recovered": 0, "ordinary": 0},
                "method": "cluster_robust_wald",
            },
            "primary": "retention_delta",
            "primary_comparison": "matched",
        },
        "paradox_by_segment": [],
        "hindsight": None,
    }
    assert weekly_trends(engine).is_empty()
    assert recovery_groups(engine)["customers_at_t0"].to_list() == [0, 0, 0, 0]


def test_as_of_defaults_to_the_latest_timestamp_in_the_warehouse(engine):
    insert(
        engine,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "customer_id": "c1",
                "created_at": dt.datetime(2024, 3, 1),
                "solved_at": dt.datetime(2024, 3, 2, 8, 30),
                "updated_at": dt.datetime(2024, 3, 2),
            }
        ],
    )
    insert(engine, "customers", [{"customer_id": "c1", "signup_at": dt.datetime(2023, 1, 1)}])
    result = compute_kpis(engine)
    assert result["as_of"] == "2024-03-02T08:30:00Z"
    # the contract's twelve first, in its order; later KPIs are added after them
    assert list(result["kpis"])[: len(CONTRACT_KPIS)] == CONTRACT_KPIS
    assert list(result["kpis"]) == list(KPI_CATALOG)
    assert json.loads(json.dumps(result)) == result


def test_an_aware_as_of_is_read_as_utc(engine):
    as_of = dt.datetime(2024, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert compute_kpis(engine, MetricParams(as_of=as_of))["as_of"] == "2024-03-02T08:00:00Z"


def test_weekly_trends_one_row_per_iso_week_up_to_as_of(engine):
    monday = dt.datetime(2024, 5, 6)
    insert(
        engine,
        "tickets",
        [
            {
                "ticket_id": f"t{i}",
                "customer_id": "c1",
                "created_at": monday + dt.timedelta(days=i % 3, hours=1),
                "first_reply_at": monday + dt.timedelta(days=i % 3, hours=1, minutes=10 * i),
                "status": "solved",
                "solved_at": monday + dt.timedelta(days=4),
                "agent_replies": i,
            }
            for i in range(1, 5)
        ],
    )
    frame = weekly_trends(engine, MetricParams(as_of=dt.datetime(2024, 5, 22, 9)), weeks=4)
    assert frame.columns == [
        "week_start",
        "tickets_created",
        "tta_median_minutes",
        "tta_p90_minutes",
        "one_touch_rate",
        "complete",
    ]
    assert frame["week_start"].to_list() == [
        dt.date(2024, 4, 29),
        dt.date(2024, 5, 6),
        dt.date(2024, 5, 13),
        dt.date(2024, 5, 20),
    ]
    assert frame["tickets_created"].to_list() == [0, 4, 0, 0]
    week = frame.row(1, named=True)
    assert week["tta_median_minutes"] == pytest.approx(25.0)
    assert week["tta_p90_minutes"] == pytest.approx(37.0)
    assert week["one_touch_rate"] == pytest.approx(1 / 4)
    assert frame.row(0, named=True)["tta_median_minutes"] is None


def test_recovery_groups_shape(engine):
    frame = recovery_groups(engine, MetricParams(as_of=dt.datetime(2024, 1, 1)))
    assert frame["group"].to_list() == ["recovered", "never_failed", "unrecovered", "in_recovery"]
    assert frame.schema["nps_responses"] == pl.Int64
    assert frame.columns[-1] == "nps_ci_high"


def test_catalog_declares_every_kpi_of_the_contract():
    assert list(KPI_CATALOG)[: len(CONTRACT_KPIS)] == CONTRACT_KPIS
    for name, kpi in KPI_CATALOG.items():
        assert kpi.name == name
        assert kpi.unit in ("minutes", "ratio", "nps", "count")
        assert kpi.label and kpi.description


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("tta_median_minutes", 42.3, "42 min"),
        ("tta_median_minutes", 4.54, "4.5 min"),
        ("tta_p90_minutes", 59.6, "1 h 00 m"),
        ("tta_p90_minutes", 65.0, "1 h 05 m"),
        ("tta_p90_minutes", 150.0, "2 h 30 m"),
        ("tta_p90_minutes", 24 * 60 + 190, "1 d 03 h"),
        ("one_touch_rate", 0.7318, "73.2%"),
        ("nps", 12.5, "+12.5"),
        ("nps_recovered", -3.0, "-3.0"),
        ("retention_delta", 0.032, "+3.2 pp"),
        ("handoff_rate", None, "—"),
    ],
)
def test_format_value(name, value, shown):
    assert format_value(name, value) == shown


def test_format_value_refuses_an_unknown_kpi():
    with pytest.raises(KeyError, match="unknown KPI"):
        format_value("nope", 1.0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("one_touch", "zendesk", "one_touch must be one of explore, dbt_zendesk, not 'zendesk'"),
        ("count", "tickets_", "count must be one of tickets, episodes, customers, not 'tickets_'"),
    ],
)
def test_parameters_outside_their_vocabulary_are_refused_in_words(field, value, message):
    with pytest.raises(ValueError) as refused:
        MetricParams(**{field: value})
    assert str(refused.value) == message
