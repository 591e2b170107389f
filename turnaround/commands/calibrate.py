"""``turnaround calibrate``: how often each verdict claims an effect that is not there.

Exit codes: 0 no verdict failed (every one passed, or some could not be judged: too few
worlds, or a check that could not be made; the output then says "not enough worlds to judge"
and the JSON has "passed": false); 1 a verdict failed (its false claims are too many, or its
intervals hold the truth too rarely); 2 bad usage or a bad config.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from turnaround.commands.common import (
    ConfigOpt,
    JsonOpt,
    LogLevel,
    LogLevelOpt,
    err,
    metric_params,
    out,
    print_json,
    settings,
)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _coverage(found: dict) -> str:
    if found["share"] is None:
        return "–"
    return f"{_percent(found['share'])} ({found['covered']}/{found['intervals']})"


def table(result: dict) -> Table:
    """The verdicts' calibration as a table (the same one docs/calibration.md shows)."""
    shown = Table(
        title=f"Calibration over {result['settings']['worlds']} worlds of "
        f"{result['settings']['customers']:,} customers (seed {result['settings']['seed']})"
    )
    for name in ("verdict", "worlds", "false claims", "rate (95% CI)", "p", "truth: none/effect"):
        shown.add_column(name, justify="left" if name == "verdict" else "right")
    for name in ("coverage: none", "coverage: effect", "result"):
        shown.add_column(name, justify="right")
    for row in rows(result):
        shown.add_row(*row)
    return shown


def rows(result: dict) -> list[list[str]]:
    """One row of text cells per verdict."""
    cells = []
    for verdict in result["verdicts"]:
        claims, truth = verdict["false_claims"], verdict["truth"]
        rate = claims["rate"]
        cells.append(
            [
                verdict["label"],
                str(verdict["worlds"]),
                f"{claims['claims']}/{claims['judged']}" if claims["judged"] else "–",
                "–"
                if rate is None
                else f"{_percent(rate)} ({_percent(claims['ci_low'])}–"
                f"{_percent(claims['ci_high'])})",
                _number(claims["p_value"]),
                f"{_number(truth['no_effect'])} / {_number(truth['effect'])}",
                _coverage(verdict["coverage"]["no_effect"]),
                _coverage(verdict["coverage"]["effect"]),
                verdict["status"].replace("_", " "),
            ]
        )
    return cells


def calibrate(
    worlds: Annotated[
        int,
        typer.Option(
            min=2,
            max=9999,
            help="Worlds to run: odd-numbered without a recovery effect, even-numbered with one",
        ),
    ] = 20,
    customers: Annotated[
        int, typer.Option(min=50, max=1_000_000, help="Customers in each world")
    ] = 2_000,
    seed: Annotated[
        int, typer.Option(min=0, help="Random seed: the same seed gives the same worlds")
    ] = 1,
    truth_customers: Annotated[
        int,
        typer.Option(
            min=1_000,
            max=2_000_000,
            help="Customers of the generator-only run each truth comes from",
        ),
    ] = 100_000,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Run generated worlds through the loader and the metrics and report, per verdict, how
    often it claims an effect where there is none and how often its interval holds the
    truth. Exit 1 when a verdict fails (docs/metrics.md, Calibration)."""
    from turnaround.calibrate import calibrate as run_calibration

    params = metric_params(settings(config, log_level, as_json))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("calibrating", total=worlds)

        def progress(done: int, total: int) -> None:
            shown = min(done + 1, total)
            bar.update(task, completed=done, description=f"world {shown}/{total}")

        result = run_calibration(worlds, customers, seed, truth_customers, progress, params)
    if as_json:
        print_json(result)
    else:
        out.print(table(result))
        for verdict in result["verdicts"]:
            if verdict["reason"]:
                out.print(f"{verdict['label']}: {verdict['reason']}.", highlight=False)
        if not result["passed"]:
            out.print(f"{result['message'][0].upper()}{result['message'][1:]}.", highlight=False)
    if result["status"] == "failed":
        raise typer.Exit(1)
