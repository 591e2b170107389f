"""Tickets Zendesk deleted (status ``deleted`` in the incremental export) leave the metrics
but stay counted: stored with their status, named in the run report, never brought back by
an older copy of the ticket."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline.load import LoadOptions, load_paths
from metrics import MetricParams, compute_kpis

AS_OF = dt.datetime(2024, 4, 1)


def _ticket(ticket_id: int, status: str, updated_at: str) -> dict:
    return {
        "id": ticket_id,
        "via": {"channel": "email"},
        "created_at": "2024-03-01T09:00:00Z",
        "updated_at": updated_at,
        "type": "incident",
        "priority": "normal",
        "status": status,
        "requester_id": 7,
        "tags": [],
        "custom_fields": [],
        "satisfaction_rating": None,
    }


def _metric(ticket_id: int, reply_minutes: int) -> dict:
    return {
        "id": 5000 + ticket_id,
        "ticket_id": ticket_id,
        "replies": 1,
        "reopens": 0,
        "assignee_stations": 1,
        "group_stations": 1,
        "solved_at": "2024-03-01T12:00:00Z",
        "updated_at": "2024-03-01T12:00:00Z",
        "reply_time_in_minutes": {"calendar": reply_minutes, "business": reply_minutes},
    }


def _export(path: Path, tickets: list[dict], metrics: list[dict]) -> Path:
    """One page of the incremental ticket export, as GET .../incremental/tickets/cursor.json
    returns it."""
    page = {
        "tickets": tickets,
        "ticket_metrics": metrics,
        "users": [{"id": 7, "role": "end-user", "external_id": "CRM-7", "email": None}],
        "after_cursor": None,
        "end_of_stream": True,
        "end_time": 1711900000,
        "count": len(tickets),
    }
    path.write_text(json.dumps(page))
    return path


@pytest.fixture
def loaded(any_engine, tmp_path):
    path = _export(
        tmp_path / "incremental.json",
        [
            _ticket(1, "solved", "2024-03-01T12:00:00Z"),
            _ticket(2, "deleted", "2024-03-05T08:00:00Z"),
            _ticket(3, "solved", "2024-03-01T12:00:00Z"),
        ],
        [_metric(1, 10), _metric(2, 1000), _metric(3, 30)],
    )
    report = load_paths(any_engine, [path], LoadOptions())
    return any_engine, report


def _statuses(engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select ticket_id, status from tickets")).all()
    return dict(rows)


def test_a_deleted_ticket_is_stored_and_named_in_the_report(loaded):
    engine, report = loaded
    assert _statuses(engine) == {"1": "solved", "2": "deleted", "3": "solved"}
    assert report.totals()["rows_quarantined"] == 0
    assert report.notes == [
        "incremental.json: 1 ticket(s) deleted in zendesk: kept with status deleted, "
        "left out of every metric"
    ]
    assert report.as_json()["notes"] == report.notes
    with engine.connect() as conn:
        message = conn.execute(sa.text("select message from etl_runs")).scalar()
    assert message == report.notes[0]


def test_a_deleted_ticket_is_left_out_of_every_ticket_kpi(loaded):
    engine, _ = loaded
    kpis = compute_kpis(engine, MetricParams(as_of=AS_OF))["kpis"]
    # tickets 1 and 3 replied after 10 and 30 minutes; the deleted one's 1,000 is not counted
    assert kpis["tta_median_minutes"] == pytest.approx(20.0)
    assert kpis["tta_within_target_pct"] == pytest.approx(1.0)


def test_an_older_copy_does_not_bring_a_deleted_ticket_back(loaded, tmp_path):
    engine, _ = loaded
    older = _export(tmp_path / "older.json", [_ticket(2, "open", "2024-03-02T08:00:00Z")], [])
    report = load_paths(engine, [older], LoadOptions())
    assert report.stats[(str(older), "tickets")].rows_duplicates == 1
    assert _statuses(engine)["2"] == "deleted"
    kpis = compute_kpis(engine, MetricParams(as_of=AS_OF))["kpis"]
    assert kpis["tta_median_minutes"] == pytest.approx(20.0)
