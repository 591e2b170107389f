"""The tickets behind a number (metrics.tickets): hand-made tickets, expected rows worked out
by hand, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics import MetricParams, SliceRequest, compute_kpis
from metrics.dimensions import dimension_values
from metrics.tickets import customer_history, ticket_export, ticket_page
from tests.conftest import insert_rows

AS_OF = dt.datetime(2026, 10, 31, 12, 0)
DAY = dt.timedelta(days=1)


def _ticket(ticket_id: str, customer_id: str, created: dt.datetime, **columns) -> dict:
    return {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "created_at": created,
        "first_reply_at": created + dt.timedelta(minutes=20),
        "solved_at": created + DAY,
        "status": "solved",
        "channel": "email",
        "type": "question",
        "agent_replies": 1,
        "reopens": 0,
        "csat": "good",
        "updated_at": created + DAY,
    } | columns


@pytest.fixture
def tickets(any_engine):
    """t1 recovered (incident, put right), t2 not recovered (complaint, reopened), t3 in
    recovery (outage tag, open), t4 and t5 no failure (t5's update is the latest event, so
    as_of). c1 has t1 and t2; c2 has t3, t4 and t5."""
    insert_rows(
        any_engine,
        "customers",
        [
            {"customer_id": "c1", "signup_at": dt.datetime(2025, 1, 1), "plan": "pro"},
            {"customer_id": "c2", "signup_at": dt.datetime(2025, 3, 1), "plan": "basic"},
        ],
    )
    insert_rows(
        any_engine,
        "tickets",
        [
            _ticket("t1", "c1", AS_OF - 10 * DAY, type="incident"),
            _ticket("t2", "c1", AS_OF - 8 * DAY, tags=["complaint"], reopens=1, agent_replies=3),
            _ticket(
                "t3",
                "c2",
                AS_OF - 6 * DAY,
                tags=["outage"],
                status="open",
                solved_at=None,
                first_reply_at=None,
                channel="chat",
            ),
            _ticket("t4", "c2", AS_OF - 4 * DAY, csat="bad"),
            _ticket("t5", "c2", AS_OF - 2 * DAY, channel="chat", updated_at=AS_OF),
        ],
    )
    insert_rows(
        any_engine,
        "nps_responses",
        [{"response_id": "r1", "customer_id": "c1", "responded_at": AS_OF - DAY, "score": 9}],
    )
    return any_engine


def _ids(page: dict) -> list[str]:
    return [row["ticket_id"] for row in page["rows"]]


def test_every_ticket_with_its_recovery_status_newest_first(tickets):
    page = ticket_page(tickets)
    assert page["total"] == 5 and page["as_of"] == AS_OF.isoformat() + "Z"
    assert _ids(page) == ["t5", "t4", "t3", "t2", "t1"]
    status = {row["ticket_id"]: row["recovery_status"] for row in page["rows"]}
    assert status == {
        "t1": "recovered",
        "t2": "not recovered",
        "t3": "in recovery",
        "t4": "not a failure",  # a bad CSAT on a question is no failure
        "t5": "not a failure",
    }
    t2 = next(row for row in page["rows"] if row["ticket_id"] == "t2")
    assert t2["failure_tag"] == "complaint" and t2["tta_minutes"] == pytest.approx(20)
    assert t2["resolution_minutes"] == pytest.approx(24 * 60) and t2["agent_replies"] == 3


def test_filters_and_dates_narrow_to_what_the_kpi_counts(tickets):
    request = SliceRequest(where=(("channel", ("chat",)),), start=(AS_OF - 7 * DAY).date())
    page = ticket_page(tickets, request=request)
    assert _ids(page) == ["t5", "t3"]
    volume = SliceRequest(kpis=("ticket_volume",), where=request.where, start=request.start)
    narrowed = compute_kpis(tickets, MetricParams(), volume)
    assert narrowed["kpis"]["ticket_volume"] == page["total"] == 2
    # A customer filter: the tickets of pro customers.
    assert _ids(ticket_page(tickets, request=SliceRequest(where=(("plan", ("pro",)),)))) == [
        "t2",
        "t1",
    ]
    # --to ends the range (and the measuring instant) with that day.
    early = ticket_page(tickets, request=SliceRequest(end=(AS_OF - 7 * DAY).date()))
    assert _ids(early) == ["t2", "t1"]


def test_search_status_sort_and_pages(tickets):
    assert _ids(ticket_page(tickets, search="C2")) == ["t5", "t4", "t3"]  # any case, any part
    assert _ids(ticket_page(tickets, search="t1")) == ["t1"]
    assert _ids(ticket_page(tickets, search="%")) == []  # a wildcard is searched as text
    failures = ticket_page(tickets, status=("recovered", "in recovery"))
    assert _ids(failures) == ["t3", "t1"]
    by_tta = ticket_page(tickets, sort="tta_minutes", descending=False)
    assert _ids(by_tta)[-1] == "t3"  # unacknowledged: no TTA, last either way
    first, second = (ticket_page(tickets, offset=o, limit=2) for o in (0, 2))
    assert _ids(first) == ["t5", "t4"] and _ids(second) == ["t3", "t2"]
    assert second["total"] == 5 and second["offset"] == 2
    past = ticket_page(tickets, offset=40, limit=2)  # a page past the end: the last one
    assert (past["offset"], _ids(past)) == (4, ["t1"])
    with pytest.raises(ValueError, match="sort by one of"):
        ticket_page(tickets, sort="nope")
    with pytest.raises(ValueError, match="recovery status"):
        ticket_page(tickets, status=("mended",))


def test_export_gives_every_row_of_the_selection(tickets):
    chunks = list(ticket_export(tickets, request=SliceRequest(where=(("channel", ("email",)),))))
    rows = [row for chunk in chunks for row in chunk]
    assert [row["ticket_id"] for row in rows] == ["t4", "t2", "t1"]


def test_customer_history(tickets):
    history = customer_history(tickets, "c1")
    assert history["customer"]["plan"] == "pro"
    assert [row["ticket_id"] for row in history["tickets"]] == ["t1", "t2"]  # oldest first
    assert [r["score"] for r in history["nps"]] == [9]
    assert customer_history(tickets, "nobody") == {"customer": None, "tickets": [], "nps": []}


def test_dimension_values_are_the_filters_choices(tickets):
    values = dimension_values(tickets, ("channel", "plan", "failure_tag", "signup_month"))
    assert values["channel"][:3] == ["email", "web", "chat"]  # the closed set, in its order
    assert values["plan"] == ["basic", "pro"]
    assert values["failure_tag"][-2:] == ["type:incident", "type:problem"]
    assert values["signup_month"] == ["2025-01", "2025-03"]


def test_an_empty_warehouse_lists_nothing(any_engine):
    assert ticket_page(any_engine) == {"as_of": None, "total": 0, "offset": 0, "rows": []}
    assert list(ticket_export(any_engine)) == []
