"""Commands that change the warehouse itself: ``migrate`` and ``forget``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated

import typer

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


@contextmanager
def _failing_as_one_line(as_json: bool) -> Iterator[None]:
    """What can go wrong with the warehouse or the key, as one line and exit 1."""
    import sqlalchemy as sa

    from etl.identity import HashKeyError
    from etl.pipeline.load import LoadError, LoadRefused
    from warehouse.engine import WarehouseError, driver_reason
    from warehouse.schema import SchemaError

    try:
        yield
    except LoadRefused as exc:
        fail(str(exc), 1, as_json, status="refused")
    except (WarehouseError, SchemaError, HashKeyError, LoadError, OSError) as exc:
        fail(str(exc), 1, as_json)
    except sa.exc.DBAPIError as exc:
        fail(f"cannot use the warehouse: {driver_reason(exc)}", 1, as_json)


# As a load waits (etl.pipeline.load_options), without importing the loader.
DEFAULT_WAIT_SECONDS = 300.0
WaitOpt = Annotated[
    float,
    typer.Option("--wait", min=0, help="Seconds to wait for a running load to finish"),
]


def migrate(
    warehouse: WarehouseOpt = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
    as_json: JsonOpt = False,
) -> None:
    """Upgrade an existing warehouse to this Turnaround's schema, in place.

    A version-1 warehouse kept its email hash key inside; migrate moves the key to the
    secrets file (or checks it against $TURNAROUND_HASH_KEY) and keeps only its fingerprint.
    Then it reports stored event times outside the plausible range (the config's
    load.plausible_*, as a load now would judge them), and deletes nothing.
    """
    from data_contracts.times import utc_now
    from etl.admin.migrate import migrate_warehouse, stored_out_of_range
    from etl.pipeline.load import LoadOptions

    run = settings(config, log_level, as_json, warehouse)
    target = run.warehouse()
    plausible = LoadOptions(**plausible_range(run.config)).plausible(utc_now())
    with _failing_as_one_line(as_json):
        found, version, done = migrate_warehouse(
            target, wait, run.config.path_setting("identity", "secrets_file")
        )
        with target.reader().connect() as conn:
            outside = stored_out_of_range(conn, plausible)
    if as_json:
        print_json(
            {
                "status": "succeeded",
                "from_version": found,
                "to_version": version,
                "done": done,
                "plausible_range": {
                    "from": plausible.earliest.isoformat(),
                    "to": plausible.latest.isoformat(timespec="seconds"),
                },
                "out_of_range": [asdict(o) for o in outside],
            }
        )
        return
    if found == version:
        out.print(f"{target.display} is already at schema version {version}.", highlight=False)
    else:
        out.print(
            f"Upgraded {target.display} from schema version {found} to {version}:",
            highlight=False,
        )
        for step in done:
            out.print(f"  - {step}", highlight=False)
    if outside:
        out.print(
            f"Stored rows with event times outside the plausible range {plausible.text()} "
            "(kept; a load now quarantines such rows, and they never set the metrics' as-of):",
            highlight=False,
        )
        for o in outside:
            out.print(
                f"  - {o.table}.{o.column}: {o.rows:,} row{'' if o.rows == 1 else 's'} "
                f"(e.g. {o.example_id})",
                highlight=False,
                markup=False,
            )


def forget(
    who: Annotated[str, typer.Argument(help="The customer id, agent id or email address to erase")],
    warehouse: WarehouseOpt = None,
    wait: WaitOpt = DEFAULT_WAIT_SECONDS,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.info,
    as_json: JsonOpt = False,
    compact: Annotated[
        bool,
        typer.Option(
            help="Rewrite a DuckDB file afterwards so the erased rows' bytes leave it (it "
            "needs as much free disk as the file); --no-compact for a batch, all but the last"
        ),
    ] = True,
) -> None:
    """Erase one person everywhere in the warehouse, for a data-protection request.

    Tickets, NPS responses, the customer row, source identities, and quarantined rows that
    name them; an agent's name (by their id); then their records in the raw pages pulls keep
    for replay ([pull] folder). An email is matched through its keyed hash (raw emails are
    never stored). A DuckDB file is then compacted: a deleted row's bytes would otherwise
    stay in its free pages.
    """
    from etl.admin.forget import forget as erase
    from etl.pipeline.load import LoadOptions
    from etl.sources.pull.raw import default_root

    run = settings(config, log_level, as_json, warehouse)
    if not who.strip():
        fail("give the customer id or the email of the person to erase", 2, as_json)
    options = LoadOptions(
        wait_seconds=wait,
        secrets_file=run.config.path_setting("identity", "secrets_file"),
        command="turnaround forget",
    )
    target = run.warehouse()
    pages = run.config.path_setting("pull", "folder") or default_root()
    with _failing_as_one_line(as_json):
        erased = erase(target, who, options, pages, compact)
    kept, compacted = erased.pages, erased.compaction
    problem = compacted.problem if compacted else None
    if as_json:
        print_json(
            {
                "status": "erased" if erased.found else "not_found",
                "erased": erased.counts,
                "pages": {
                    "rewritten": len(kept.rewritten),
                    "records": kept.records,
                    "unreadable": [str(p) for p in kept.unreadable],
                },
                "compacted": None
                if compacted is None or problem
                else {"bytes_before": compacted.bytes_before, "bytes_after": compacted.bytes_after},
                **(
                    {"message": f"the warehouse file was not compacted: {problem}"}
                    if problem
                    else {}
                ),
                **({"not_compacted": erased.not_compacted} if erased.not_compacted else {}),
            }
        )
        if problem:
            raise typer.Exit(1)
        return
    if not erased.found:
        out.print(
            "Nobody with that id or email is in the warehouse or the kept pull pages; "
            "nothing was erased."
        )
    listed = ", ".join(
        f"{n:,} {table.replace('_', ' ')}" for table, n in erased.counts.items() if n
    )
    if listed:
        out.print(f"Erased: {listed}.", highlight=False)
    if kept.records:
        out.print(
            f"Kept pull pages: {len(kept.rewritten):,} rewritten without the person's "
            f"{kept.records:,} records (in {pages}).",
            highlight=False,
        )
    if kept.unreadable:
        out.print(
            f"{len(kept.unreadable):,} kept page(s) are not JSON and were left as they were: "
            + ", ".join(str(p) for p in kept.unreadable),
            highlight=False,
        )
    if erased.not_compacted:
        out.print(f"The warehouse file was not compacted: {erased.not_compacted}.")
    if compacted is not None and not problem:
        out.print(
            f"Compacted the warehouse file: {compacted.bytes_before:,} bytes before, "
            f"{compacted.bytes_after:,} after.",
            highlight=False,
        )
    if problem:
        fail(
            f"the warehouse file was not compacted ({problem}); the erasure stands, and its "
            "deleted rows' bytes may stay in the file until a later forget compacts it",
            1,
            False,
        )
