"""``turnaround pull zendesk|delighted`` and ``turnaround refresh``: fetch what changed since
the last pull and load it; ``refresh`` is the one command a scheduler runs."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from data_contracts.times import utc_now
from turnaround.commands.common import (
    ConfigOpt,
    JsonOpt,
    LogLevel,
    LogLevelOpt,
    WarehouseOpt,
    fail,
    out,
    print_json,
    settings,
)
from turnaround.config import plausible_range
from turnaround.logs import is_terminal

log = logging.getLogger("turnaround.pull")

pull_app = typer.Typer(
    help="Fetch what changed since the last pull from an API, and load it in one run.",
    no_args_is_help=True,
)

SinceOpt = Annotated[
    str | None,
    typer.Option(
        help="On a first pull, fetch only what changed from this date (YYYY-MM-DD, UTC); "
        "later pulls continue where the last one stopped",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="The API's address instead of the vendor's (a proxy, or a test server)",
        show_default=False,
    ),
]


class PagesProgress:
    """Pages and records fetched, with records per second: a status line on a terminal, a
    log line per page elsewhere."""

    def __init__(self, enabled: bool):
        self.enabled, self.started, self.status = enabled, time.perf_counter(), None

    def __enter__(self) -> PagesProgress:
        if self.enabled:
            self.status = out.status("fetching...")
            self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.stop()

    def __call__(self, stream: str, pages: int, records: int) -> None:
        rate = records / max(time.perf_counter() - self.started, 1e-6)
        line = f"{stream}: page {pages:,}, {records:,} records, {rate:,.0f} records/s"
        if self.status is not None:
            self.status.update(line)
        else:
            log.info(line)


def _pull_settings(run, source: str, base_url: str | None):
    from etl.sources.pull.raw import DEFAULT_KEEP_DAYS
    from etl.sources.pull.run import DEFAULT_VARIABLES, PullSettings

    table = run.config.get("pull", source, {}) or {}
    variables = {
        role: table[f"{role}_env"] for role in DEFAULT_VARIABLES[source] if f"{role}_env" in table
    }
    return PullSettings(
        source,
        base_url=base_url or table.get("base_url"),
        variables=variables,
        folder=run.config.path_setting("pull", "folder"),
        keep_days=run.config.get("pull", "keep_days", DEFAULT_KEEP_DAYS),
        time_limit=run.config.get("pull", "time_limit_seconds", 900.0),
    )


def _since(value: str | None, as_json: bool) -> dt.datetime | None:
    if value is None:
        return None
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError:
        fail(f"--since must be a date such as 2024-01-31, not {value!r}", 2, as_json)
    if start > dt.datetime.now(dt.UTC):
        fail(f"--since {value} is in the future: nothing could be fetched", 2, as_json)
    return start


def _load_options(run):
    from etl.pipeline.load import DEFAULT_QUARANTINE_LIMIT, DEFAULT_WAIT_SECONDS, LoadOptions

    return LoadOptions(
        quarantine_limit=run.config.get("load", "quarantine_limit", DEFAULT_QUARANTINE_LIMIT),
        wait_seconds=run.config.get("load", "wait_seconds", DEFAULT_WAIT_SECONDS),
        secrets_file=run.config.path_setting("identity", "secrets_file"),
        **plausible_range(run.config),
    )


def _pull(source: str, since, base_url, warehouse, config, log_level, as_json) -> None:
    from etl.pipeline.frames import UnreadableFile
    from etl.pipeline.load import LoadError
    from etl.sources.pull.run import PullSetupError, pull
    from turnaround.commands.load import print_report

    run = settings(config, log_level, as_json, warehouse)
    start = _since(since, as_json)
    target = run.warehouse()
    try:
        with PagesProgress(is_terminal() and not as_json) as progress:
            report = pull(
                target, _pull_settings(run, source, base_url), _load_options(run), start, progress
            )
    except PullSetupError as exc:
        fail(str(exc), 2, as_json)
    except UnreadableFile as exc:  # a page the reader refused: nothing loaded, run recorded
        fail(f"pull {source} failed: {exc.path}: {exc.problem}\nNothing was loaded.", 1, as_json)
    except LoadError as exc:
        fields = exc.report.as_json() if exc.report else {}
        fields.pop("message", None)
        fields.pop("status", None)
        fail(f"pull {source} failed: {exc}\nNothing was loaded.", 1, as_json, **fields)
    if as_json:
        print_json(report.as_json())
    else:
        print_report(report)


def _pull_command(source: str, doc: str):
    """The ``turnaround pull SOURCE`` command: the same options for every source."""

    def command(
        since: SinceOpt = None,
        base_url: BaseUrlOpt = None,
        warehouse: WarehouseOpt = None,
        config: ConfigOpt = None,
        log_level: LogLevelOpt = LogLevel.info,
        as_json: JsonOpt = False,
    ) -> None:
        _pull(source, since, base_url, warehouse, config, log_level, as_json)

    command.__doc__ = doc
    pull_app.command(source)(command)
    return command


pull_zendesk = _pull_command(
    "zendesk",
    """Pull tickets (with their metrics), users, groups and satisfaction ratings from Zendesk.

    Credentials come from the environment only: ZENDESK_SUBDOMAIN, ZENDESK_EMAIL and
    ZENDESK_API_TOKEN (or the variables the config's [pull.zendesk] names). Each stream
    continues where the last pull stopped; the raw pages are kept for `turnaround load`.
    Exit 0 when it loaded, 1 when it failed (nothing loaded), 2 for bad usage.
    """,
)
pull_delighted = _pull_command(
    "delighted",
    """Pull survey responses updated since the last pull from Delighted.

    The API key comes from the environment only: DELIGHTED_API_KEY (or the variable the
    config's [pull.delighted] names). Exit 0 when it loaded, 1 when it failed, 2 for bad
    usage.
    """,
)


# The table whose latest event says how fresh each pulled source's data is (refresh's
# stale_after_hours); metrics.health declares which column of it that is.
PULLED_INTO = {"zendesk": "tickets", "delighted": "nps_responses"}


def refresh(
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
    as_json: JsonOpt = False,
) -> None:
    """Pull every source the config's [refresh] sources names, then load the [refresh]
    inbox folder: the one command for cron or a systemd timer.

    Each source is its own run (one failing leaves the others loaded). Exit 0 when all went
    well; 1 when any source failed or its newest data is older than [refresh]
    stale_after_hours (the rest still loaded; the message says which); 2 for a bad
    configuration.
    """
    from etl.pipeline.load import LoadError
    from etl.sources.pull.run import PullSetupError, api_setup, pull

    run = settings(config, log_level, as_json, warehouse)
    sources = run.config.get("refresh", "sources")
    inbox = run.config.path_setting("refresh", "inbox")
    if not sources and inbox is None:
        fail("nothing to refresh: name [refresh] sources (and an inbox) in the config", 2, as_json)
    target = run.warehouse()
    options = _load_options(run)
    for source in sources or []:  # every source set up before any work: a usage error is 2
        try:
            api_setup(_pull_settings(run, source, None))
        except PullSetupError as exc:
            fail(f"{source}: {exc}", 2, as_json)
    if inbox is not None and not inbox.is_dir():
        fail(f"[refresh] inbox {inbox} is not a folder (make it, or fix the path)", 2, as_json)
    results, problems = [], []
    for source in sources or []:
        try:
            report = pull(target, _pull_settings(run, source, None), options)
            results.append({"source": source, **_brief(report)})
            log.info("refresh %s: %s", source, report.status)
        except LoadError as exc:
            brief = _brief(exc.report) if exc.report else {"status": "failed"}
            results.append({"source": source, **brief, "message": str(exc)})
            problems.append(f"{source}: {exc}")
            log.error("refresh %s failed: %s", source, exc)
        except Exception as exc:  # any other failure of one source leaves the others to run
            message = f"{type(exc).__name__}: {exc}"
            results.append({"source": source, "status": "failed", "message": message})
            problems.append(f"{source}: {message}")
            log.error("refresh %s failed: %s", source, message)
    inbox_result = None
    if inbox is not None:
        inbox_result = _refresh_inbox(target, inbox, options, run, problems)
    stale = run.config.get("refresh", "stale_after_hours")
    if stale is not None:
        problems += _stale(target, sources or [], stale)
    status = "failed" if problems else "succeeded"
    if as_json:
        print_json(
            {"status": status, "sources": results, "inbox": inbox_result, "problems": problems}
        )
    else:
        for r in results:
            out.print(
                f"{r['source']}: {r['status']} {r.get('summary', '')}".rstrip(), highlight=False
            )
        for problem in problems:
            out.print(f"problem: {problem}", highlight=False)
    if problems:
        raise typer.Exit(1)


def _brief(report) -> dict:
    from etl.pipeline.load import summary

    return {
        "status": report.status,
        "batch_id": report.batch_id,
        "summary": summary(report),
        **{k: v for k, v in report.totals().items()},
        "message": report.message,
    }


def _refresh_inbox(target, inbox: Path, options, run, problems: list[str]):
    from etl.pipeline.inbox import DEFAULT_SETTLE_SECONDS, run_inbox

    settle = run.config.get("load", "settle_seconds", DEFAULT_SETTLE_SECONDS)
    try:
        result = run_inbox(target, inbox, options, settle, None)
    except Exception as exc:  # the inbox folder itself, or another load holding on
        problems.append(f"inbox {inbox}: {exc}")
        return None
    if result.failed:
        problems.append(f"inbox {inbox}: a file failed (see its .reason file in failed/)")
    return result.as_json()


def _stale(target, sources: list[str], hours: float) -> list[str]:
    """Sources whose newest row in the warehouse is older than ``hours``."""
    from metrics.health import freshness
    from warehouse.access import WarehouseError

    found = []
    now = utc_now()
    try:
        engine = target.reader()
    except WarehouseError:  # nothing was ever loaded
        return [f"{source}: no data loaded yet" for source in sources]
    latest = {(row["table"], row["source"]): row["latest_event"] for row in freshness(engine)}
    for source in sources:
        newest = latest.get((PULLED_INTO[source], source))
        if newest is None or now - newest > dt.timedelta(hours=hours):
            when = "never" if newest is None else f"last at {newest:%Y-%m-%d %H:%M} UTC"
            found.append(f"{source}: its newest data is older than {hours:g} h ({when})")
    return found
