"""The default demo (20,000 customers, seed 7): its size and its story (its speed is in
make bench).

The story is the meta-analysis's (de Matos, Henrique & Rossi 2007): a recovered failure is
rated better than an ordinary solved ticket (the paradox holds on satisfaction), while
recovered customers' NPS and 90-day retention are those of never-failed customers within the
95% interval (not detected on word of mouth or repurchase; the default world has no such
effect). Groups follow docs/metrics.md (Customer recovery groups: failures created in the
365-day look-back, recovered when solved and never reopened), computed here with polars.
The intervals are checked on the seed-7 world: a recorded output of the generator, not a
law (another seed of a no-effect world spans 0 about 95 times in 100).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

from data_contracts.recovery_rules import LOOKBACK_DAYS
from turnaround.generate import generate

pytestmark = pytest.mark.slow
FAILURE_TAGS = ["complaint", "outage", "bug", "defect", "wrong_item", "late_delivery"]
FAILURE_TAGS += ["billing_error"]
DAY = dt.timedelta(days=1)
NPS_POINTS = {score: 1 if score >= 9 else 0 if score >= 7 else -1 for score in range(11)}


def read(path: Path) -> pl.DataFrame:
    """A canonical CSV as text columns, with its timestamps parsed."""
    frame = pl.read_csv(path, infer_schema_length=0)
    times = [c for c in frame.columns if c.endswith("_at")]
    return frame.with_columns(pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%SZ") for c in times)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("default")
    generate(out_dir, fmt="canonical")
    return {name: read(out_dir / f"{name}.csv") for name in ("tickets", "nps", "customers")}


def is_failure() -> pl.Expr:
    return (pl.col("type").is_in(["incident", "problem"]).fill_null(False)) | pl.col(
        "tags"
    ).str.split(";").list.eval(pl.element().is_in(FAILURE_TAGS)).list.any()


def groups_at(tickets: pl.DataFrame, t: dt.datetime) -> pl.DataFrame:
    """customer_id -> group and when their last failure was solved, for customers with
    failures created in the look-back (t - 365 days, t]."""
    solved = pl.col("solved_at").is_not_null() & (pl.col("solved_at") <= t)
    recovered = pl.col("reopens") == "0"  # CSAT is not part of the rule
    created = pl.col("created_at")
    failures = tickets.filter(is_failure(), created > t - LOOKBACK_DAYS * DAY, created <= t)
    return failures.group_by("customer_id").agg(
        group=pl.when((solved & ~recovered).any())
        .then(pl.lit("unrecovered"))
        .when((~solved).any())
        .then(pl.lit("in_recovery"))
        .otherwise(pl.lit("recovered")),
        last_solved_at=pl.col("solved_at").max(),
    )


def delta_interval(a: pl.Series, b: pl.Series) -> tuple[float, float]:
    """95% interval of mean(a) - mean(b) (normal approximation)."""
    value = a.mean() - b.mean()
    half = 1.96 * math.sqrt(a.var(ddof=0) / len(a) + b.var(ddof=0) / len(b))
    return value - half, value + half


def test_default_size(demo) -> None:
    assert 90_000 < len(demo["tickets"]) < 110_000
    assert 20_000 < len(demo["nps"]) < 40_000


def test_paradox_not_detected_on_nps(demo) -> None:
    as_of = demo["tickets"]["created_at"].max()
    groups = groups_at(demo["tickets"], as_of)
    answers = (
        demo["nps"]
        .filter(pl.col("responded_at") > as_of - 365 * DAY)
        .join(groups, on="customer_id", how="left")
        .with_columns(
            pl.col("group").fill_null("never_failed"),
            nps=pl.col("score").cast(pl.Int64).replace_strict(NPS_POINTS, return_dtype=pl.Int64),
        )
    )
    recovered = answers.filter(
        (pl.col("group") == "recovered") & (pl.col("responded_at") > pl.col("last_solved_at"))
    )
    never_failed = answers.filter(pl.col("group") == "never_failed")
    low, high = delta_interval(recovered["nps"], never_failed["nps"])
    assert low < 0 < high


def test_paradox_holds_on_satisfaction(demo) -> None:
    """CSAT (good over good or bad) of recovered failures above that of ordinary solved
    tickets."""
    rated = demo["tickets"].filter(pl.col("csat").is_in(["good", "bad"]))
    good = (pl.col("csat") == "good").cast(float)
    recovered = rated.filter(is_failure(), pl.col("reopens") == "0").select(good).to_series()
    ordinary = rated.filter(~is_failure()).select(good).to_series()
    low, _ = delta_interval(recovered, ordinary)
    assert low > 0.02  # recorded: 0.94 against 0.90


def test_paradox_not_detected_on_retention(demo) -> None:
    as_of = demo["tickets"]["created_at"].max()
    t0 = as_of - 90 * DAY
    churned = pl.col("churned_at")
    active = demo["customers"].filter(
        (pl.col("signup_at") <= t0) & (churned.is_null() | (churned > t0))
    )
    active = active.join(groups_at(demo["tickets"], t0), on="customer_id", how="left")
    active = active.with_columns(
        pl.col("group").fill_null("never_failed"),
        kept=(churned.is_null() | (churned > as_of)).cast(float),
    )
    kept = {g: active.filter(pl.col("group") == g)["kept"] for g in ("recovered", "never_failed")}
    low, high = delta_interval(kept["recovered"], kept["never_failed"])
    assert low < 0 < high
    unrecovered = active.filter(pl.col("group") == "unrecovered")["kept"]
    assert unrecovered.mean() < kept["never_failed"].mean() - 0.03


def _paradox(tmp_path: Path, definitions: tuple[str, ...] = ("2026-12",), **effects) -> list:
    """The product's paradox test on a generated demo, loaded as a user loads it, under each
    set of ``definitions``."""
    from etl.pipeline.load import load_paths
    from metrics import MetricParams, compute_kpis
    from warehouse import get_engine

    generate(tmp_path / "demo", fmt="canonical", **effects)
    engine = get_engine(f"duckdb:///{tmp_path / 'demo.duckdb'}")
    load_paths(engine, [tmp_path / "demo"])
    return [compute_kpis(engine, MetricParams(definitions=d))["paradox"] for d in definitions]


def _verdicts(paradox: dict) -> dict:
    return {
        name: (paradox[name]["verdict"], paradox[name]["matched"]["verdict"])
        for name in ("nps_delta", "retention_delta")
    }


def test_the_default_demo_reproduces_the_meta_analysis(tmp_path) -> None:
    # de Matos, Henrique & Rossi (2007): the paradox on satisfaction, not on word of mouth or
    # repurchase; crude and like-for-like alike.
    current, earlier = _paradox(tmp_path, ("2026-12", "2026-11"))
    assert _verdicts(current) == {
        "nps_delta": ("not_detected", "not_detected"),
        "retention_delta": ("not_detected", "not_detected"),
    }
    # The earlier definitions group on "not rated bad" too (CSAT shares the customer's
    # satisfaction with NPS) and on every failure since the data began. On this one world the
    # two definitions' nps_delta differ by less than their intervals' width (recorded: +1.3
    # under 2026-11, +1.0 under 2026-12, intervals about ±5 points), so one seed shows no
    # inflation either way; docs/calibration.md is where error rates are shown, over 400.
    assert earlier["nps_delta"]["verdict"] == "not_detected"


def test_the_generator_flags_give_each_finding(tmp_path) -> None:
    [paradox] = _paradox(tmp_path, nps_effect=1.0, retention_effect=10.0)
    assert _verdicts(paradox) == {
        "nps_delta": ("holds", "holds"),
        "retention_delta": ("holds", "holds"),
    }
