"""Read commands: ``metrics`` and ``runs``. They open the warehouse read-only, never create or
migrate it, and wait out a load's short merge instead of failing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from turnaround.commands.common import (
    ConfigOpt,
    JsonOpt,
    LogLevel,
    LogLevelOpt,
    WarehouseOpt,
    fail,
    out,
    print_json,
    reader,
    reading,
    settings,
)


def _parse_as_of(value: str | None, as_json: bool) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--as-of must be an ISO 8601 timestamp, not {value!r}", 2, as_json)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def metrics(
    as_of: Annotated[
        str | None, typer.Option(help="Point in time, ISO 8601 (default: latest data)")
    ] = None,
    horizon_days: Annotated[
        int | None,
        typer.Option(min=1, help="Retention horizon H in days (default: 90)", show_default=False),
    ] = None,
    target_minutes: Annotated[
        float | None,
        typer.Option(min=0, help="Acknowledgement target (default: 60)", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Compute the recovery KPIs and the recovery-paradox verdicts in the warehouse."""
    from metrics import KPI_CATALOG, MetricParams, compute_kpis, format_value
    from metrics.params import DEFAULT_FAILURE_TAGS

    run = settings(config, log_level, as_json, warehouse)
    metric_settings = run.config.values.get("metrics", {})
    params = MetricParams(
        as_of=_parse_as_of(as_of, as_json),
        horizon_days=horizon_days or metric_settings.get("horizon_days", 90),
        target_minutes=target_minutes
        if target_minutes is not None
        else metric_settings.get("target_minutes", 60),
        failure_tags=tuple(metric_settings.get("failure_tags", DEFAULT_FAILURE_TAGS)),
    )
    _, engine = reader(run)
    result = reading(run, lambda: compute_kpis(engine, params))
    if as_json:
        print_json(result)
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


def runs(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1, help="Most recent runs to show")] = 20,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Show the ETL run history, newest first (with --json, each run's files and contract
    checks too)."""
    from etl.history import run_history
    from warehouse import journal
    from warehouse.schema import COUNT_COLUMNS

    run = settings(config, log_level, as_json, warehouse)
    target = run.warehouse()
    journalled = [] if target.file_exists() or not target.path else journal.pending(target.path)[0]
    if journalled:  # runs that failed before there was a warehouse: the journal has them
        history = [{**r, "journal": True} for r in journalled][:limit]
    else:
        target, engine = reader(run)
        history = reading(run, lambda: run_history(engine, target.path, limit))
    if as_json:
        print_json(history)
        return
    table = Table(title="ETL runs")
    table.add_column("batch", no_wrap=True)
    for column in ("started (UTC)", "status", "files"):
        table.add_column(column)
    for column in COUNT_COLUMNS[:-1]:  # no skipped: unused streams are in the per-file rows
        table.add_column(column.removeprefix("rows_"), justify="right")
    table.add_column("message")
    for r in history:
        table.add_row(
            r["batch_id"],
            f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
            r["status"] + (" (journal)" if r.get("journal") else ""),
            str(r["files"]),
            *[f"{r[c] or 0:,}" for c in COUNT_COLUMNS[:-1]],
            (r["message"] or "")[:80],
        )
    out.print(table)
