"""Property: with random ticket histories (versions loaded in any order), the recovery group
of every customer at a random instant equals a plain Python reading of the version valid
then, on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.options import DEFINITIONS
from metrics.facts import NEVER_FAILED, failed_customers
from metrics.params import MetricParams
from warehouse.schema import ticket_versions, tickets

BASE = dt.datetime(2024, 1, 1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def warehouse(module_warehouse) -> sa.Engine:
    return module_warehouse


version = st.fixed_dictionaries(
    {
        "updated": st.integers(0, 200),  # hours after BASE
        "solved": st.one_of(st.none(), st.integers(0, 200)),
        "reopens": st.sampled_from([0, 0, 1, None]),
        "csat": st.sampled_from(["good", "bad", "offered", None]),
        # False: the version came without metric values (as a Zendesk ticket does)
        "own_metrics": st.booleans(),
    }
)
ticket = st.fixed_dictionaries(
    {
        "customer": st.sampled_from(["a", "b", "c", "d"]),
        "created": st.integers(0, 150),
        "type": st.sampled_from(["incident", "question", "problem"]),
        "versions": st.lists(version, min_size=1, max_size=4, unique_by=lambda v: v["updated"]),
    }
)


def _rows(tickets_drawn: list[dict]) -> tuple[list[dict], list[dict]]:
    current, earlier = [], []
    for i, t in enumerate(tickets_drawn):
        ordered = sorted(t["versions"], key=lambda v: v["updated"])
        for n, v in enumerate(ordered):
            row = {
                "source": "test",
                "ticket_id": f"t{i}",
                "solved_at": None if v["solved"] is None else BASE + v["solved"] * HOUR,
                "reopens": v["reopens"],
                "csat": v["csat"],
                "status": "solved" if v["solved"] is not None else "open",
                "batch_id": "b",
                "source_file": "f",
            }
            if n == len(ordered) - 1:  # the newest is the current row
                current.append(
                    row
                    | {
                        "customer_id": t["customer"],
                        "created_at": BASE + t["created"] * HOUR,
                        "type": t["type"],
                        "channel": "email",
                        "updated_at": BASE + v["updated"] * HOUR,
                    }
                )
            else:
                valid_from = BASE + v["updated"] * HOUR
                own = valid_from if v["own_metrics"] else None
                earlier.append(row | {"valid_from": valid_from, "metrics_updated_at": own})
    return current, earlier


def expected_groups(
    tickets_drawn: list[dict], at: dt.datetime, params: MetricParams
) -> dict[str, str]:
    """The recovery group at ``at`` of each customer, read from the version valid then: over
    the failures created in (at - lookback_days, at] (2026-12) or by at (2026-11)."""
    whole_history = params.definitions == "2026-11"
    since = at - dt.timedelta(days=params.lookback_days)
    groups: dict[str, list[str]] = {}
    for t in tickets_drawn:
        ordered = sorted(t["versions"], key=lambda v: v["updated"])
        if t["type"] not in ("incident", "problem"):
            continue  # failure membership: the current row's type
        if BASE + t["created"] * HOUR > at:
            continue
        if not whole_history and BASE + t["created"] * HOUR <= since:
            continue
        known = [v for v in ordered if BASE + v["updated"] * HOUR <= at]
        valid = known[-1] if known else ordered[0]
        state = dict(valid)
        if valid is not ordered[-1] and not valid["own_metrics"]:
            # no metric values of its own: the current row's (solve time, reopens)
            state |= {"solved": ordered[-1]["solved"], "reopens": ordered[-1]["reopens"]}
        solved = None if state["solved"] is None else BASE + state["solved"] * HOUR
        if (
            solved is not None
            and solved <= at
            and ((state["reopens"] or 0) > 0 or (whole_history and state["csat"] == "bad"))
        ):
            kind = "unrecovered"
        elif solved is None or solved > at:
            kind = "open"
        else:
            kind = "recovered"
        groups.setdefault(t["customer"], []).append(kind)
    return {
        c: "unrecovered"
        if "unrecovered" in kinds
        else "in_recovery"
        if "open" in kinds
        else "recovered"
        for c, kinds in groups.items()
    }


def found_groups(engine: sa.Engine, at: dt.datetime, params: MetricParams) -> dict[str, str]:
    windows = sa.values(
        sa.column("w_id", sa.Integer()), sa.column("w_at", sa.DateTime()), name="w"
    ).data([(0, at)])
    failed = failed_customers(windows, "w_at", params, history=True)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(failed.c.customer_id, failed.c.recovery_group)).all()
    return {customer: group for customer, group in rows if group != NEVER_FAILED}


@settings(max_examples=60, deadline=None)
@given(
    drawn=st.lists(ticket, max_size=8),
    at=st.integers(0, 220),
    definitions=st.sampled_from(DEFINITIONS),
    lookback_days=st.sampled_from([365, 3]),  # 3 days: 72 of the drawn hours
)
def test_recovery_groups_read_the_version_valid_at_t(
    warehouse, drawn, at, definitions, lookback_days
):
    current, earlier = _rows(drawn)
    with warehouse.begin() as conn:
        conn.execute(ticket_versions.delete())
        conn.execute(tickets.delete())
        if current:
            conn.execute(tickets.insert(), current)
        if earlier:
            conn.execute(ticket_versions.insert(), earlier)
    instant = BASE + at * HOUR
    params = MetricParams(definitions=definitions, lookback_days=lookback_days)
    assert found_groups(warehouse, instant, params) == expected_groups(drawn, instant, params)
