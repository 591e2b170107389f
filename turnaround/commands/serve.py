"""Commands for a person trying Turnaround: ``generate``, ``dashboard`` and ``demo``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from turnaround.commands.common import (
    ConfigOpt,
    LogLevel,
    LogLevelOpt,
    WarehouseOpt,
    err,
    fail,
    out,
    settings,
)

DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8501
PortOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help=f"Port to serve on (default: the config's dashboard.port, else {DEFAULT_PORT})",
        show_default=False,
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        help=f"Address to listen on (default: {DEFAULT_ADDRESS}, this machine only); "
        "0.0.0.0 serves every interface (see the README on serving a team)",
        show_default=False,
    ),
]


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
        float,
        typer.Option(
            help="Scale of recovery's lift on NPS (0 = none, the default; 1 = +0.6 points)"
        ),
    ] = 0.0,
    retention_effect: Annotated[
        float,
        typer.Option(
            help="Scale of recovery's effect on churn (0 = none, the default; 10 = 40% less churn)"
        ),
    ] = 0.0,
    csat_effect: Annotated[
        float,
        typer.Option(
            help="Scale of recovery's lift on the recovered ticket's CSAT (1 = default, 0 = none)"
        ),
    ] = 1.0,
    snapshots: Annotated[
        bool,
        typer.Option(
            help="Tickets as monthly snapshots with their earlier versions (tickets_YYYY-MM.csv, "
            "zendesk_tickets_YYYY-MM.jsonl), to load in order or all at once"
        ),
    ] = False,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
) -> None:
    """Write realistic, seeded demo exports (two years of tickets, surveys, customers)."""
    from turnaround.generate import generate as run_generate

    settings(config, log_level)
    if fmt not in ("zendesk", "canonical"):
        fail(f"--format must be zendesk or canonical, not {fmt!r}", 2)
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out_dir} is a file; give a folder to write the exports into", 2)
    try:
        with err.status(f"Generating {customers:,} customers…"):
            files = run_generate(
                out_dir,
                customers=customers,
                seed=seed,
                fmt=fmt,
                nps_effect=nps_effect,
                retention_effect=retention_effect,
                csat_effect=csat_effect,
                snapshots=snapshots,
            )
    except OSError as exc:
        fail(f"cannot write the exports into {out_dir}: {exc.strerror or exc}", 1)
    for path in files:
        out.print(
            f"wrote {path} ({path.stat().st_size / 1e6:,.1f} MB)", highlight=False, markup=False
        )


# How the dashboard is served, beside the address and port (Streamlit's config options).
STREAMLIT_OPTIONS = {
    "server.headless": "true",
    "browser.gatherUsageStats": "false",
    # A click while the page is still computing waits for that run to end instead of
    # starting a second script run beside it (Streamlit's fast reruns let the two race
    # over the session's widget state).
    "runner.fastReruns": "false",
    # Viewers get no developer menu or Deploy button.
    "client.toolbarMode": "viewer",
    # An unexpected error shows viewers Streamlit's generic sentence, never its type,
    # message or traceback (a message may quote a warehouse URL or a row); the server's
    # log keeps the details.
    "client.showErrorDetails": "none",
    # A table's own CSV download writes a cell such as =cmd|' /C calc'!A0 as it is; the CSV
    # button under each table writes it safe for a spreadsheet (dashboard/ui.py).
    "client.disableDataExport": "true",
}


def streamlit_command(app_file: Path, address: str, port: int) -> list[str]:
    """The command that serves ``app_file`` as the dashboard is served."""
    options = {"server.address": address, "server.port": str(port), **STREAMLIT_OPTIONS}
    flags = [part for key, value in options.items() for part in (f"--{key}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(app_file), *flags]


def dashboard(
    warehouse: WarehouseOpt = None,
    port: PortOpt = None,
    address: AddressOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Serve the Streamlit dashboard (read-only: it never writes the warehouse)."""
    import dashboard as dashboard_pkg
    from data_contracts.serving import reachable_from_elsewhere, secrets_have_sign_in
    from warehouse.engine import resolve_url

    run = settings(config, log_level, False, warehouse)
    address = address or run.config.get("dashboard", "address", DEFAULT_ADDRESS)
    port = port or run.config.get("dashboard", "port", DEFAULT_PORT)
    app_file = Path(dashboard_pkg.__file__).parent / "app.py"
    env = {**os.environ, "TURNAROUND_WAREHOUSE": resolve_url(run.warehouse_url)}
    if run.config.path is not None:  # the dashboard reads the same settings (its targets...)
        env["TURNAROUND_CONFIG"] = str(run.config.path.resolve())
    shown = "localhost" if address in ("127.0.0.1", "localhost") else address
    out.print(f"Turnaround dashboard on http://{shown}:{port} (Ctrl+C to stop)", highlight=False)
    if reachable_from_elsewhere(address) and not secrets_have_sign_in(Path.cwd()):
        err.print(
            f"warning: {address} is reachable from other machines and no sign-in is configured "
            "(.streamlit/secrets.toml [auth]): anyone who reaches the dashboard can read your "
            'customers\' tickets (README, "Sign-in")',
            highlight=False,
        )
    command = streamlit_command(app_file, address, port)
    sys.stdout.flush()
    # Become the server (no child left behind): a scheduler's or a shell's signal reaches it.
    os.execve(sys.executable, command, env)


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo exports")] = Path(
        "demo_data"
    ),
    customers: Annotated[int, typer.Option(min=1, help="Number of customers")] = 20_000,
    warehouse: WarehouseOpt = None,
    serve: Annotated[bool, typer.Option(help="Serve the dashboard after loading")] = True,
    port: PortOpt = None,
    address: AddressOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
) -> None:
    """Generate demo exports, load them, and open the dashboard."""
    from turnaround.commands.load import load

    if not any(out_dir.glob("*")):
        generate(out_dir, customers=customers, config=config, log_level=log_level)
    try:
        load([out_dir], warehouse=warehouse, config=config, log_level=log_level)
    except typer.Exit as exc:
        if exc.exit_code:
            raise
    if serve:
        dashboard(
            warehouse=warehouse, port=port, address=address, config=config, log_level=log_level
        )
