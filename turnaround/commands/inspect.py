"""``turnaround inspect FILE``: what Turnaround recognises in a file, before loading it."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from turnaround.commands.common import ConfigOpt, JsonOpt, fail, out, print_json, settings
from turnaround.commands.load import (
    DateOrderOpt,
    SourceTimezoneOpt,
    checked_timezone,
    source_default,
)


def inspect(
    path: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, show_default=False, help="An export file"),
    ],
    encoding: Annotated[
        str, typer.Option(help="Text encoding of the file, e.g. cp1252 for an Excel re-save")
    ] = "utf-8",
    source_timezone: SourceTimezoneOpt = None,
    date_order: DateOrderOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print what Turnaround recognises in a file: its format, rows, which columns map to
    which canonical column and which do not, how it writes dates, and a mapping file
    skeleton for `turnaround load FILE --mapping MAPPING.yaml`.

    Nothing is loaded. The file's first block is read as `turnaround load` with the same
    options and config would read it (its time zone and date order, [sources.NAME]). Exit 0
    when it can be loaded as it is, 1 when it cannot (the reason is printed), 2 for bad
    usage.
    """
    from etl.pipeline.frames import ReadContext
    from etl.pipeline.inspect import inspect_file
    from turnaround.config import source_settings

    run = settings(config, "warning", as_json)
    try:
        codecs.lookup(encoding)
    except LookupError:
        fail(f"--encoding {encoding!r} is not a text encoding Python knows", 2, as_json)
    ctx = ReadContext(
        "inspect",
        encoding,
        timezone=checked_timezone(source_timezone, as_json),
        date_order=date_order.value if date_order else None,
        sources=source_settings(run.config),
        default=source_default(run.config),
    )
    found = inspect_file(path, encoding, ctx)
    loadable = found.format is not None and found.problem is None
    if as_json:
        print_json({"loadable": loadable, **found.as_json()})
        raise typer.Exit(0 if loadable else 1)
    out.print(f"{path.name}: {found.description or 'no format Turnaround reads'}", highlight=False)
    if found.rows is not None:
        out.print(f"{found.rows:,} row(s)", highlight=False)
    if found.problem:
        out.print(f"Cannot be loaded as it is: {found.problem}", highlight=False)
    if found.columns:
        table = Table(title="Columns")
        for heading in ("column", "canonical column", "dates", "first value"):
            table.add_column(heading)
        for column in found.columns:
            table.add_row(
                column,
                found.mapped.get(column, "-"),
                found.dates.get(column, ""),
                found.samples.get(column, ""),
            )
        out.print(table)
    if found.skeleton:
        out.print(
            "A mapping file to start from (save it, check every line, then "
            f"`turnaround load {path.name} --mapping mapping.yaml`):",
            highlight=False,
        )
        out.print(found.skeleton, highlight=False, markup=False, end="")
    raise typer.Exit(0 if loadable else 1)
