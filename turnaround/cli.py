"""The ``turnaround`` command line: the contract scripts and schedulers rely on.

Exit codes: 0 success; 1 the work failed (nothing was loaded); 2 bad usage.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from warehouse.schema import COUNT_COLUMNS

app = typer.Typer(
    help="Turnaround: service-recovery analytics for support tickets and NPS surveys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)

WarehouseOpt = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        help="SQLAlchemy URL of the warehouse [default: $TURNAROUND_WAREHOUSE, "
        "else duckdb:///turnaround.duckdb]",
        show_default=False,
    ),
]


def _heading(count_column: str) -> str:
    return count_column.removeprefix("rows_")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _engine(url: str | None, read_only: bool = False):
    from warehouse.engine import WarehouseError, get_engine

    try:
        return get_engine(url, read_only=read_only)
    except WarehouseError as exc:
        raise _fail(str(exc)) from None


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the exports into")],
    customers: Annotated[int, typer.Option(min=1, help="Number of customers")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data")] = 7,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="zendesk: Zendesk JSON Lines + Delighted JSON + customers CSV; "
            "canonical: tickets.csv, nps.csv, customers.csv",
        ),
    ] = "zendesk",
    nps_effect: Annotated[
        float, typer.Option(help="Scale of recovery's lift on NPS (0 = none, 1 = default)")
    ] = 1.0,
    retention_effect: Annotated[
        float, typer.Option(help="Scale of recovery's effect on churn (0 = none, 1 = default)")
    ] = 1.0,
) -> None:
    """Write realistic, seeded demo exports (two years of tickets, surveys, customers)."""
    from turnaround.generate import generate as run_generate

    if fmt not in ("zendesk", "canonical"):
        raise _fail(f"--format must be zendesk or canonical, not {fmt!r}", 2)
    with err.status(f"Generating {customers:,} customers…"):
        files = run_generate(
            out_dir,
            customers=customers,
            seed=seed,
            fmt=fmt,
            nps_effect=nps_effect,
            retention_effect=retention_effect,
        )
    for path in files:
        out.print(f"wrote {path} ({path.stat().st_size / 1e6:,.1f} MB)", highlight=False)


@app.command()
def load(
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, help="Export files, or folders of them, to load in one run"),
    ],
    warehouse: WarehouseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON")] = False,
) -> None:
    """Load export files into the warehouse in one all-or-nothing run."""
    from etl.frames import UnreadableFile
    from etl.load import LoadError, load_paths

    engine = _engine(warehouse)
    try:
        with err.status("Loading…") as status:
            report = load_paths(
                engine,
                paths,
                progress=lambda p, i, n: status.update(f"Reading file {i}/{n}: {Path(p).name}"),
            )
    except UnreadableFile as exc:
        raise _fail(f"{exc}\nNothing was loaded.") from None
    except LoadError as exc:
        raise _fail(f"{exc}. Nothing was loaded.") from None
    except Exception as exc:  # a warehouse or disk failure: the transaction rolled back
        raise _fail(f"load failed: {type(exc).__name__}: {exc}\nNothing was loaded.") from None
    if as_json:
        out.print_json(json.dumps({**report.run_row(), "files": report.file_rows()}, default=str))
        return
    table = Table(title=f"Run {report.batch_id}")
    table.add_column("file")
    table.add_column("table")
    for column in COUNT_COLUMNS:
        table.add_column(_heading(column), justify="right")
    for s in report.stats.values():
        table.add_row(
            Path(s.source_file).name,
            s.target_table,
            *[f"{getattr(s, c):,}" for c in COUNT_COLUMNS],
        )
    out.print(table)
    totals = report.totals()
    seconds = (report.ended_at - report.started_at).total_seconds()
    out.print(
        f"Loaded {totals['rows_loaded']:,} rows, replaced {totals['rows_replaced']:,}, "
        f"quarantined {totals['rows_quarantined']:,} in {seconds:.1f} s.",
        highlight=False,
    )


def _parse_as_of(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"--as-of must be an ISO 8601 timestamp, not {value!r}", 2) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


@app.command()
def metrics(
    as_of: Annotated[
        str | None, typer.Option(help="Point in time, ISO 8601 (default: latest data)")
    ] = None,
    horizon_days: Annotated[int, typer.Option(min=1, help="Retention horizon H in days")] = 90,
    target_minutes: Annotated[float, typer.Option(min=0, help="Acknowledgement target")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Compute the recovery KPIs and the recovery-paradox verdicts in the warehouse."""
    from metrics import KPI_CATALOG, MetricParams, compute_kpis, format_value
    from warehouse.schema import ensure_schema

    params = MetricParams(
        as_of=_parse_as_of(as_of), horizon_days=horizon_days, target_minutes=target_minutes
    )
    engine = _engine(warehouse)
    ensure_schema(engine)
    result = compute_kpis(engine, params)
    if as_json:
        print(json.dumps(result))
        return
    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    table = Table(title=f"Recovery KPIs as of {result['as_of']}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for name, value in result["kpis"].items():
        kpi = KPI_CATALOG[name]
        target = "" if kpi.default_target is None else format_value(name, kpi.default_target)
        table.add_row(kpi.label, format_value(name, value), target)
    out.print(table)
    for name, delta in result["paradox"].items():
        verdict = (delta["verdict"] or "no data").replace("_", " ")
        interval = (
            f" (95% CI {format_value(name, delta['ci_low'])} to "
            f"{format_value(name, delta['ci_high'])})"
            if delta["value"] is not None
            else ""
        )
        out.print(
            f"Recovery paradox, {name.replace('_', ' ')}: "
            f"{format_value(name, delta['value'])}{interval}: {verdict}",
            highlight=False,
        )


@app.command()
def runs(
    as_json: Annotated[bool, typer.Option("--json", help="Print the run history as JSON")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Most recent runs to show")] = 20,
    warehouse: WarehouseOpt = None,
) -> None:
    """Show the ETL run history, newest first."""
    import sqlalchemy as sa

    from warehouse.schema import ensure_schema, etl_runs

    engine = _engine(warehouse)
    ensure_schema(engine)
    with engine.connect() as conn:
        rows = (
            conn.execute(sa.select(etl_runs).order_by(etl_runs.c.started_at.desc()).limit(limit))
            .mappings()
            .all()
        )
    if as_json:
        print(json.dumps([dict(r) for r in rows], default=str))
        return
    table = Table(title="ETL runs")
    for column in ("batch", "started (UTC)", "status", "files"):
        table.add_column(column)
    for column in COUNT_COLUMNS[:-1]:  # no skipped: unused streams are in etl_run_files
        table.add_column(_heading(column), justify="right")
    table.add_column("message")
    for r in rows:
        table.add_row(
            r["batch_id"],
            f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
            r["status"],
            str(r["files"]),
            *[f"{r[c]:,}" for c in COUNT_COLUMNS[:-1]],
            (r["message"] or "")[:60],
        )
    out.print(table)


@app.command()
def dashboard(
    warehouse: WarehouseOpt = None,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8501,
) -> None:
    """Serve the Streamlit dashboard."""
    import dashboard as dashboard_pkg
    from warehouse.engine import resolve_url

    app_file = Path(dashboard_pkg.__file__).parent / "app.py"
    env = {**os.environ, "TURNAROUND_WAREHOUSE": resolve_url(warehouse)}
    out.print(f"Turnaround dashboard on http://localhost:{port} (Ctrl+C to stop)")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_file),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    raise typer.Exit(subprocess.call(command, env=env))


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo exports")] = Path(
        "demo_data"
    ),
    customers: Annotated[int, typer.Option(min=1, help="Number of customers")] = 20_000,
    warehouse: WarehouseOpt = None,
    serve: Annotated[bool, typer.Option(help="Serve the dashboard after loading")] = True,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8501,
) -> None:
    """Generate demo exports, load them, and open the dashboard."""
    if not any(out_dir.glob("*")):
        generate(out_dir, customers=customers)
    load([out_dir], warehouse=warehouse)
    if serve:
        dashboard(warehouse=warehouse, port=port)
