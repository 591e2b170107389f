"""data_contracts.recovery_rules: each rule's SQL and Python renderings give the same verdicts,
ticket by ticket, evaluated for real (the SQL in a warehouse), and the verdicts worked out by
hand for the edge cases."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from data_contracts.options import CURRENT_DEFINITIONS, DEFINITIONS, ONE_TOUCH_PRESETS
from data_contracts.recovery_rules import (
    CSAT_IN_PUT_RIGHT,
    GROUPS_SINCE_BEGINNING,
    IN_RECOVERY,
    NEVER_FAILED,
    ONE_TOUCH,
    RECOVERED,
    UNRECOVERED,
    Judged,
    failure_state,
    handoff_sql,
    is_failure,
    is_failure_sql,
    is_handoff,
    is_one_touch,
    is_put_right,
    is_put_right_sql,
    one_touch_sql,
    recovery_group,
    recovery_group_sql,
)
from tests.conftest import insert_rows
from warehouse.dialect import has_any_tag
from warehouse.schema import tickets

FAILURE_TAGS = ("outage", "bug")
JAN_1 = dt.datetime(2024, 1, 1)

# Every combination of the values each rule turns on (nulls included), one rule at a time.
FAILURE_CASES = list(
    itertools.product(
        (None, "incident", "problem", "question", "task"),
        (None, [], ["outage"], ["vip"], ["vip", "bug"]),
    )
)
PUT_RIGHT_CASES = list(
    itertools.product((None, 0, 1, 2), (None, "good", "bad", "offered", "unoffered"))
)
REPLY_CASES = [None, 0, 1, 2, 5]
STATION_CASES = list(itertools.product((None, 0, 1, 2, 3), repeat=2))


def _ticket(i: int, **values) -> dict:
    return {"ticket_id": f"T{i:04d}", "customer_id": f"C{i:04d}", "created_at": JAN_1} | values


def _grid() -> list[dict]:
    """One ticket per case of every rule, its other columns null."""
    cases = [
        *({"type": type_, "tags": tags} for type_, tags in FAILURE_CASES),
        *({"reopens": reopens, "csat": csat} for reopens, csat in PUT_RIGHT_CASES),
        *({"agent_replies": replies} for replies in REPLY_CASES),
        *({"assignee_stations": a, "group_stations": g} for a, g in STATION_CASES),
    ]
    blank = dict.fromkeys(
        ("type", "tags", "reopens", "csat", "agent_replies", "assignee_stations", "group_stations")
    )
    return [_ticket(i, **(blank | case)) for i, case in enumerate(cases)]


def _judged(rule: Judged) -> sa.ColumnElement:
    """A three-valued rule as the SQL's verdict: NULL where unknown."""
    return sa.case((rule.known, sa.case((rule.holds, True), else_=False)))


def _sql_verdicts(engine: sa.Engine, definitions: str = "2026-11") -> dict[str, dict]:
    """Per ticket id, every rule's verdict evaluated by the warehouse."""
    c = tickets.c
    columns = {
        "failure": is_failure_sql(c.type, c.tags, FAILURE_TAGS, has_any_tag),
        "put_right": is_put_right_sql(c.reopens, c.csat, definitions),
        "handoff": _judged(handoff_sql(c.assignee_stations, c.group_stations)),
        **{
            f"one_touch_{preset}": _judged(one_touch_sql(c.agent_replies, preset))
            for preset in ONE_TOUCH
        },
    }
    query = sa.select(c.ticket_id, *(rule.label(name) for name, rule in columns.items()))
    with engine.connect() as conn:
        return {row.ticket_id: dict(row._mapping) for row in conn.execute(query)}


def _python_verdicts(ticket: dict, definitions: str = "2026-11") -> dict:
    return {
        "ticket_id": ticket["ticket_id"],
        "failure": is_failure(ticket["type"], ticket["tags"], FAILURE_TAGS),
        "put_right": is_put_right(ticket["reopens"], ticket["csat"], definitions),
        "handoff": is_handoff(ticket["assignee_stations"], ticket["group_stations"]),
        **{
            f"one_touch_{preset}": is_one_touch(ticket["agent_replies"], preset)
            for preset in ONE_TOUCH
        },
    }


def test_sql_and_python_agree_on_every_case(any_engine):
    grid = _grid()
    insert_rows(any_engine, "tickets", grid)
    for definitions in DEFINITIONS:
        found = _sql_verdicts(any_engine, definitions)
        assert len(found) == len(grid)
        for ticket in grid:
            assert found[ticket["ticket_id"]] == _python_verdicts(ticket, definitions), ticket


def test_put_right_per_definitions(any_engine):
    """A solved failure rated bad but not reopened is put right under 2026-12 (what the
    company did: solved, not reopened), not under 2026-11 (which also asked CSAT not bad);
    a reopened one under neither; a null CSAT or reopen count is no sign against it."""
    cases = [  # reopens, csat -> put right under 2026-11, 2026-12 (worked out by hand)
        ((0, "bad"), (False, True)),
        ((None, "bad"), (False, True)),
        ((1, "good"), (False, False)),
        ((2, "bad"), (False, False)),
        ((0, "good"), (True, True)),
        ((None, None), (True, True)),
    ]
    blank = dict.fromkeys(
        ("type", "tags", "reopens", "csat", "agent_replies", "assignee_stations", "group_stations")
    )
    rows = [
        _ticket(i, **(blank | {"reopens": n, "csat": csat}))
        for i, ((n, csat), _) in enumerate(cases)
    ]
    insert_rows(any_engine, "tickets", rows)
    for index, definitions in enumerate(("2026-11", "2026-12")):
        found = _sql_verdicts(any_engine, definitions)
        for row, (_, expected) in zip(rows, cases, strict=True):
            assert found[row["ticket_id"]]["put_right"] is expected[index], (definitions, row)
            python = is_put_right(row["reopens"], row["csat"], definitions)
            assert bool(python) is expected[index], (definitions, row)


def test_every_set_that_asks_csat_is_a_set_of_definitions():
    assert set(CSAT_IN_PUT_RIGHT) <= set(DEFINITIONS)
    assert set(GROUPS_SINCE_BEGINNING) <= set(DEFINITIONS)
    assert CURRENT_DEFINITIONS not in CSAT_IN_PUT_RIGHT + GROUPS_SINCE_BEGINNING


def test_hand_worked_verdicts(engine):
    cases = [  # a ticket's values, and the verdicts worked out by hand
        ({"type": "incident"}, {"failure": True}),
        ({"tags": ["vip", "bug"]}, {"failure": True}),
        ({"type": "question", "tags": ["vip"]}, {"failure": False}),
        ({}, {"failure": False, "put_right": True, "handoff": None}),  # nulls: no sign
        ({"reopens": 0, "csat": "bad"}, {"put_right": False}),
        ({"reopens": 1, "csat": "good"}, {"put_right": False}),
        ({"reopens": 0, "csat": "offered"}, {"put_right": True}),
        ({"agent_replies": 0}, {"one_touch_explore": True, "one_touch_dbt_zendesk": False}),
        ({"agent_replies": 1}, {"one_touch_explore": True, "one_touch_dbt_zendesk": True}),
        ({"agent_replies": 2}, {"one_touch_explore": False, "one_touch_dbt_zendesk": False}),
        ({}, {"one_touch_explore": None, "one_touch_dbt_zendesk": None}),
        ({"group_stations": 2}, {"handoff": True}),
        ({"assignee_stations": 1, "group_stations": 1}, {"handoff": False}),
        ({"assignee_stations": 0}, {"handoff": False}),
    ]
    blank = dict.fromkeys(
        ("type", "tags", "reopens", "csat", "agent_replies", "assignee_stations", "group_stations")
    )
    rows = [_ticket(i, **(blank | values)) for i, (values, _) in enumerate(cases)]
    insert_rows(engine, "tickets", rows)
    found = _sql_verdicts(engine)
    for row, (_, expected) in zip(rows, cases, strict=True):
        python = _python_verdicts(row)
        assert {name: python[name] for name in expected} == expected, row
        assert {name: found[row["ticket_id"]][name] for name in expected} == expected, row


def test_recovery_groups_agree(engine):
    solved, open_ = JAN_1 + dt.timedelta(days=1), None
    customers = {  # each customer's failures: (solved_at, reopens, csat)
        "put right": [(solved, 0, "good")],
        "one still open": [(solved, None, None), (open_, None, None)],
        "reopened and open": [(open_, 0, None), (solved, 2, None)],
        "rated bad": [(solved, 0, "bad"), (solved, 0, "good")],
        "no failure": [],
    }
    expected = {
        "put right": RECOVERED,
        "one still open": IN_RECOVERY,
        "reopened and open": UNRECOVERED,
        "rated bad": UNRECOVERED,
        "no failure": NEVER_FAILED,
    }
    no_failure = {"type": "question", "solved_at": None, "reopens": None, "csat": None}
    tickets_of = [  # every customer has a ticket that is no failure
        {"customer_id": customer} | no_failure for customer in customers
    ] + [
        {"customer_id": customer, "type": "incident", "solved_at": at, "reopens": n, "csat": csat}
        for customer, failures in customers.items()
        for at, n, csat in failures
    ]
    insert_rows(engine, "tickets", [_ticket(i, **row) for i, row in enumerate(tickets_of)])

    c = tickets.c
    is_solved = c.solved_at.is_not(None)

    def any_of(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        return sa.func.max(sa.case((condition, 1), else_=0)) == 1

    summary = (
        sa.select(
            c.customer_id,
            recovery_group_sql(
                {
                    UNRECOVERED: any_of(
                        sa.and_(is_solved, ~is_put_right_sql(c.reopens, c.csat, "2026-11"))
                    ),
                    IN_RECOVERY: any_of(~is_solved),
                }
            ).label("recovery_group"),
        )
        .where(is_failure_sql(c.type, c.tags, FAILURE_TAGS, has_any_tag))
        .group_by(c.customer_id)
        .subquery()
    )
    everyone = sa.select(c.customer_id).distinct().subquery()
    query = sa.select(
        everyone.c.customer_id, sa.func.coalesce(summary.c.recovery_group, NEVER_FAILED)
    ).outerjoin(summary, summary.c.customer_id == everyone.c.customer_id)
    with engine.connect() as conn:
        in_sql = dict(conn.execute(query).all())

    in_python = {
        customer: recovery_group(
            failure_state(solved_at is not None, is_put_right(reopens, csat, "2026-11"))
            for solved_at, reopens, csat in failures
        )
        for customer, failures in customers.items()
    }
    assert in_python == expected
    assert in_sql == expected


def test_every_one_touch_preset_has_its_rule():
    assert set(ONE_TOUCH) == set(ONE_TOUCH_PRESETS)
