"""``turnaround tickets``: the units behind a number. Without ``--kpi``, the tickets of a
slice (the dashboard's Tickets page); with it, exactly the tickets, customers, responses or
episodes counted in that KPI's n, each with the value it contributes (metrics.units)."""

from __future__ import annotations

import sys
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
    metric_params,
    out,
    print_json,
    reader,
    reading,
    settings,
)
from turnaround.commands.read import (
    ONE_TOUCH_HELP,
    AsOfOpt,
    CountOpt,
    EpisodeWindowOpt,
    FromOpt,
    Grain,
    HorizonOpt,
    OneTouch,
    TargetOpt,
    TimezoneOpt,
    ToOpt,
    WhereOpt,
    _computed,
    _filters_text,
    _parse_as_of,
    _parse_day,
    _versioned,
)

TABLE_ROWS = 50  # rows the readable table shows without --limit
# The readable table's columns per unit (--json and --csv have them all).
TABLE_COLUMNS = {
    "tickets": ("ticket_id", "customer_id", "created_at", "channel", "recovery_status", "value"),
    "episodes": ("ticket_id", "customer_id", "created_at", "tickets", "value"),
    "customers": ("customer_id", "recovery_group", "plan", "outcome", "value"),
    "responses": ("response_id", "customer_id", "responded_at", "score", "recovery_group", "value"),
}


def tickets(
    kpi: Annotated[
        str | None,
        typer.Option(
            "--kpi",
            help="List the units counted in this KPI's n, with their values (default: every "
            "ticket of the slice)",
            show_default=False,
        ),
    ] = None,
    where: WhereOpt = None,
    start: FromOpt = None,
    end: ToOpt = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Only the period of --grain starting this day, measured as `metrics --grain` "
            "measures it",
            show_default=False,
        ),
    ] = None,
    grain: Annotated[
        Grain | None,
        typer.Option(help="The grain of --period", show_default=False),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(help="Only units whose id (or customer id) contains TEXT", show_default=False),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            help="Sort by this column (tickets: created_at, value, tta_minutes, ...)",
            show_default=False,
        ),
    ] = None,
    descending: Annotated[bool, typer.Option("--descending", help="Largest first")] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"At most N rows (default: all; the table shows {TABLE_ROWS})",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOpt = None,
    horizon_days: HorizonOpt = None,
    target_minutes: TargetOpt = None,
    one_touch: Annotated[OneTouch | None, typer.Option(help=ONE_TOUCH_HELP)] = None,
    count: CountOpt = None,
    episode_window_days: EpisodeWindowOpt = None,
    timezone: TimezoneOpt = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Write CSV, safe to open in a spreadsheet")
    ] = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """List the units behind a number: the tickets of a slice, or with --kpi exactly the
    tickets, customers, NPS responses or episodes counted in that KPI's n, each with the value
    it contributes (n and value as `turnaround metrics` gives them for the same arguments).

    Examples: `turnaround tickets --kpi tta_median_minutes --where channel=chat --from
    2026-10-01`, `turnaround tickets --kpi recovered_retention --period 2026-09-01 --grain
    month --csv`.
    """
    from metrics.slices import (
        SliceError,
        SliceRequest,
        check_where_in_data,
        parse_where,
        validate,
    )
    from metrics.units import kpi_units

    if as_json and as_csv:
        fail("--json and --csv: choose one", 2, as_json)
    run = settings(config, log_level, as_json, warehouse)
    params = metric_params(
        run,
        as_of=_parse_as_of(as_of, as_json),
        horizon_days=horizon_days,
        target_minutes=target_minutes,
        one_touch=one_touch.value if one_touch else None,
        count=count.value if count else None,
        episode_window_days=episode_window_days,
        reporting_timezone=timezone,
    )
    try:
        request = SliceRequest(
            kpis=(kpi,) if kpi else (),
            grain=grain.value if grain else None,
            where=parse_where(where or []),
            start=_parse_day(start, "--from", as_json),
            end=_parse_day(end, "--to", as_json),
        )
        validate(request)
    except SliceError as exc:
        fail(str(exc), 2, as_json)
    first = _parse_day(period, "--period", as_json)
    _, engine = reader(run)
    # a value not in the data (a typo) is refused, as `metrics --where` refuses it
    _computed(run, lambda: check_where_in_data(engine, params, request.where))

    def work():
        try:
            return kpi_units(
                engine,
                params,
                request,
                kpi,
                first,
                search=search,
                sort=sort,
                descending=descending,
                limit=limit,
            )
        except SliceError as exc:
            fail(str(exc), 2, as_json)

    result = reading(run, work)
    if as_json:
        print_json(_versioned(_iso_times(result), params.definitions))
    elif as_csv:
        _write_csv(result)
    else:
        _print_units(result, limit)


def _iso_times(result: dict) -> dict:
    """The unit rows' instants as the other JSON outputs write them (ISO 8601, UTC, ``Z``)."""
    import datetime as dt

    from data_contracts.times import isoformat_utc

    rows = [
        {k: isoformat_utc(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}
        for row in result[result["unit"]]
    ]
    return result | {result["unit"]: rows}


def _write_csv(result: dict) -> None:
    import polars as pl

    from metrics.formatting import csv_bytes
    from metrics.units import UNIT_LISTS

    columns = next(u.columns for u in UNIT_LISTS.values() if u.key == result["unit"])
    rows = result[result["unit"]]
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=columns)
    sys.stdout.buffer.write(csv_bytes(frame.select(columns)))
    sys.stdout.flush()


def _print_units(result: dict, limit: int | None) -> None:
    from metrics import KPI_CATALOG, format_value

    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    name, unit = result["kpi"], result["unit"]
    rows = result[unit]
    title = f"{unit.capitalize()} as of {result['as_of']}"
    if name is not None:
        title = f"{unit.capitalize()} counted in {KPI_CATALOG[name].label} as of {result['as_of']}"
    scope = _filters_text(result["filters"])
    if result["period_start"]:
        one = f"the {result['grain']} of {result['period_start']}"
        scope = f"{scope}; {one}" if scope else one
    table = Table(title=title + (f" ({scope})" if scope else ""))
    shown = rows if limit is not None else rows[:TABLE_ROWS]
    columns = [c for c in TABLE_COLUMNS[unit] if c != "value" or name is not None]
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in shown:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    if not rows:
        out.print(f"No {unit} in this slice.", highlight=False)
    out.print(table)
    summary = f"n = {result['n']:,}"
    if name is not None:
        summary = f"{KPI_CATALOG[name].label}: {format_value(name, result['value'])}, {summary}"
    if result["total"] != result["n"]:
        summary += f"; {result['total']:,} match the search"
    if len(shown) < result["total"]:
        summary += f"; {len(shown):,} shown (--limit, --json or --csv for more)"
    out.print(summary, highlight=False)
