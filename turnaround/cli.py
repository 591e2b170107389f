"""The ``turnaround`` command line: the contract scripts and schedulers rely on.

Exit codes: 0 success; 1 the work failed (nothing was loaded, or nothing could be read);
2 bad usage. Each command's module is in ``turnaround.commands``.
"""

from __future__ import annotations

import typer

from turnaround.commands import admin, load, read, serve

app = typer.Typer(
    help="Turnaround: service-recovery analytics for support tickets and NPS surveys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(serve.demo)
app.command()(serve.generate)
app.command()(load.load)
app.command()(read.metrics)
app.command()(read.runs)
app.command()(admin.migrate)
app.command()(admin.forget)
app.command()(serve.dashboard)
