"""The same metric code on PostgreSQL: every query compiles, and where a PostgreSQL server
can be started here, it returns the same numbers as DuckDB."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from metrics import MetricParams, compute_kpis, recovery_groups, weekly_trends
from metrics.catalog import CONTRACT_KPIS
from metrics.facts import latest_timestamp_query
from metrics.groups import group_measures
from metrics.params import TimePoints
from metrics.queries import kpi_queries, measure_queries, weekly_trends_query
from tests.metrics.rows import insert
from tests.postgres_server import fresh_database
from warehouse import ensure_schema

AS_OF = dt.datetime(2024, 6, 1)


def every_query() -> dict[str, sa.Select]:
    params = MetricParams(as_of=AS_OF)
    points = TimePoints.at(AS_OF, params)
    queries = {"latest_timestamp": latest_timestamp_query()}
    queries |= {f"kpis_{k}": q for k, (q, _) in kpi_queries(points, params).items()}
    queries |= {
        f"groups_{k}": q for k, (q, _) in measure_queries(group_measures(), points, params).items()
    }
    queries["weekly_trends"] = weekly_trends_query(points, params, AS_OF - dt.timedelta(weeks=26))
    return queries


@pytest.mark.parametrize("name", list(every_query()))
def test_every_query_compiles_for_postgresql(name):
    sql = str(every_query()[name].compile(dialect=postgresql.dialect()))
    for duckdb_only in ("epoch_us", "list_has_any", "quantile_cont", "to_microseconds"):
        assert duckdb_only not in sql
    if name == "kpis_tickets":
        assert "percentile_cont" in sql
        assert "EXTRACT(EPOCH FROM" in sql


# --- parity on a live server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_engine(pg_server):
    """A database of its own on the test process's PostgreSQL server."""
    with fresh_database(pg_server) as url:
        engine = sa.create_engine(url)
        ensure_schema(engine)
        yield engine
        engine.dispose()


def sample_rows(seed: int = 7) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    start = AS_OF - dt.timedelta(days=500)

    def at(max_days: int = 520) -> dt.datetime:
        return start + dt.timedelta(minutes=rng.randrange(max_days * 24 * 60))

    def later(ts: dt.datetime, *minutes: int | None) -> dt.datetime | None:
        chosen = rng.choice(minutes)
        return None if chosen is None else ts + dt.timedelta(minutes=chosen)

    ids = [f"c{i}" for i in range(40)]
    customers = []
    for customer_id in ids:
        signup_at = at(400)
        churned_at = later(signup_at, None, None, 60 * 24 * 100, 60 * 24 * 300)
        customers.append(
            {"customer_id": customer_id, "signup_at": signup_at, "churned_at": churned_at}
        )
    tickets = []
    for i in range(150):
        created_at = at()
        tickets.append(
            {
                "ticket_id": f"t{i}",
                "customer_id": rng.choice(ids),
                "created_at": created_at,
                "first_reply_at": later(created_at, None, 3, 45, 60, 200, 3000),
                "solved_at": later(created_at, None, 90, 90, 2000, 40_000),
                "status": rng.choice(["open", "pending", "solved", "closed"]),
                "type": rng.choice([None, "question", "question", "task", "incident"]),
                "tags": rng.choice([[], [], ["vip"], ["outage"], ["bug", "vip"]]),
                "csat": rng.choice([None, "good", "good", "bad"]),
                "reopens": rng.choice([None, 0, 0, 0, 1]),
                "agent_replies": rng.choice([None, 0, 1, 2, 4]),
                "assignee_stations": rng.choice([None, 1, 2]),
                "group_stations": rng.choice([None, 1, 1, 2]),
            }
        )
    responses = [
        {
            "response_id": f"r{i}",
            "customer_id": rng.choice(ids),
            "responded_at": at(),
            "score": rng.randrange(11),
        }
        for i in range(300)
    ]
    return {"tickets": tickets, "customers": customers, "nps_responses": responses}


def _same(first, second) -> bool:
    if isinstance(first, float) and isinstance(second, float):
        return math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(_same(first[k], second[k]) for k in first)
    return first == second


def test_postgresql_returns_the_same_numbers_as_duckdb(engine, pg_engine):
    for table, rows in sample_rows().items():
        insert(engine, table, rows)
        insert(pg_engine, table, rows)
    for params in (
        MetricParams(),
        MetricParams(as_of=AS_OF - dt.timedelta(days=40), horizon_days=60),
    ):
        duck, pg = compute_kpis(engine, params), compute_kpis(pg_engine, params)
        assert _same(duck, pg), (duck, pg)
        assert all(duck["kpis"][name] is not None for name in CONTRACT_KPIS)
        for build in (recovery_groups, weekly_trends):
            duck_rows, pg_rows = (
                build(engine, params).to_dicts(),
                build(pg_engine, params).to_dicts(),
            )
            assert len(duck_rows) == len(pg_rows)
            assert all(_same(a, b) for a, b in zip(duck_rows, pg_rows, strict=True))
