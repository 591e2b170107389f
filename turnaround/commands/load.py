"""``turnaround load``: export files (or an inbox folder) into the warehouse."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from data_contracts.options import DATE_ORDERS
from etl.echo import one_line
from turnaround.commands.common import (
    ConfigOpt,
    JsonOpt,
    LogLevel,
    LogLevelOpt,
    WarehouseOpt,
    choices,
    fail,
    out,
    print_json,
    settings,
)
from turnaround.config import plausible_range, source_settings
from turnaround.logs import LoadProgress, is_terminal

DateOrder = choices("DateOrder", DATE_ORDERS)


SourceTimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--source-timezone",
        help="Time zone of timestamps an export writes without a UTC offset (Freshdesk, "
        "Zendesk Explore), such as Europe/Berlin (default: the config's [sources.NAME] "
        "timezone, else load.source_timezone; without one such a file is refused)",
        show_default=False,
    ),
]
DateOrderOpt = Annotated[
    DateOrder | None,
    typer.Option(
        "--date-order",
        help="How to read dates such as 01/02/2025 in a file that does not show it (no "
        "day above 12): day-first or month-first (default: the config's, else refused)",
        show_default=False,
    ),
]


def checked_timezone(source_timezone: str | None, as_json: bool) -> str | None:
    """``--source-timezone`` as given; exit 2 when it is no time zone."""
    if source_timezone is not None:
        from data_contracts.settings import check_timezone

        if (wanted := check_timezone(source_timezone)) is not None:
            fail(f"--source-timezone {source_timezone!r} is not {wanted}", 2, as_json)
    return source_timezone


def checked_source(spec: str, as_json: bool) -> None:
    """``--from-warehouse`` as given; exit 2, having opened nothing, when it is neither a
    folder of dumps nor a database Turnaround reads synced tables from."""
    from etl.pipeline.synced_load import check_source
    from etl.sources.zendesk.synced import SyncedSourceError

    try:
        check_source(spec)
    except SyncedSourceError as exc:
        fail(str(exc), 2, as_json)


def source_default(config):
    """The config's [load] time zone and date order: for a source without its own."""
    from etl.pipeline.frames import SourceSettings

    return SourceSettings(
        timezone=config.get("load", "source_timezone"),
        date_order=config.get("load", "date_order"),
    )


def load(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            exists=True, show_default=False, help="Export files, or folders of them, in one run"
        ),
    ] = None,
    inbox: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            exists=True,
            help="Load every file that has arrived in this folder, one run each, and move it "
            "to processed/ or failed/ (for a scheduler)",
        ),
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for another load to finish before giving up, and at most "
            "for any lock the load takes (default: the config's load.wait_seconds, else 300)",
            show_default=False,
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of the files, e.g. cp1252 for an export Excel re-saved "
            "(default: utf-8)",
            show_default=False,
        ),
    ] = None,
    quarantine_limit: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=1,
            help="Refuse a file whole when more than this share of its rows fail their checks "
            "(default: the config's load.quarantine_limit, else 0.10)",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Read files even when the same content was loaded before")
    ] = False,
    source_timezone: SourceTimezoneOpt = None,
    date_order: DateOrderOpt = None,
    # Its example URL is in the command's text above the options: the options' help column
    # of an 80-column terminal would cut it to "postgresql+psycopg:…".
    from_warehouse: Annotated[
        str | None,
        typer.Option(
            "--from-warehouse",
            help="Load the Zendesk tables Fivetran (or Airbyte) synced into this database "
            "(a PostgreSQL or DuckDB URL, as above), or from a folder of CSV dumps of them; a "
            "later run reads only what was synced since",
            show_default=False,
        ),
    ] = None,
    schema: Annotated[
        str, typer.Option(help="The schema of the synced Zendesk tables (--from-warehouse)")
    ] = "zendesk",
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            exists=True,
            dir_okay=False,
            help="A mapping file (YAML) naming which of the files' columns hold which "
            "canonical column; every file is read with it (`turnaround inspect FILE` prints a "
            "skeleton)",
            show_default=False,
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
    as_json: JsonOpt = False,
) -> None:
    """Load export files into the warehouse in one all-or-nothing run.

    Files already loaded (same content) are skipped. A file with more bad rows than the
    quarantine limit is refused whole. Exit 0 when everything loaded (or was loaded before),
    1 when anything failed or another load kept the warehouse longer than --wait, 2 for bad
    usage.

    --from-warehouse takes a URL such as postgresql+psycopg://reader@dwh/analytics or
    duckdb:///fivetran.duckdb.
    """
    from etl.pipeline.load import DEFAULT_QUARANTINE_LIMIT, DEFAULT_WAIT_SECONDS, LoadOptions

    run = settings(config, log_level, as_json, warehouse)
    if sum(map(bool, (paths, inbox, from_warehouse))) != 1:
        fail(
            "give export files (PATH...), --inbox DIR or --from-warehouse SOURCE: one of them",
            2,
            as_json,
        )
    encoding = encoding or run.config.get("load", "encoding", "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        fail(f"--encoding {encoding!r} is not a text encoding Python knows", 2, as_json)
    checked_timezone(source_timezone, as_json)
    if from_warehouse:
        checked_source(from_warehouse, as_json)
    order = date_order.value if date_order else None
    mapping_format = None
    if mapping is not None:
        from etl.sources.mapping_file import MappingError, load_mapping

        try:
            mapping_format = load_mapping(mapping)
        except MappingError as exc:
            fail(str(exc), 2, as_json)
    options = LoadOptions(
        quarantine_limit=_first(
            quarantine_limit, run.config.get("load", "quarantine_limit"), DEFAULT_QUARANTINE_LIMIT
        ),
        wait_seconds=_first(wait, run.config.get("load", "wait_seconds"), DEFAULT_WAIT_SECONDS),
        encoding=encoding,
        force=force,
        secrets_file=run.config.path_setting("identity", "secrets_file"),
        command="turnaround load --inbox" if inbox else "turnaround load",
        source_timezone=source_timezone,
        date_order=order,
        sources=source_settings(run.config),
        source_default=source_default(run.config),
        mapping_format=mapping_format,
        **plausible_range(run.config),
    )
    target = run.warehouse()
    if inbox:
        _load_inbox(target, inbox, options, run)
    elif from_warehouse:
        _load_files(target, None, options, as_json, synced=(from_warehouse, schema))
    else:
        _load_files(target, paths, options, as_json)


def _first(*values):
    return next(v for v in values if v is not None)


def _load_files(target, paths, options, as_json: bool, synced=None) -> None:
    from etl.pipeline.frames import UnreadableFile
    from etl.pipeline.load import LoadError, load_paths

    try:
        with LoadProgress(is_terminal() and not as_json) as progress:
            if synced is not None:
                from etl.pipeline.synced_load import load_synced

                report = load_synced(target, *synced, options, progress=progress)
            else:
                report = load_paths(target, paths, options, progress=progress)
    except (LoadError, UnreadableFile) as exc:
        report = getattr(exc, "report", None)
        _refused(exc, report, as_json)
    except Exception as exc:  # a warehouse or disk failure: the transaction rolled back
        _refused(exc, None, as_json, prefix="load failed: ", message=_failure(exc, target))
    if as_json:
        print_json(report.as_json())
        return
    print_report(report)


def _refused(exc, report, as_json: bool, prefix: str = "", message: str | None = None) -> None:
    fields = report.as_json() if report is not None else {}
    message = fields.pop("message", None) or message or str(exc)
    status = fields.pop("status", "failed")
    fail(f"{prefix}{message}\nNothing was loaded.", 1, as_json, status=status, **fields)


def _failure(exc: Exception, target) -> str:
    """An unexpected failure in one line: the driver's words, or the file the OS refused."""
    import sqlalchemy as sa

    from warehouse.engine import driver_reason

    if isinstance(exc, sa.exc.DBAPIError):
        return f"cannot use the warehouse {target.display}: {driver_reason(exc)}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def print_report(report) -> None:
    from etl.pipeline.load import summary
    from warehouse.schema import COUNT_COLUMNS

    if report.stats:
        table = Table(title=f"Run {report.batch_id}")
        table.add_column("file")
        table.add_column("table")
        for column in COUNT_COLUMNS:
            table.add_column(column.removeprefix("rows_"), justify="right")
        for s in report.stats.values():
            table.add_row(
                Path(s.source_file).name,
                s.target_table,
                *[f"{getattr(s, c):,}" for c in COUNT_COLUMNS],
            )
        out.print(table)
    for skipped in report.skipped_files:
        out.print(
            one_line(
                f"{Path(skipped['file']).name}: already loaded in run {skipped['loaded_in']}; "
                "skipped (--force reads it again)"
            ),
            highlight=False,
        )
    failing = [c for c in report.checks if not c.success]
    for check in failing:
        out.print(
            one_line(
                f"{Path(check.source_file).name} {check.target_table}: {check.failing_count:,} "
                f"row(s) failed {check.check_name}, e.g. {check.example_reason}"
            ),
            highlight=False,
        )
    for note in report.notes:
        out.print(note, highlight=False)
    if report.status == "skipped" and report.message and not report.skipped_files:
        out.print(report.message, highlight=False)
    seconds = (report.ended_at - report.started_at).total_seconds()
    out.print(f"Run {report.status} in {seconds:.1f} s: {summary(report)}.", highlight=False)


def _outcome_line(outcome) -> str:
    """``nps.csv: succeeded (1,204 read, ...) -> processed/nps.csv``, one line per entry."""
    from etl.pipeline.load import summary

    report = outcome.report
    if report.status == "succeeded":
        detail = summary(report)
    elif report.status == "skipped":
        runs = sorted({s["loaded_in"] for s in report.skipped_files})
        detail = f"already loaded in run {', '.join(runs)}"
    else:  # the first line: the reason file beside the entry has the rest
        detail = (report.message or "").splitlines()[0] if report.message else ""
    moved = Path(outcome.moved_to) if outcome.moved_to else None
    where = f"{moved.parent.name}/{moved.name}" if moved else "left in the inbox for the next run"
    return one_line(f"{outcome.entry}: {report.status} ({detail}) -> {where}")


def _load_inbox(target, inbox: Path, options, run) -> None:
    from etl.pipeline.inbox import DEFAULT_SETTLE_SECONDS, run_inbox
    from etl.pipeline.load import LoadError

    settle = run.config.get("load", "settle_seconds", DEFAULT_SETTLE_SECONDS)
    try:
        with LoadProgress(is_terminal() and not run.as_json) as progress:
            result = run_inbox(target, inbox, options, settle, progress)
    except LoadError as exc:  # refused: another load holds the warehouse
        fields = exc.report.as_json() if exc.report else {}
        fields.pop("message", None)
        fail(str(exc), 1, run.as_json, inbox=str(inbox), **fields)
    except Exception as exc:  # the inbox folder itself (permissions, a full disk)
        fail(f"inbox run failed: {type(exc).__name__}: {exc}", 1, run.as_json, inbox=str(inbox))
    if run.as_json:
        print_json(result.as_json())
    else:
        for outcome in result.outcomes:
            out.print(_outcome_line(outcome), highlight=False)
        for waiting in result.waiting:
            out.print(one_line(f"{waiting['entry']}: waits ({waiting['why']})"), highlight=False)
        if not result.outcomes and not result.waiting:
            out.print(f"Nothing has arrived in {inbox}.", highlight=False)
    if result.failed:
        raise typer.Exit(1)
