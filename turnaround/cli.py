"""The ``turnaround`` command line: the contract scripts and schedulers rely on.

Exit codes: 0 success; 1 the work failed (nothing was loaded, or nothing could be read);
2 bad usage. Each command's module is in ``turnaround.commands``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from typing import Annotated

import typer

# typer carries its own click; its usage errors are not re-exported (typer is pinned).
from typer._click.exceptions import UsageError

from turnaround.commands import admin, calibrate, inspect, load, pull, read, serve, tickets

app = typer.Typer(
    help="Turnaround: service-recovery analytics for support tickets and NPS surveys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # help paragraphs reflow to the terminal's width
)


def _version(value: bool) -> None:
    if value:
        print(f"turnaround {version('turnaround')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    """Turnaround: service-recovery analytics for support tickets and NPS surveys."""


app.command()(serve.demo)
app.command()(serve.generate)
app.command()(load.load)
app.command()(inspect.inspect)
app.add_typer(pull.pull_app, name="pull")
app.command()(pull.refresh)
app.command()(read.metrics)
app.command()(tickets.tickets)
app.command()(read.cohorts)
app.command()(read.survival)
app.command()(read.recovery)
app.command()(read.runs)
app.command()(calibrate.calibrate)
app.command()(admin.migrate)
app.command()(admin.forget)
app.command()(serve.dashboard)


def main() -> None:
    """The console script: as ``app``, but a usage error under ``--json`` is one JSON object
    too (status ``error``), so a script always gets JSON to read."""
    try:
        code = app(standalone_mode=False)
    except UsageError as exc:
        if "--json" in sys.argv[1:]:
            print(json.dumps({"status": "error", "message": exc.format_message()}))
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
