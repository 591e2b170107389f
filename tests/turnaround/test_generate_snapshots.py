"""The demo as monthly snapshots: the same final tickets as the single export, earlier
versions where a ticket was solved before it was rated or closed, and the same history
whether the months are loaded one by one or all at once."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from etl.pipeline.load import load_paths
from metrics import MetricParams, compute_kpis
from turnaround.generate import generate
from warehouse import get_engine
from warehouse.schema import ticket_versions


def test_snapshots_hold_the_single_exports_tickets_and_their_earlier_versions(tmp_path):
    generate(tmp_path / "one", customers=300, seed=3, fmt="canonical")
    files = generate(tmp_path / "snap", customers=300, seed=3, fmt="canonical", snapshots=True)
    months = [p for p in files if p.name.startswith("tickets_")]
    assert len(months) > 12
    single = pl.read_csv(tmp_path / "one" / "tickets.csv", infer_schema_length=0)
    versions = pl.concat([pl.read_csv(p, infer_schema_length=0) for p in months])
    latest = versions.sort("updated_at").group_by("ticket_id").last()
    assert latest.sort("ticket_id").equals(single.sort("ticket_id").select(latest.columns))
    earlier = versions.join(single, on=["ticket_id", "updated_at"], how="anti")
    assert earlier.height > 0
    assert (earlier["updated_at"] == earlier["solved_at"]).all()
    assert set(earlier["status"].unique()) == {"solved"}
    assert set(earlier["csat"].drop_nulls().unique()) <= {"offered", "unoffered"}
    for path in months:  # each file holds the versions of its month
        frame = pl.read_csv(path, infer_schema_length=0)
        assert frame["updated_at"].str.slice(0, 7).unique().to_list() == [path.stem[8:]]


def _history(url: str) -> tuple[list, dict]:
    """Every earlier version (what it holds, not which run or file brought it), and the KPIs."""
    engine = get_engine(url)
    content = [c for c in ticket_versions.columns if c.name not in ("batch_id", "source_file")]
    with engine.connect() as conn:
        kept = conn.execute(sa.select(*content).order_by(*content[:3])).all()
    return [tuple(row) for row in kept], compute_kpis(engine, MetricParams())


@pytest.mark.slow
def test_month_by_month_and_all_at_once_give_the_same_history(tmp_path):
    files = generate(tmp_path / "snap", customers=300, seed=3, fmt="canonical", snapshots=True)
    at_once = f"duckdb:///{tmp_path / 'at_once.duckdb'}"
    load_paths(get_engine(at_once), [tmp_path / "snap"])
    nightly = f"duckdb:///{tmp_path / 'nightly.duckdb'}"
    others = [p for p in files if not p.name.startswith("tickets_")]
    load_paths(get_engine(nightly), others)
    for path in reversed([p for p in files if p.name.startswith("tickets_")]):  # newest first
        load_paths(get_engine(nightly), [path])
    kept, result = _history(at_once)
    assert len(kept) > 100
    assert _history(nightly) == (kept, result)


@pytest.mark.slow
def test_the_two_formats_snapshots_agree(tmp_path):
    """Canonical and Zendesk snapshots of one demo give the same numbers (Zendesk versions
    carry no metrics and read the ticket's, which the demo never changes after a solve)."""
    results = {}
    for fmt in ("canonical", "zendesk"):
        generate(tmp_path / fmt, customers=300, seed=3, fmt=fmt, snapshots=True)
        url = f"duckdb:///{tmp_path / fmt}.duckdb"
        load_paths(get_engine(url), [tmp_path / fmt])
        results[fmt] = _history(url)
    (canonical_kept, canonical), (zendesk_kept, zendesk) = results.values()
    assert len(canonical_kept) == len(zendesk_kept) > 100
    business = {  # not in the CSV
        "business_tta_median_minutes",
        "business_tta_p90_minutes",
        "business_tta_within_target_pct",
    }
    for name, value in canonical["kpis"].items():
        if name not in business:
            assert zendesk["kpis"][name] == pytest.approx(value, nan_ok=True), name
    assert zendesk["paradox"] == canonical["paradox"]
    assert zendesk["hindsight"] == canonical["hindsight"]
