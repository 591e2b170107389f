"""The Zendesk satisfaction_ratings stream: read from an API page, bare JSON Lines and
Airbyte records into ticket_ratings (newest version of each rating wins); a rating with an
unknown score or no time goes to the quarantine with its reason. DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from etl.pipeline.load import LoadOptions, load_paths
from warehouse.schema import tables, ticket_ratings


def rating(rating_id: int, score: str, updated_at: str) -> dict:
    return {
        "url": f"https://example.zendesk.com/api/v2/satisfaction_ratings/{rating_id}.json",
        "id": rating_id,
        "ticket_id": 40 + rating_id,
        "requester_id": 7,
        "score": score,
        "created_at": "2024-02-01T09:00:00Z",
        "updated_at": updated_at,
    }


def stored(engine) -> list[tuple]:
    r = ticket_ratings.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(r.source, r.rating_id, r.ticket_id, r.score, r.updated_at).order_by(
                r.rating_id
            )
        ).all()
    return [tuple(row) for row in rows]


def test_every_shape_of_the_stream_is_read(any_engine, tmp_path):
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps(
            {
                "satisfaction_ratings": [rating(1, "good", "2024-02-02T10:00:00Z")],
                "next_page": None,
                "count": 1,
            }
        )
    )
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps(rating(2, "Bad", "2024-02-03T10:00:00Z")) + "\n")
    airbyte = tmp_path / "airbyte.jsonl"
    airbyte.write_text(
        json.dumps(
            {"stream": "satisfaction_ratings", "data": rating(3, "offered", "2024-02-04T10:00:00Z")}
        )
        + "\n"
    )
    report = load_paths(any_engine, [page, bare, airbyte])
    assert report.status == "succeeded"
    assert stored(any_engine) == [
        ("zendesk", "1", "41", "good", dt.datetime(2024, 2, 2, 10)),
        ("zendesk", "2", "42", "bad", dt.datetime(2024, 2, 3, 10)),
        ("zendesk", "3", "43", "offered", dt.datetime(2024, 2, 4, 10)),
    ]
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps(rating(1, "bad", "2024-03-01T10:00:00Z")) + "\n")
    assert load_paths(any_engine, [newer]).totals()["rows_replaced"] == 1
    assert stored(any_engine)[0][3:] == ("bad", dt.datetime(2024, 3, 1, 10))


def test_a_rating_that_cannot_be_read_goes_to_the_quarantine(any_engine, tmp_path):
    path = tmp_path / "ratings.jsonl"
    lines = [
        rating(1, "good", "2024-02-02T10:00:00Z"),
        rating(2, "splendid", "2024-02-02T10:00:00Z"),
        rating(3, "good", None),
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = load_paths(any_engine, [path], LoadOptions(quarantine_limit=1.0))
    assert report.totals()["rows_quarantined"] == 2
    q = tables["quarantine"].c
    with any_engine.connect() as conn:
        reasons = conn.execute(sa.select(q.reason).order_by(q.row_number)).scalars().all()
    assert "'splendid' is not one of good, bad, offered, unoffered" in reasons[0]
    assert "has no time" in reasons[1]
    assert [row[1] for row in stored(any_engine)] == ["1"]
