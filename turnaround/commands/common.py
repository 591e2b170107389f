"""What every command shares: its options, settings, output and the way it fails.

Exit codes: 0 success; 1 the work failed (nothing was loaded, or nothing could be read);
2 bad usage (an option or the config file). With ``--json`` a command prints one JSON object
on standard output even when it fails.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from data_contracts.settings import Config, ConfigError
from turnaround.logs import LEVELS, setup_logging


def choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An option's choices as Typer takes them, from a vocabulary declared once
    (data_contracts.options); a member is named as its value, ``-`` as ``_``."""
    return StrEnum(name, {value.replace("-", "_"): value for value in values})


# No markup: file names and messages carry brackets of their own ("notes[1].csv").
out = Console(width=None if sys.stdout.isatty() else 140, markup=False)
err = Console(stderr=True, soft_wrap=True)  # whole lines: log readers grep them

WarehouseOpt = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        help="SQLAlchemy URL of the warehouse (default: $TURNAROUND_WAREHOUSE, the config's "
        "warehouse.url, else duckdb:///turnaround.duckdb)",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Settings file (default: turnaround.toml in this folder, when present)",
        show_default=False,
        dir_okay=False,
    ),
]
LogLevel = Enum("LogLevel", {level: level for level in LEVELS}, type=str)
LogLevelOpt = Annotated[
    LogLevel,
    typer.Option("--log-level", case_sensitive=False, help="How much to log on standard error"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object")]


@dataclass
class Settings:
    config: Config
    as_json: bool
    warehouse_option: str | None

    @property
    def warehouse_url(self) -> str | None:
        """--warehouse, else $TURNAROUND_WAREHOUSE, else the config (resolve_url does the rest)."""
        from warehouse.engine import ENV_VAR

        return (
            self.warehouse_option or os.environ.get(ENV_VAR) or self.config.get("warehouse", "url")
        )

    def warehouse(self):
        """The warehouse to use; a URL that is not one is bad usage (exit 2)."""
        from warehouse.access import DEFAULT_READ_WAIT_SECONDS, Warehouse
        from warehouse.engine import WarehouseError

        wait = self.config.get("warehouse", "read_wait_seconds", DEFAULT_READ_WAIT_SECONDS)
        try:
            return Warehouse.at(self.warehouse_url, read_wait_seconds=wait, notice=notice)
        except WarehouseError as exc:
            fail(str(exc), 2, self.as_json)


def notice(message: str) -> None:
    """A wait the user should know about, on standard error."""
    logging.getLogger("turnaround").warning("%s…", message)


def settings(
    config: Path | None,
    log_level: LogLevel | str = "info",
    as_json: bool = False,
    warehouse: str | None = None,
) -> Settings:
    """Read the config and set up logging; exit 2 on a bad config or log level."""
    log_level = str(getattr(log_level, "value", log_level))
    if log_level.lower() not in LEVELS:
        fail(f"--log-level must be one of {', '.join(LEVELS)}, not {log_level!r}", 2, as_json)
    setup_logging(log_level)
    from metrics.settings import load_config  # the metrics are imported when a command runs

    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail(str(exc), 2, as_json)
    return Settings(loaded, as_json, warehouse)


def fail(message: str, code: int = 1, as_json: bool = False, **fields: Any) -> NoReturn:
    """Stop the command with ``code``: the message on standard error, and with ``--json`` one
    JSON object (status, message and any fields) on standard output."""
    if as_json:
        status = "error" if code == 2 else fields.pop("status", "failed")
        print(json.dumps({"status": status, "message": message, **fields}, default=str))
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    print(json.dumps(value, default=str))


def reader(settings: Settings):
    """The warehouse's read-only engine, its schema checked; exits 1 with a sentence when
    there is no warehouse, an older one, or one that stays busy."""
    import sqlalchemy as sa

    from warehouse.engine import WarehouseError, driver_reason
    from warehouse.schema import SchemaError, check_schema

    warehouse = settings.warehouse()
    try:
        engine = warehouse.reader()
        with engine.connect() as conn:
            check_schema(conn, warehouse.display)
    except (WarehouseError, SchemaError) as exc:
        fail(str(exc), 1, settings.as_json)
    except sa.exc.DBAPIError as exc:
        fail(f"cannot read {warehouse.display}: {driver_reason(exc)}", 1, settings.as_json)
    return warehouse, engine


def reading(settings: Settings, work):
    """Run ``work()`` against the warehouse, turning a busy or broken warehouse into exit 1."""
    import sqlalchemy as sa

    from warehouse.engine import WarehouseError, driver_reason

    try:
        return work()
    except WarehouseError as exc:
        fail(str(exc), 1, settings.as_json)
    except sa.exc.DBAPIError as exc:
        fail(f"cannot read the warehouse: {driver_reason(exc)}", 1, settings.as_json)


def metric_params(settings: Settings, **overrides: Any):
    """The metric parameters: the config's [metrics] and [schedule], then the command-line
    options that were given (``None`` means not given)."""
    from metrics.settings import metric_params as from_config

    try:
        return from_config(settings.config, **overrides)
    except ConfigError as exc:
        fail(str(exc), 2, settings.as_json)


def kpi_targets(settings: Settings) -> dict[str, float]:
    """Each KPI's target: the config's [metrics.targets], else the catalog's default."""
    from metrics.settings import kpi_targets as from_config

    return from_config(settings.config)
