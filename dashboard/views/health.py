"""Data health: recent load runs with their accounting, contract check results, quarantined
rows with their reasons, and how fresh each source is."""

import polars as pl
import streamlit as st

from dashboard import ui, wording
from metrics.health import freshness, quarantined
from metrics.runs import run_history
from warehouse.engine import duckdb_path
from warehouse.schema import COUNT_COLUMNS

RUNS_SHOWN = 20

ctx = ui.context()

st.title("Data health")
st.caption(wording.as_of_text(ctx.as_of))

st.header("Freshness")
fresh = pl.DataFrame(ctx.fetch(freshness))
ui.table(
    fresh,
    "freshness",
    "freshness",
    column_config={
        "latest_event": st.column_config.DatetimeColumn("Latest event (UTC)"),
        "last_loaded": st.column_config.DatetimeColumn("Last loaded (UTC)"),
    },
)
st.caption("Latest event: the newest change, response or signup in the data of that source.")

st.header("Recent loads")
# Not cached: runs refused while another load ran wait in a journal file beside the warehouse.
history = ctx.read(run_history, duckdb_path(ctx.setup.url), RUNS_SHOWN)
runs = pl.DataFrame(
    [
        {
            "batch": r["batch_id"],
            "started (UTC)": r["started_at"],
            "status": r["status"],
            "files": r["files"],
            **{c.removeprefix("rows_"): r.get(c) or 0 for c in COUNT_COLUMNS},
            "message": r.get("message") or "",
        }
        for r in history
    ]
)
if runs.height:
    ui.table(runs, "runs", "runs")
    st.caption("Read = loaded + replaced + quarantined + duplicates + held + skipped, per run.")
else:
    st.info("No load runs recorded.")

st.header("Contract checks")
checks = pl.DataFrame(
    [
        {
            "batch": r["batch_id"],
            "file": c["source_file"],
            "table": c["target_table"],
            "check": c["check_name"],
            "passed": c["success"],
            "failing rows": c["failing_count"],
            "example": c.get("example_reason") or "",
        }
        for r in history
        for c in r["checks"]
    ]
)
if checks.height:
    failed = checks.filter(~pl.col("passed")).height
    st.caption(f"{checks.height:,} checks in the last {len(history)} runs, {failed:,} failed.")
    ui.table(checks, "checks", "contract_checks")
else:
    st.info("No contract checks recorded.")

st.header("Quarantined rows")
held = ctx.fetch(quarantined, 200)
st.caption(f"{held['total']:,} rows in quarantine; the newest {len(held['rows'])} shown.")
if held["rows"]:
    ui.table(pl.DataFrame(held["rows"]), "quarantine", "quarantine")
