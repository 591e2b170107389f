"""Ticket KPIs on hand-computed rows: TTA, TTA within target, one-touch, handoff."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from metrics import MetricParams, compute_kpis
from tests.metrics.rows import insert


@pytest.fixture
def engine(any_engine):
    """Every test here runs on DuckDB and on PostgreSQL."""
    return any_engine


AS_OF = dt.datetime(2024, 6, 1, 12, 0)
_ids = itertools.count()


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def ticket(created_at: dt.datetime, **columns) -> dict:
    return {"ticket_id": f"t{next(_ids)}", "customer_id": "c1", "created_at": created_at} | columns


def replied_after(tta_minutes: float, **columns) -> dict:
    created_at = AS_OF - dt.timedelta(days=2)
    return ticket(created_at, first_reply_at=created_at + minutes(tta_minutes), **columns)


def kpis(engine, **params) -> dict:
    return compute_kpis(engine, MetricParams(as_of=AS_OF, **params))["kpis"]


def test_tta_median_and_p90_interpolate_between_closest_ranks(engine):
    insert(engine, "tickets", [replied_after(m) for m in (10, 20, 30, 40, 100)])
    result = kpis(engine)
    assert result["tta_median_minutes"] == pytest.approx(30.0)
    # rank (5 - 1) * 0.9 = 3.6: 40 + 0.6 * (100 - 40)
    assert result["tta_p90_minutes"] == pytest.approx(76.0)


def test_tta_is_fractional_minutes(engine):
    insert(engine, "tickets", [replied_after(1.5)])
    assert kpis(engine)["tta_median_minutes"] == pytest.approx(1.5)


def test_a_reply_after_as_of_has_not_happened_yet(engine):
    created_at = AS_OF - minutes(30)
    insert(
        engine,
        "tickets",
        [replied_after(10), ticket(created_at, first_reply_at=AS_OF + minutes(1))],
    )
    assert kpis(engine)["tta_median_minutes"] == pytest.approx(10.0)


def test_tickets_created_after_as_of_are_left_out(engine):
    later = AS_OF + minutes(5)
    insert(engine, "tickets", [replied_after(10), ticket(later, first_reply_at=later)])
    assert kpis(engine)["tta_median_minutes"] == pytest.approx(10.0)


def test_within_target_counts_a_reply_exactly_at_target(engine):
    insert(engine, "tickets", [replied_after(60), replied_after(60.5)])
    assert kpis(engine)["tta_within_target_pct"] == pytest.approx(0.5)


def test_within_target_counts_unacknowledged_tickets_older_than_target_as_misses(engine):
    insert(
        engine,
        "tickets",
        [
            replied_after(30),
            ticket(AS_OF - minutes(61), status="open"),  # older than target: a miss
            ticket(AS_OF - minutes(60), status="pending"),  # exactly target: not yet late
            ticket(AS_OF - minutes(5), status="new"),  # younger than target: left out
        ],
    )
    assert kpis(engine)["tta_within_target_pct"] == pytest.approx(1 / 2)


def test_a_reply_known_only_by_its_bracket_is_left_out_of_the_tta_kpis(engine):
    old = AS_OF - dt.timedelta(days=3)
    insert(
        engine,
        "tickets",
        [
            replied_after(30),
            replied_after(90),
            # Explore gave "0-1 hrs" and no time: replied, but when is unknown
            ticket(old, status="open", first_reply_bracket="0-1 hrs"),
            ticket(old, status="open"),  # no reply at all, older than target: a miss
        ],
    )
    result = kpis(engine)
    assert result["tta_within_target_pct"] == pytest.approx(1 / 3)
    assert result["tta_median_minutes"] == pytest.approx(60.0)


def test_within_target_leaves_out_a_ticket_solved_without_reply(engine):
    old = AS_OF - dt.timedelta(days=3)
    insert(
        engine,
        "tickets",
        [
            replied_after(90),
            ticket(old, status="solved", solved_at=old + minutes(5)),
            ticket(old, status="closed"),
        ],
    )
    assert kpis(engine)["tta_within_target_pct"] == pytest.approx(0.0)


def test_within_target_treats_a_ticket_solved_after_as_of_as_unsolved(engine):
    old = AS_OF - dt.timedelta(days=3)
    insert(
        engine,
        "tickets",
        [replied_after(10), ticket(old, status="solved", solved_at=AS_OF + minutes(1))],
    )
    assert kpis(engine)["tta_within_target_pct"] == pytest.approx(1 / 2)


def test_within_target_follows_the_configured_target(engine):
    insert(engine, "tickets", [replied_after(20), replied_after(40)])
    assert kpis(engine, target_minutes=30)["tta_within_target_pct"] == pytest.approx(0.5)


def test_one_touch_rate_over_solved_or_closed_tickets(engine):
    solved_at = AS_OF - dt.timedelta(days=1)
    solved = {"status": "solved", "solved_at": solved_at}
    insert(
        engine,
        "tickets",
        [
            replied_after(5, agent_replies=0, **solved),
            replied_after(5, agent_replies=1, **solved),
            replied_after(5, agent_replies=2, **solved),
            replied_after(5, agent_replies=1, status="closed"),  # closed, solved_at unknown
            replied_after(5, agent_replies=1, status="open"),  # not solved: left out
            replied_after(5, agent_replies=1, status="solved", solved_at=AS_OF + minutes(1)),
            replied_after(5, agent_replies=None, **solved),  # replies unknown: left out
        ],
    )
    assert kpis(engine)["one_touch_rate"] == pytest.approx(3 / 4)


def test_handoff_rate_counts_more_than_one_assignee_or_group(engine):
    solved = {"status": "solved", "solved_at": AS_OF - dt.timedelta(days=1)}
    insert(
        engine,
        "tickets",
        [
            replied_after(5, assignee_stations=2, group_stations=1, **solved),
            replied_after(5, assignee_stations=1, group_stations=3, **solved),
            replied_after(5, assignee_stations=1, group_stations=1, **solved),
            replied_after(5, assignee_stations=None, group_stations=1, **solved),
            replied_after(5, assignee_stations=None, group_stations=None, **solved),  # unknown
            replied_after(5, assignee_stations=4, group_stations=4, status="hold"),  # unsolved
        ],
    )
    assert kpis(engine)["handoff_rate"] == pytest.approx(2 / 4)


def test_ticket_kpis_without_tickets_are_none(engine):
    insert(engine, "customers", [{"customer_id": "c1", "signup_at": AS_OF - dt.timedelta(days=9)}])
    result = kpis(engine)
    names = ("tta_median_minutes", "tta_p90_minutes", "tta_within_target_pct")
    assert [result[name] for name in names] == [None, None, None]
    assert result["one_touch_rate"] is None
    assert result["handoff_rate"] is None
