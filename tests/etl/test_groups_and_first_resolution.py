"""Zendesk group names and first-resolution times reach the sliced metrics whatever the
order the exports are loaded in, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest

from etl.pipeline.load import load_paths
from metrics import MetricParams, compute_kpis
from metrics.slices import SliceRequest, compute_slice

TICKETS = {
    "tickets": [
        {
            "id": 1,
            "via": {"channel": "email"},
            "created_at": "2024-03-01T09:00:00Z",
            "updated_at": "2024-03-02T09:00:00Z",
            "status": "solved",
            "requester_id": 7,
            "group_id": 55,
            "tags": [],
        },
        {
            "id": 2,
            "via": {"channel": "chat"},
            "created_at": "2024-03-01T10:00:00Z",
            "updated_at": "2024-03-01T10:00:00Z",
            "status": "open",
            "requester_id": 7,
            "group_id": 66,
            "tags": [],
        },
    ]
}
GROUPS = {"groups": [{"id": 55, "name": "Billing", "updated_at": "2024-01-01T00:00:00Z"}]}
METRICS = {
    "ticket_metrics": [
        {
            "id": 9,
            "ticket_id": 1,
            "replies": 1,
            "reopens": 0,
            "solved_at": "2024-03-02T09:00:00Z",
            "updated_at": "2024-03-02T09:00:00Z",
            "reply_time_in_minutes": {"calendar": 30, "business": 30},
            "first_resolution_time_in_minutes": {"calendar": 600, "business": 120},
        }
    ]
}
PARAMS = MetricParams(as_of=dt.datetime(2024, 4, 1))


def write(tmp_path, name: str, content: dict):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize("order", list(itertools.permutations(["tickets", "groups", "metrics"])))
def test_any_load_order_gives_the_group_name_and_first_resolution(any_engine, tmp_path, order):
    files = {
        "tickets": write(tmp_path, "tickets", TICKETS),
        "groups": write(tmp_path, "groups", GROUPS),
        "metrics": write(tmp_path, "metrics", METRICS),
    }
    for name in order:  # one run per file
        load_paths(any_engine, [files[name]])
    result = compute_slice(any_engine, PARAMS, SliceRequest(by=("group",), kpis=("ticket_volume",)))
    # sliced by the stable id; the name beside it, the id where no name is known
    assert {(r["group"], r["group_name"]): r["kpis"]["ticket_volume"] for r in result["rows"]} == {
        ("55", "Billing"): 1,
        ("66", "66"): 1,
    }
    kpis = compute_kpis(any_engine, PARAMS)["kpis"]
    assert kpis["first_resolution_median_minutes"] == 600
    assert kpis["resolution_median_minutes"] == 24 * 60


def test_a_newer_groups_export_renames_the_group(any_engine, tmp_path):
    load_paths(any_engine, [write(tmp_path, "tickets", TICKETS), write(tmp_path, "g1", GROUPS)])
    renamed = {
        "groups": [{"id": 55, "name": "Billing & refunds", "updated_at": "2024-02-01T00:00:00Z"}]
    }
    report = load_paths(any_engine, [write(tmp_path, "g2", renamed)])
    assert report.totals()["rows_replaced"] == 1
    older = {"groups": [{**GROUPS["groups"][0], "description": "exported again"}]}
    stale = load_paths(any_engine, [write(tmp_path, "g3", older)])  # older: changes nothing
    assert stale.totals()["rows_duplicates"] == 1, stale.totals()
    result = compute_slice(any_engine, PARAMS, SliceRequest(by=("group",), kpis=("ticket_volume",)))
    assert {r["group"]: r["group_name"] for r in result["rows"]}["55"] == "Billing & refunds"
