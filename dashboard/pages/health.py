"""Data health: recent load runs with their accounting, contract check results, quarantined
rows with their reasons, and how fresh each source is."""

import polars as pl
import streamlit as st

from dashboard import ui, wording
from etl.health import freshness, quarantined
from etl.history import run_history
from warehouse.engine import duckdb_path
from warehouse.schema import COUNT_COLUMNS

RUNS_SHOWN = 20

ctx = ui.context()

st.title("Data health")
st.caption(wording.as_of_text(ctx.as_of))

st.header("Freshness")
fresh = pl.DataFrame(ctx.fetch(freshness))
st.dataframe(
    fresh,
    hide_index=True,
    column_config={
        "latest_event": st.column_config.DatetimeColumn("Latest event (UTC)"),
        "last_loaded": st.column_config.DatetimeColumn("Last loaded (UTC)"),
        "rows": st.column_config.NumberColumn("Rows", format="localized"),
    },
)
ui.csv_button(ui.csv_bytes(fresh), "freshness", "freshness_csv")

st.header("Recent loads")
history = ctx.fetch(run_history, duckdb_path(ctx.setup.url), RUNS_SHOWN)
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
    st.dataframe(runs, hide_index=True)
    ui.csv_button(ui.csv_bytes(runs), "runs", "runs_csv")
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
    st.dataframe(checks, hide_index=True)
    ui.csv_button(ui.csv_bytes(checks), "contract_checks", "checks_csv")
else:
    st.info("No contract checks recorded.")

st.header("Quarantined rows")
held = ctx.fetch(quarantined, 200)
st.caption(f"{held['total']:,} rows in quarantine; the newest {len(held['rows'])} shown.")
if held["rows"]:
    frame = pl.DataFrame(held["rows"])
    st.dataframe(frame, hide_index=True)
    ui.csv_button(ui.csv_bytes(frame), "quarantine", "quarantine_csv")
