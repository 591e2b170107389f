"""The default as_of is the latest event the warehouse knew of when it was last loaded: a
future churned_at (scheduled churn), or a far date stored before loads checked the range,
never moves it. DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from metrics import compute_kpis, data_as_of
from tests.conftest import insert_rows
from warehouse.schema import etl_runs

LOADED_AT = dt.datetime(2024, 6, 30, 12, 0)


def _loaded(engine: sa.Engine, ended_at: dt.datetime = LOADED_AT) -> None:
    with engine.begin() as conn:
        conn.execute(
            etl_runs.insert(),
            [
                {
                    "batch_id": f"b-{ended_at:%Y%m%d%H%M%S}",
                    "started_at": ended_at - dt.timedelta(minutes=1),
                    "ended_at": ended_at,
                    "status": "succeeded",
                    "files": 1,
                }
            ],
        )


def _rows(engine: sa.Engine, churned_at: dt.datetime | None, responded_at: dt.datetime) -> None:
    insert_rows(
        engine,
        "customers",
        [{"customer_id": "c1", "signup_at": dt.datetime(2024, 1, 1), "churned_at": churned_at}],
    )
    insert_rows(
        engine,
        "nps_responses",
        [
            {
                "response_id": "r1",
                "customer_id": "c1",
                "responded_at": dt.datetime(2024, 6, 1),
                "score": 9,
            },
            {"response_id": "r2", "customer_id": "c1", "responded_at": responded_at, "score": 3},
        ],
    )


def test_a_future_churned_at_does_not_move_as_of(any_engine):
    _rows(any_engine, dt.datetime(2099, 1, 1), dt.datetime(2024, 6, 2))
    _loaded(any_engine)
    result = compute_kpis(any_engine)
    assert result["as_of"] == "2024-06-02T00:00:00Z"  # the latest response, not the churn
    assert result["kpis"]["nps"] == 0.0  # one promoter, one detractor


def test_a_far_date_stored_before_the_check_does_not_move_as_of(any_engine):
    _rows(any_engine, None, dt.datetime(9999, 12, 31, 23, 59, 59))
    _loaded(any_engine)
    result = compute_kpis(any_engine)
    assert result["as_of"] == "2024-06-01T00:00:00Z"
    assert result["kpis"]["nps"] == 100.0  # the far response is after as_of: not yet given


def test_a_past_churn_still_counts(any_engine):
    _rows(any_engine, dt.datetime(2024, 6, 20), dt.datetime(2024, 6, 2))
    _loaded(any_engine)
    assert data_as_of(any_engine) == "2024-06-20T00:00:00Z"


def test_without_a_recorded_load_nothing_after_now_counts(any_engine):
    _rows(any_engine, dt.datetime(2099, 1, 1), dt.datetime(9999, 12, 31))
    assert data_as_of(any_engine) == "2024-06-01T00:00:00Z"


def test_the_latest_successful_load_is_the_bound(any_engine):
    _rows(any_engine, dt.datetime(2099, 1, 1), dt.datetime(2025, 3, 1))
    _loaded(any_engine)
    assert data_as_of(any_engine) == "2024-06-01T00:00:00Z"  # 2025 was future then
    _loaded(any_engine, dt.datetime(2025, 3, 2))
    assert data_as_of(any_engine) == "2025-03-01T00:00:00Z"
