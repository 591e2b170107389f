"""Failure episodes by hand: failures within the window of the one before are one problem;
TTA of the first ticket, one touch across the episode, recovery of all its tickets; and
``count`` moving the recovery KPIs to episodes or customers (DuckDB and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics import MetricParams, compute_kpis
from metrics.slices import SliceRequest, compute_slice
from tests.metrics.rows import insert

START = dt.datetime(2024, 3, 1, 9)
AS_OF = dt.datetime(2024, 6, 1)
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


def ticket(ticket_id, customer, day, reply=None, solved=None, replies=None, **columns):
    created = START + day * DAY
    return {
        "ticket_id": ticket_id,
        "customer_id": customer,
        "created_at": created,
        "first_reply_at": None if reply is None else created + reply * MINUTE,
        "solved_at": None if solved is None else created + solved * DAY,
        "status": "solved" if solved is not None else "open",
        "type": "incident",
        "agent_replies": replies,
        "reopens": 0,
        "channel": "email",
    } | columns


@pytest.fixture
def failures(any_engine):
    """Customer a: failures on days 0 and 3 (one episode, both recovered, 2 replies in all)
    and on day 20 (reopened, no reply needed); a question on day 1. Customer b: an open
    failure with no reply."""
    insert(
        any_engine,
        "tickets",
        [
            ticket("t1", "a", 0, reply=30, solved=1, replies=1, csat="good"),
            ticket("t2", "a", 3, reply=60, solved=1, replies=1, csat="good", channel="chat"),
            ticket("t3", "a", 20, reply=10, solved=1, replies=0, reopens=1),
            ticket("q1", "a", 1, reply=5, solved=1, replies=1, type="question"),
            ticket("t4", "b", 0),
        ],
    )
    return any_engine


def kpis(engine, **params) -> dict:
    return compute_kpis(engine, MetricParams(as_of=AS_OF, **params))["kpis"]


def test_episodes_by_hand(failures):
    found = kpis(failures, count="episodes")
    assert found["failure_episodes"] == 3  # {t1, t2}, {t3}, {t4}
    assert found["episode_tta_median_minutes"] == 20  # first tickets: 30 and 10; t4 unreplied
    assert found["episode_one_touch_rate"] == 0.5  # {t1, t2}: 2 replies; {t3}: 0
    assert found["recovery_rate"] == 0.5  # {t1, t2} recovered, {t3} reopened, {t4} open
    # t1 created on day 0, t2 solved on day 4
    assert found["time_to_recover_median_minutes"] == 4 * 24 * 60
    assert found["recovered_within_window_pct"] == 0.0  # none within 24 h; t4 open past it


def test_count_moves_only_the_recovery_kpis(failures):
    tickets = kpis(failures)
    assert tickets["recovery_rate"] == pytest.approx(2 / 3)  # t1, t2 of t1, t2, t3
    assert tickets["time_to_recover_median_minutes"] == 24 * 60
    customers = kpis(failures, count="customers")
    assert customers["recovery_rate"] == 0.0  # a: t3 reopened; b: still open (left out)
    assert customers["failure_episodes"] == 2
    for name in ("one_touch_rate", "tta_median_minutes", "failure_rate"):
        assert customers[name] == tickets[name]  # ticket KPIs do not move
    result = compute_kpis(failures, MetricParams(as_of=AS_OF, count="customers"))
    assert result["count"] == {"recovery_kpis": "customers", "episode_window_days": 7}


def test_a_wider_window_joins_episodes(failures):
    assert kpis(failures, episode_window_days=30)["failure_episodes"] == 2
    assert kpis(failures, episode_window_days=2)["failure_episodes"] == 4


def test_an_episode_takes_its_first_tickets_dimensions(failures):
    result = compute_slice(
        failures,
        MetricParams(as_of=AS_OF),
        SliceRequest(by=("channel",), kpis=("failure_episodes",)),
    )
    # {t1 (email), t2 (chat)} is an email episode; t3 and t4 are email too.
    assert {r["channel"]: r["kpis"]["failure_episodes"] for r in result["rows"]} == {"email": 3}


def test_a_follow_up_continues_the_episode_whatever_the_gap(any_engine):
    insert(
        any_engine,
        "tickets",
        [
            ticket("p1", "a", 0, reply=30, solved=1, replies=1, csat="good"),
            ticket("p2", "a", 40, reply=30, solved=1, replies=1, csat="good"),
            ticket("p3", "a", 80, reply=30, solved=1, replies=1, follow_up_of="p2"),
        ],
    )
    # p2 comes 40 days after p1 (a new episode); p3, 40 days later, is p2's follow-up.
    assert kpis(any_engine)["failure_episodes"] == 2
