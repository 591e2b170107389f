"""The generator's recovery state is the product's recovery group.

A small world is generated and loaded as a user loads it; for every customer active at
t0 = as_of - H, the state the generator gave them (``Demo.groups_at``: the state that drove
their churn and NPS) must equal the group the warehouse computes from the written files
(``metrics.facts.retention_facts``, through ``failed_customers``). So a world generated
without an effect has none by the product's own definitions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import polars as pl
import pytest
import sqlalchemy as sa

from data_contracts import recovery_rules as rules
from etl.pipeline.load import load_paths
from metrics.as_of import resolve_as_of
from metrics.facts import retention_facts
from metrics.params import MetricParams, TimePoints
from turnaround.generate.model import simulate
from turnaround.generate.writers import write_canonical
from warehouse import get_engine

CUSTOMERS = 400


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("groups")
    demo = simulate(CUSTOMERS, seed=5)
    (root / "demo").mkdir()
    write_canonical(demo, root / "demo")
    engine = get_engine(f"duckdb:///{root / 'demo.duckdb'}")
    load_paths(engine, [root / "demo"])
    params = MetricParams()
    with engine.connect() as conn:
        points = TimePoints.at(resolve_as_of(conn, params), params)
        facts = retention_facts(points, params).c
        product = dict(conn.execute(sa.select(facts.r_customer, facts.recovery_group)).all())
    t0 = points.retention_start.replace(tzinfo=dt.UTC)
    return {"demo": demo, "t0": t0, "product": product}


def test_every_customer_at_t0_is_in_the_generators_group(world) -> None:
    generator = dict(world["demo"].groups_at(world["t0"]).iter_rows())
    assert world["product"] == generator
    # Every group is exercised, each by more than a handful of customers.
    counts = Counter(generator.values())
    assert set(counts) == {
        rules.NEVER_FAILED,
        rules.IN_RECOVERY,
        rules.RECOVERED,
        rules.UNRECOVERED,
    }
    assert min(counts[g] for g in (rules.NEVER_FAILED, rules.RECOVERED, rules.UNRECOVERED)) > 10


def failures_before(demo, t0: int) -> pl.DataFrame:
    """The written failure tickets created at or before t0."""
    failure_tags = list(MetricParams().failure_tags)
    return demo.tickets.filter(
        pl.col("type").is_in(list(rules.FAILURE_TYPES)).fill_null(False)
        | pl.col("tags").list.eval(pl.element().is_in(failure_tags)).list.any(),
        pl.col("created_at") <= t0,
    )


def group_by_hand(failures: list[dict], t0: int) -> str:
    """The group rule in words (docs/metrics.md, Customer recovery groups), on one customer's
    failures: those created in (t0 - 365 days, t0]; a solved one not recovered when reopened."""
    recent = [f for f in failures if f["created_at"] > t0 - rules.LOOKBACK_DAYS * 86_400]
    solved = [f["solved_at"] is not None and f["solved_at"] <= t0 for f in recent]
    if not recent:
        return rules.NEVER_FAILED
    if any(s and f["reopens"] > 0 for f, s in zip(recent, solved, strict=True)):
        return rules.UNRECOVERED
    return rules.RECOVERED if all(solved) else rules.IN_RECOVERY


def test_the_generators_group_is_the_rule_in_words(world) -> None:
    """Independent of the warehouse: the rule applied by hand to the written tickets."""
    t0 = int(world["t0"].timestamp())
    failures: dict[str, list[dict]] = {}
    for f in failures_before(world["demo"], t0).iter_rows(named=True):
        failures.setdefault(f["customer_id"], []).append(f)
    generator = dict(world["demo"].groups_at(world["t0"]).iter_rows())
    assert generator == {c: group_by_hand(failures.get(c, []), t0) for c in generator}


def test_the_look_back_and_the_csat_free_rule_are_exercised(world) -> None:
    """The world holds customers the two rules decide: one whose only failures before t0 left
    the look-back (never failed at t0), and one recovered at t0 with a failure rated bad."""
    t0 = int(world["t0"].timestamp())
    failures = failures_before(world["demo"], t0)
    in_look_back = failures.filter(pl.col("created_at") > t0 - rules.LOOKBACK_DAYS * 86_400)
    old_only = set(failures["customer_id"]) - set(in_look_back["customer_id"])
    rated_bad = set(in_look_back.filter(pl.col("csat") == rules.BAD_CSAT)["customer_id"])
    groups = dict(world["demo"].groups_at(world["t0"]).iter_rows())
    assert sum(groups.get(c) == rules.NEVER_FAILED for c in old_only) > 5
    assert any(groups.get(c) == rules.RECOVERED for c in rated_bad)
