"""Scale benchmark: generated data at 100,000, 1,000,000 and 10,000,000 tickets.

For each size, in one run, on the same files:
- Turnaround: ``turnaround load`` (wall time and peak memory of the process), the same load
  again (nothing new: skipped), ``metrics --json`` and ``metrics --by channel --grain week``
  (the command's wall time, and the computation in process, warm), the Overview page (AppTest,
  cold and warm), and the load and all KPIs on PostgreSQL;
- the floor: DuckDB's own ``read_csv`` of the three files into a DuckDB file, and one
  hand-written query of three KPIs (median and 90th percentile time to first reply, one-touch
  resolution);
- an analyst's notebook: pandas ``read_csv`` of the three files (pyarrow's parser and
  types), the same three KPIs in pandas, and the frames stored in a DuckDB file the quick way
  (DuckDB's registration of a pandas frame, ``CREATE TABLE ... AS SELECT * FROM frame``).
Every step runs in its own process, so wall times include start-up for all three alike and
peak memory is each process's own. Ratios sit beside the seconds: the machine is shared.

``python bench/scale.py 10m`` (``make bench-large``) adds the 10M size to bench/results.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results.json"
TABLE = ROOT / "docs" / "benchmarks.md"
TURNAROUND = str(Path(sys.executable).parent / "turnaround")
# label -> customers to generate (about five tickets each)
SIZES = {"100k": 20_000, "1m": 200_000, "10m": 2_000_000}
# PostgreSQL is measured up to this size in `make bench` (10M only in `make bench-large`).
AIMS = {
    "load_seconds_10m": 60.0,
    "load_peak_mb_10m": 4096,
    "load_ratio_to_floor": 2.0,
    "reload_seconds_10m": 3.0,
    "metrics_seconds_10m": 2.0,
    "by_channel_week_seconds_10m": 3.0,
    "postgresql_ratio_to_duckdb": 5.0,
    "faster_than_notebook": 5.0,
}

FLOOR = """
import json, sys, time, duckdb
folder, out = sys.argv[1], sys.argv[2]
con = duckdb.connect(out)
con.execute("set enable_progress_bar = false")
start = time.perf_counter()
for table, name in (("tickets", "tickets"), ("nps_responses", "nps"), ("customers", "customers")):
    con.execute(f"create table {table} as select * from read_csv('{folder}/{name}.csv')")
loaded = time.perf_counter() - start
start = time.perf_counter()
con.execute('''
    select quantile_cont((epoch(first_reply_at) - epoch(created_at)) / 60, [0.5, 0.9]),
           avg((agent_replies <= 1)::int) filter (where status in ('solved', 'closed'))
    from tickets
''').fetchall()
print(json.dumps({"load": loaded, "kpis": time.perf_counter() - start}))
"""

NOTEBOOK = """
import json, sys, time, duckdb, pandas as pd
folder, out = sys.argv[1], sys.argv[2]
start = time.perf_counter()
# pyarrow's parser and types: how a savvy analyst reads millions of rows (the default
# object columns need several times the memory).
quick = {"engine": "pyarrow", "dtype_backend": "pyarrow"}
tickets = pd.read_csv(f"{folder}/tickets.csv", **quick,
                      parse_dates=["created_at", "first_reply_at", "solved_at", "updated_at"])
nps = pd.read_csv(f"{folder}/nps.csv", parse_dates=["responded_at"], **quick)
customers = pd.read_csv(f"{folder}/customers.csv", parse_dates=["signup_at", "churned_at"],
                        **quick)
read = time.perf_counter() - start
start = time.perf_counter()
tta = (tickets.first_reply_at - tickets.created_at).dt.total_seconds() / 60
solved = tickets[tickets.status.isin(["solved", "closed"])]
kpis = {"median": tta.median(), "p90": tta.quantile(0.9),
        "one_touch": (solved.agent_replies <= 1).mean()}
computed = time.perf_counter() - start
start = time.perf_counter()
con = duckdb.connect(out)
con.execute("set enable_progress_bar = false")
for name, frame in (("tickets", tickets), ("nps_responses", nps), ("customers", customers)):
    con.register("frame", frame)
    con.execute(f"create table {name} as select * from frame")
    con.unregister("frame")
con.close()
print(json.dumps({"read": read, "kpis": computed, "store": time.perf_counter() - start}))
"""


TIME = "/usr/bin/time"  # Debian's `time` package: the peak memory of the command alone


def measured(args: list[str]) -> dict:
    """Run ``args``; its wall seconds, peak resident memory (MB) and output.

    The peak comes from GNU time, which starts the command from its own small process: a
    child forked straight from this (large) process would count this one's pages too."""
    with tempfile.NamedTemporaryFile(suffix=".peak") as peak:
        start = time.perf_counter()
        done = subprocess.run(
            [TIME, "-q", "-f", "%M", "-o", peak.name, *args], capture_output=True, text=True
        )
        seconds = time.perf_counter() - start
        kilobytes = int(Path(peak.name).read_text().split()[-1])
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return {"seconds": seconds, "peak_mb": kilobytes / 1024, "stdout": done.stdout}


def in_process(fn, runs: int = 3) -> float:
    """Median seconds of ``runs`` calls after one call that opens everything (warm)."""
    fn()
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


# The generator holds a whole data set in memory (about 16 GB for 2,000,000 customers), so
# the largest size is built from parts of this many customers, each with its own seed and
# its ids prefixed, appended file by file.
PART_CUSTOMERS = 200_000
ID_COLUMNS = {
    "tickets.csv": ("ticket_id", "customer_id"),
    "nps.csv": ("response_id", "customer_id"),
    "customers.csv": ("customer_id",),
}


def build_data(folder: Path, customers: int) -> None:
    """Canonical CSVs of about ``customers`` customers (five tickets each)."""
    import polars as pl

    from turnaround.generate import generate

    if customers <= PART_CUSTOMERS:
        generate(folder, customers=customers, fmt="canonical")
        return
    folder.mkdir(parents=True)
    for part in range(customers // PART_CUSTOMERS):
        piece = folder / f"part-{part}"
        generate(piece, customers=PART_CUSTOMERS, seed=100 + part, fmt="canonical")
        for name, ids in ID_COLUMNS.items():
            frame = pl.read_csv(piece / name, infer_schema=False)
            frame = frame.with_columns(pl.format(f"P{part}-{{}}", pl.col(c)).alias(c) for c in ids)
            with (folder / name).open("ab") as out:
                frame.write_csv(out, include_header=part == 0)
            (piece / name).unlink()
        piece.rmdir()


def measure_size(label: str, work: Path, postgresql: bool) -> dict:
    from metrics import compute_kpis
    from metrics.slices import SliceRequest, compute_slice
    from warehouse import get_engine

    folder = work / label
    build_data(folder, SIZES[label])
    tickets = sum(1 for _ in (folder / "tickets.csv").open()) - 1
    url = f"duckdb:///{work / label}.duckdb"
    quiet = ["--log-level", "warning"]
    load = measured([TURNAROUND, "load", str(folder), "--warehouse", url, *quiet])
    print(label, "load", round(load["seconds"], 1), "s", round(load["peak_mb"]), "MB", flush=True)
    reload = measured([TURNAROUND, "load", str(folder), "--warehouse", url, *quiet])
    metrics_cli = measured([TURNAROUND, "metrics", "--json", "--warehouse", url])
    by_week_cli = measured(
        [TURNAROUND, "metrics", "--by", "channel", "--grain", "week", "--json", "--warehouse", url]
    )
    engine = get_engine(url)
    by_channel_week = SliceRequest(by=("channel",), grain="week")
    metrics_warm = in_process(lambda: compute_kpis(engine))
    by_week_warm = in_process(lambda: compute_slice(engine, request=by_channel_week))
    engine.dispose()
    overview = overview_seconds(url)
    floor = measured(
        [sys.executable, "-c", FLOOR, str(folder), str(work / f"{label}-floor.duckdb")]
    )
    floor_inner = json.loads(floor["stdout"].strip().splitlines()[-1])
    notebook = measured(
        [sys.executable, "-c", NOTEBOOK, str(folder), str(work / f"{label}-notebook.duckdb")]
    )
    notebook_inner = json.loads(notebook["stdout"].strip().splitlines()[-1])
    ours = load["seconds"] + metrics_cli["seconds"]
    result = {
        "tickets": tickets,
        "csv_mb": round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20, 1),
        "load_seconds": round(load["seconds"], 2),
        "load_peak_mb": round(load["peak_mb"]),
        "reload_seconds": round(reload["seconds"], 2),
        "metrics_cli_seconds": round(metrics_cli["seconds"], 2),
        "metrics_in_process_seconds": round(metrics_warm, 3),
        "by_channel_week_cli_seconds": round(by_week_cli["seconds"], 2),
        "by_channel_week_in_process_seconds": round(by_week_warm, 3),
        "overview_cold_seconds": overview[0],
        "overview_warm_seconds": overview[1],
        "floor_read_csv_seconds": round(floor["seconds"], 2),
        "floor_read_csv_inner_seconds": round(floor_inner["load"], 2),
        "floor_peak_mb": round(floor["peak_mb"]),
        "floor_kpi_query_seconds": round(floor_inner["kpis"], 3),
        "notebook_seconds": round(notebook["seconds"], 2),
        "notebook_peak_mb": round(notebook["peak_mb"]),
        "notebook_read_seconds": round(notebook_inner["read"], 2),
        "notebook_kpis_seconds": round(notebook_inner["kpis"], 3),
        "notebook_store_seconds": round(notebook_inner["store"], 2),
        "load_ratio_to_floor": round(load["seconds"] / floor["seconds"], 2),
        "metrics_ratio_to_floor_query": round(metrics_warm / max(floor_inner["kpis"], 1e-6), 1),
        "faster_than_notebook": round(notebook["seconds"] / ours, 2),
    }
    if postgresql:
        result.update(postgresql_measures(folder, result))
    return result


def postgresql_measures(folder: Path, duckdb_result: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    from metrics import compute_kpis
    from metrics.slices import SliceRequest, compute_slice
    from tests.postgres_server import fresh_database, running_server
    from warehouse import get_engine

    with running_server() as server, fresh_database(server) as url:
        load = measured(
            [TURNAROUND, "load", str(folder), "--warehouse", url, "--log-level", "warning"]
        )
        engine = get_engine(url)
        metrics_warm = in_process(lambda: compute_kpis(engine))
        request = SliceRequest(by=("channel",), grain="week")
        by_week_warm = in_process(lambda: compute_slice(engine, request=request))
        engine.dispose()
    return {
        "postgresql_load_seconds": round(load["seconds"], 2),
        "postgresql_load_peak_mb": round(load["peak_mb"]),
        "postgresql_metrics_in_process_seconds": round(metrics_warm, 3),
        "postgresql_by_channel_week_in_process_seconds": round(by_week_warm, 3),
        "postgresql_metrics_ratio_to_duckdb": round(
            metrics_warm / duckdb_result["metrics_in_process_seconds"], 2
        ),
        "postgresql_load_ratio_to_duckdb": round(
            load["seconds"] / duckdb_result["load_seconds"], 2
        ),
    }


def overview_seconds(url: str) -> tuple[float, float]:
    """The Overview page's whole script run (AppTest), cold and warm (median of three)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from warehouse.engine import ENV_VAR

    app = str(ROOT / "dashboard" / "app.py")
    os.environ[ENV_VAR] = url
    st.cache_data.clear()
    st.cache_resource.clear()

    def run() -> None:
        at = AppTest.from_file(app, default_timeout=900).run()
        assert not at.exception and len(at.metric) == 12, [w.value for w in at.warning]

    try:
        start = time.perf_counter()
        run()
        cold = time.perf_counter() - start
        warm = []
        for _ in range(3):
            start = time.perf_counter()
            run()
            warm.append(time.perf_counter() - start)
    finally:
        del os.environ[ENV_VAR]
    return round(cold, 2), round(statistics.median(warm), 2)


def run_sizes(labels: list[str], postgresql_up_to: str | None = "1m") -> dict:
    os.environ.setdefault("TURNAROUND_HASH_KEY", "turnaround-bench")
    order = list(SIZES)
    results = {}
    with tempfile.TemporaryDirectory(prefix="turnaround-scale-") as work:
        for label in labels:
            pg = postgresql_up_to is not None and order.index(label) <= order.index(
                postgresql_up_to
            )
            results[label] = measure_size(label, Path(work), pg)
            print(label, json.dumps(results[label]), flush=True)
    return results


def aims(sizes: dict) -> dict:
    """Each aim of the 10M size and the ratios at every size, met or not (None: not run)."""
    big = sizes.get("10m")
    checked = {}
    if big:
        checked["load_under_60_s_at_10m"] = big["load_seconds"] < AIMS["load_seconds_10m"]
        checked["load_under_4_gb_at_10m"] = big["load_peak_mb"] < AIMS["load_peak_mb_10m"]
        checked["reload_under_3_s_at_10m"] = big["reload_seconds"] < AIMS["reload_seconds_10m"]
        checked["metrics_under_2_s_at_10m"] = (
            big["metrics_in_process_seconds"] < AIMS["metrics_seconds_10m"]
        )
        checked["by_channel_week_under_3_s_at_10m"] = (
            big["by_channel_week_in_process_seconds"] < AIMS["by_channel_week_seconds_10m"]
        )
    for label, size in sizes.items():
        checked[f"load_within_2x_floor_at_{label}"] = (
            size["load_ratio_to_floor"] <= AIMS["load_ratio_to_floor"]
        )
        checked[f"5x_faster_than_notebook_at_{label}"] = (
            size["faster_than_notebook"] >= AIMS["faster_than_notebook"]
        )
        if "postgresql_metrics_ratio_to_duckdb" in size:
            checked[f"postgresql_within_5x_at_{label}"] = (
                size["postgresql_metrics_ratio_to_duckdb"] <= AIMS["postgresql_ratio_to_duckdb"]
            )
    return checked


ROWS = (
    ("tickets", "tickets", "{:,}"),
    ("canonical CSV (MB)", "csv_mb", "{:,.0f}"),
    ("**Turnaround** `load` (s)", "load_seconds", "{:.1f}"),
    ("`load` peak memory (MB)", "load_peak_mb", "{:,}"),
    ("the same load again, nothing new (s)", "reload_seconds", "{:.2f}"),
    ("`metrics --json`, command (s)", "metrics_cli_seconds", "{:.2f}"),
    ("all KPIs in process, warm (s)", "metrics_in_process_seconds", "{:.2f}"),
    ("`--by channel --grain week`, command (s)", "by_channel_week_cli_seconds", "{:.2f}"),
    ("by channel by week in process, warm (s)", "by_channel_week_in_process_seconds", "{:.2f}"),
    ("Overview page, cold (s)", "overview_cold_seconds", "{:.2f}"),
    ("Overview page, warm (s)", "overview_warm_seconds", "{:.2f}"),
    ("**Floor**: DuckDB `read_csv` of the files (s)", "floor_read_csv_seconds", "{:.1f}"),
    ("floor peak memory (MB)", "floor_peak_mb", "{:,}"),
    ("floor: one hand-written KPI query (s)", "floor_kpi_query_seconds", "{:.3f}"),
    ("**Notebook**: pandas read, 3 KPIs, store in DuckDB (s)", "notebook_seconds", "{:.1f}"),
    ("notebook peak memory (MB)", "notebook_peak_mb", "{:,}"),
    ("load ÷ floor", "load_ratio_to_floor", "{:.1f}×"),
    ("notebook ÷ (load + metrics)", "faster_than_notebook", "{:.2f}×"),
    ("**PostgreSQL** `load` (s)", "postgresql_load_seconds", "{:.1f}"),
    ("PostgreSQL all KPIs in process, warm (s)", "postgresql_metrics_in_process_seconds", "{:.2f}"),
    (
        "PostgreSQL by channel by week, warm (s)",
        "postgresql_by_channel_week_in_process_seconds",
        "{:.2f}",
    ),
    ("PostgreSQL KPIs ÷ DuckDB KPIs", "postgresql_metrics_ratio_to_duckdb", "{:.1f}×"),
)


def write_table(sizes: dict, measured_on: str) -> None:
    """docs/benchmarks.md: the table of every size measured, written by the benchmark."""
    labels = [label for label in SIZES if label in sizes]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (100k and 1M tickets) and `make bench-large` (10M) from",
        "`bench/results.json`; do not edit by hand. Generated canonical data (`turnaround",
        "generate`), on this project's 2-core, 24 GB test machine. Every step runs as its own",
        "process, start-up included. See bench/scale.py for what each row runs.",
        "",
        f"Measured: {measured_on}.",
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for title, key, fmt in ROWS:
        cells = [fmt.format(sizes[label][key]) if key in sizes[label] else "–" for label in labels]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += ["", "Aims (from the issue that set them), met or not:", ""]
    lines += [f"- {name}: {'met' if ok else '**missed**'}" for name, ok in aims(sizes).items()]
    lines += _mapped_lines(json.loads(RESULTS.read_text()) if RESULTS.exists() else {})
    TABLE.write_text("\n".join(lines) + "\n")


def _mapped_lines(results: dict) -> list[str]:
    """The mapped-CSV engine's row of bench/run.py (the 100k demo), where it was measured."""
    if "mapped_freshdesk_load_seconds" not in results:
        return []
    return [
        "",
        "Mapped exports (`make bench`, bench/run.py): the demo's "
        f"{results['mapped_freshdesk_rows']:,} tickets written as a Freshdesk export load in "
        f"{results['mapped_freshdesk_load_seconds']:.2f} s, against "
        f"{results['mapped_canonical_tickets_load_seconds']:.2f} s as the canonical CSV "
        f"({results['mapped_freshdesk_ratio_to_canonical']:.1f}×) and "
        f"{results['mapped_freshdesk_read_csv_seconds']:.2f} s for DuckDB's `read_csv` of the "
        f"Freshdesk file ({results['mapped_freshdesk_ratio_to_read_csv']:.1f}×); in process, "
        "the great-expectations import timed apart.",
    ]


def merge_into_results(sizes: dict) -> dict:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("sizes", {}).update(sizes)
    results["size_aims"] = aims(results["sizes"])
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    results.setdefault("sizes_measured_on", {}).update({label: stamp for label in sizes})
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    dates = ", ".join(f"{k} on {v}" for k, v in results["sizes_measured_on"].items())
    write_table(results["sizes"], dates)
    return results


def main(argv: list[str]) -> int:
    labels = argv or ["100k", "1m"]
    unknown = [label for label in labels if label not in SIZES]
    if unknown:
        print(f"unknown size(s) {', '.join(unknown)}; sizes: {', '.join(SIZES)}", file=sys.stderr)
        return 2
    with_pg = os.environ.get("TURNAROUND_BENCH_POSTGRESQL_UP_TO", "1m")
    merge_into_results(run_sizes(labels, with_pg or None))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
