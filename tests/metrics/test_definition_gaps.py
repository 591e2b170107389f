"""The 2026-12 definitions of one touch (an episode solved as a ticket is; a ticket solved
without a reply stays one touch under explore, as the contract defines it), close-the-loop
time and the business-hours acknowledgement target, by hand on DuckDB and PostgreSQL, each
beside the 2026-11 number it replaces."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from metrics import MetricParams, compute_kpis
from metrics.business_hours import Schedule
from metrics.recovery import compute_recovery
from tests.metrics.rows import insert

AS_OF = dt.datetime(2024, 6, 1)
OLD = "2026-11"


def _ticket(ticket_id: str, customer_id: str, created_at: dt.datetime, **columns) -> dict:
    return {"ticket_id": ticket_id, "customer_id": customer_id, "created_at": created_at} | columns


def _kpis(engine, **params) -> dict:
    return compute_kpis(engine, MetricParams(as_of=AS_OF, **params))["kpis"]


def test_a_ticket_solved_without_a_reply_is_one_touch_only_under_explore(any_engine):
    day = dt.datetime(2024, 5, 1)
    solved = {"status": "solved", "solved_at": day + dt.timedelta(hours=5)}
    insert(
        any_engine,
        "tickets",
        [
            _ticket("none", "c1", day, agent_replies=0, **solved),
            _ticket("one", "c1", day, agent_replies=1, **solved),
            _ticket("two", "c1", day, agent_replies=2, **solved),
            _ticket("unknown", "c1", day, agent_replies=None, **solved),  # out of both sides
            _ticket("open", "c1", day, agent_replies=0, status="open"),  # not solved: out
        ],
    )
    # Solved with known replies: none, one, two. explore (fewer than 2): none and one, 2/3,
    # under both sets of definitions.
    for definitions in ("2026-12", OLD):
        found = _kpis(any_engine, definitions=definitions)
        assert found["one_touch_rate"] == pytest.approx(2 / 3)
    # dbt_zendesk is exactly one under both: 1/3.
    for definitions in ("2026-12", OLD):
        found = _kpis(any_engine, one_touch="dbt_zendesk", definitions=definitions)
        assert found["one_touch_rate"] == pytest.approx(1 / 3)


def test_an_episode_is_solved_for_one_touch_as_a_ticket_is(any_engine):
    day = dt.datetime(2024, 5, 1)
    insert(
        any_engine,
        "tickets",
        [
            # closed without a solved_at: solved for one touch, whatever the count
            _ticket("f1", "c1", day, type="incident", status="closed", agent_replies=1),
            # another customer's episode of two tickets, 0 + 1 replies, both solved
            _ticket(
                "g1", "c2", day, type="incident", status="solved", solved_at=day, agent_replies=0
            ),
            _ticket(
                "g2",
                "c2",
                day + dt.timedelta(days=1),
                type="incident",
                status="solved",
                solved_at=day + dt.timedelta(days=2),
                agent_replies=1,
            ),
        ],
    )
    # Ticket one touch (explore, fewer than 2 replies): f1, g1 and g2: 3/3.
    found = _kpis(any_engine)
    assert found["one_touch_rate"] == 1.0
    # Episodes: f1's (1 reply) and g's (0 + 1 = 1 reply): both one touch, 2/2.
    assert found["episode_one_touch_rate"] == 1.0
    # 2026-11 left f1's episode out (no solved_at) and took g's: 1/1.
    assert _kpis(any_engine, definitions=OLD)["episode_one_touch_rate"] == 1.0
    # ... so with f1 given 2 replies, 2026-12 counts it as many touches (1/2) where 2026-11
    # still does not see it (1/1).
    with any_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE tickets SET agent_replies = 2 WHERE ticket_id = 'f1'")
    assert _kpis(any_engine)["episode_one_touch_rate"] == pytest.approx(1 / 2)
    assert _kpis(any_engine, definitions=OLD)["episode_one_touch_rate"] == 1.0


def _hours(days: int, hour: int) -> dt.datetime:
    return dt.datetime(2024, 4, 1) + dt.timedelta(days=days - 1, hours=hour)


@pytest.fixture
def loop_warehouse(any_engine):
    """a: a detractor on 1 April 09:00; a reply at 12:00 on a ticket opened the day before,
    and a reply at 10:00 on 2 April on a ticket opened at 09:00 that day.
    b: a ticket rated bad with no date anywhere (one version), solved 10 April 09:00; a later
    ticket opened 11 April 09:00, answered at 11:00.
    c: a ticket solved 2 May 09:00 whose version of then shows the survey offered, and whose
    next version (3 May 09:00) shows it rated bad; a later ticket opened 4 May 09:00,
    answered at 13:00."""
    insert(
        any_engine,
        "nps_responses",
        [{"response_id": "p", "customer_id": "a", "responded_at": _hours(1, 9), "score": 3}],
    )
    solved_c = {"status": "solved", "solved_at": _hours(32, 9), "first_reply_at": _hours(31, 10)}
    insert(
        any_engine,
        "tickets",
        [
            _ticket("a-old", "a", _hours(0, 9), first_reply_at=_hours(1, 12)),
            _ticket("a-next", "a", _hours(2, 9), first_reply_at=_hours(2, 10)),
            _ticket(
                "b1",
                "b",
                _hours(9, 9),
                first_reply_at=_hours(9, 10),
                status="solved",
                solved_at=_hours(10, 9),
                csat="bad",
                updated_at=_hours(12, 0),
            ),
            _ticket("b2", "b", _hours(11, 9), first_reply_at=_hours(11, 11)),
            _ticket("c1", "c", _hours(30, 9), csat="bad", updated_at=_hours(33, 9), **solved_c),
            _ticket("c2", "c", _hours(34, 9), first_reply_at=_hours(34, 13)),
        ],
    )
    insert(
        any_engine,
        "ticket_versions",
        [
            {
                "ticket_id": "c1",
                "valid_from": _hours(32, 9),
                "metrics_updated_at": _hours(32, 9),
                "csat": "offered",
            }
            | solved_c
        ],
    )
    return any_engine


def test_close_the_loop_times_the_first_reply_after_the_signal(loop_warehouse):
    loop = compute_recovery(loop_warehouse, MetricParams(as_of=AS_OF))["close_the_loop"]
    # a: 3 h (the reply on a-old at 12:00); b: left out (when b1 was rated is not known);
    # c: from 3 May 09:00 (the version that first shows bad) to 4 May 13:00, 28 h.
    assert (loop["signals"], loop["closed"], loop["judged"]) == (2, 2, 2)
    assert loop["undated_bad_ratings"] == 1
    assert loop["median_hours"] == pytest.approx((3 + 28) / 2)
    assert loop["within_share"] == 1.0
    tighter = MetricParams(as_of=AS_OF, close_the_loop_hours=24)
    assert compute_recovery(loop_warehouse, tighter)["close_the_loop"]["within_share"] == 0.5


def test_close_the_loop_of_the_2026_11_definitions(loop_warehouse):
    params = MetricParams(as_of=AS_OF, definitions=OLD)
    loop = compute_recovery(loop_warehouse, params)["close_the_loop"]
    # a: the next ticket's reply, 25 h; b: from the solve (10 April 09:00) to 11 April 11:00,
    # 26 h; c: from the solve (2 May 09:00) to 4 May 13:00, 52 h.
    assert (loop["signals"], loop["closed"], loop["judged"]) == (3, 3, 3)
    assert loop["undated_bad_ratings"] is None
    assert loop["median_hours"] == pytest.approx(26.0)
    assert loop["within_share"] == pytest.approx(2 / 3)


# Monday to Friday, 09:00-17:00 UTC.
SCHEDULE = Schedule.from_settings(
    "UTC", {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}, []
)
MONDAY = dt.datetime(2024, 5, 27)


def test_the_acknowledgement_target_in_business_hours(any_engine):
    at = MONDAY + dt.timedelta(days=1, hours=9, minutes=30)  # Tuesday 09:30
    insert(
        any_engine,
        "tickets",
        [
            # Mon 16:30 to Tue 09:20: 1,010 calendar minutes, 30 + 20 = 50 business: within.
            _ticket("t1", "c", MONDAY.replace(hour=16, minute=30), first_reply_at=_tue(9, 20)),
            # Mon 10:00 to 11:30: 90 minutes either way: a miss.
            _ticket(
                "t2",
                "c",
                MONDAY.replace(hour=10),
                first_reply_at=MONDAY.replace(hour=11, minute=30),
            ),
            # the source's 45 business minutes (200 calendar): within.
            _ticket(
                "t3",
                "c",
                MONDAY.replace(hour=12),
                first_reply_at=MONDAY.replace(hour=15, minute=20),
                first_reply_business_minutes=45,
            ),
            # unanswered since Mon 16:50: 10 + 30 = 40 business minutes, not yet a miss.
            _ticket("t4", "c", MONDAY.replace(hour=16, minute=50)),
            # unanswered since Mon 13:00: 240 + 30 = 270 business minutes: a miss.
            _ticket("t5", "c", MONDAY.replace(hour=13)),
        ],
    )
    params = MetricParams(as_of=at, schedule=SCHEDULE)
    found = compute_kpis(any_engine, params)["kpis"]
    # t1 and t3 within, of t1, t2, t3, t5: 2/4.
    assert found["business_tta_within_target_pct"] == pytest.approx(0.5)
    # In calendar minutes every one is a miss (t4 is 1,000 minutes old): 0/5.
    assert found["tta_within_target_pct"] == 0.0
    # Without a schedule only t3 has business minutes (the open ones cannot be judged): 1/1.
    plain = compute_kpis(any_engine, dataclasses.replace(params, schedule=None))["kpis"]
    assert plain["business_tta_within_target_pct"] == 1.0


def _tue(hour: int, minute: int) -> dt.datetime:
    return MONDAY + dt.timedelta(days=1, hours=hour, minutes=minute)
