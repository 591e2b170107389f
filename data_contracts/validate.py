"""Validate canonical rows against their contract.

Two passes over the same declaration (``data_contracts.rules``):
- ``validate`` judges every row of a frame in polars: the rows that pass, one Rejected per
  row that fails any check (with every failed check in words), one CheckResult per check.
  The loader runs it batch by batch; it does not import great-expectations.
  ``validate_times`` judges the event times of a table without a contract the same way.
- ``validate_staged`` runs the great-expectations suite over rows already staged in a DuckDB
  database, through GX's SQL datasource, for the run's report: one result per check, sized
  for a report (counts and a few examples), never one entry per row.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from dataclasses import dataclass, field

import duckdb
import polars as pl
from duckdb_engine import ConnectionWrapper
from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy.dialects import registry

from data_contracts.contract import CONTRACTS, Column
from data_contracts.plausible import TimeRange
from data_contracts.rejected import Rejected
from data_contracts.rules import RowCheck, plausible_check, row_checks

__all__ = ["CheckResult", "ValidationResult", "validate", "validate_staged", "validate_times"]

ROW_ID = "row_number"


@dataclass(frozen=True)
class CheckResult:
    name: str  # e.g. "status_in_set"
    column: str
    success: bool
    unexpected_count: int
    description: str = ""  # the check in words, e.g. "status is one of new, open, ..."
    example: str | None = None  # the reason the first failing row got, e.g. "status: 'x' is ..."


@dataclass
class ValidationResult:
    valid: pl.DataFrame  # rows that pass every check, same columns as the input
    rejected: list[Rejected] = field(default_factory=list)  # one per failing row
    checks: list[CheckResult] = field(default_factory=list)  # one per check

    @property
    def success(self) -> bool:
        return all(c.success for c in self.checks)


def validate(
    table: str, frame: pl.DataFrame, plausible: TimeRange | None = None
) -> ValidationResult:
    """Check ``frame`` (canonical columns of ``table`` typed as its schema, plus
    ``row_number``) against the checks generated from ``table``'s contract, its event times
    against ``plausible`` when given."""
    contract = CONTRACTS[table]
    missing = [c for c in [*contract.column_names, ROW_ID] if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} frame lacks columns: {', '.join(missing)}")
    return _judged(table, frame, row_checks(table, plausible))


def validate_times(table: str, frame: pl.DataFrame, plausible: TimeRange) -> ValidationResult:
    """Check every timestamp column of ``frame`` (with ``row_number``) against
    ``plausible``: for the rows of a table without a contract (ticket metrics, ratings)."""
    times = [name for name, kind in frame.schema.items() if isinstance(kind, pl.Datetime)]
    return _judged(
        table, frame, tuple(plausible_check(Column(name, "timestamp"), plausible) for name in times)
    )


def _judged(
    table: str, frame: pl.DataFrame, table_checks: tuple[RowCheck, ...]
) -> ValidationResult:
    """The rows of ``frame`` that pass every one of ``table_checks``, and the rest rejected."""
    flags = frame.select(
        [c.fails.fill_null(False).alias(f"_fails_{i}") for i, c in enumerate(table_checks)]
    )
    flagged = pl.concat([frame, flags], how="horizontal")
    names = flags.columns
    is_bad = pl.any_horizontal(names) if names else pl.lit(False)
    bad = flagged.filter(is_bad)
    failing = bad.select(pl.col(names).sum()).row(0) if names else ()
    return ValidationResult(
        valid=flagged.filter(~is_bad).drop(names) if names else frame,
        rejected=_rejected(table, bad, table_checks, names),
        checks=[
            CheckResult(
                c.name,
                c.column,
                success=count == 0,
                unexpected_count=count,
                description=c.description,
                example=_example(bad, c, flag) if count else None,
            )
            for c, flag, count in zip(table_checks, names, failing, strict=True)
        ],
    )


def _example(bad: pl.DataFrame, check: RowCheck, flag: str) -> str | None:
    """The reason the first row failing ``check`` was given."""
    first = bad.filter(pl.col(flag)).head(1)
    return first.select(pl.coalesce(check.reason, pl.lit(check.name))).item()


def _rejected(
    table: str, bad: pl.DataFrame, table_checks: tuple[RowCheck, ...], flags: list[str]
) -> list[Rejected]:
    """One Rejected per failing row: the canonical row as JSON, and every failed check in
    words, in check order."""
    if bad.height == 0:
        return []
    reason = pl.concat_str(
        [
            # A reason that cannot be worded (null) still names the check.
            pl.when(pl.col(flag)).then(pl.coalesce(c.reason, pl.lit(c.name)))
            for c, flag in zip(table_checks, flags, strict=True)
        ],
        separator="; ",
        ignore_nulls=True,
    )
    customer = pl.col("customer_id") if "customer_id" in bad.columns else pl.lit(None, pl.String)
    rows = bad.select(
        ROW_ID,
        pl.struct(pl.exclude(ROW_ID, *flags)).struct.json_encode().alias("raw"),
        reason.alias("reason"),
        customer.alias("customer_id"),
    )
    return [Rejected(table, *values) for values in rows.iter_rows()]


# --- great-expectations over staged rows ----------------------------------------------------


class ReadOnlyDuckDB(DuckDBDialect):
    """DuckDB for GX's SQL datasource, which only reads, over a connection the caller holds.

    GX fetches a query's rows after its connection went back to the pool, and the pool's
    rollback makes DuckDB drop the pending result (GX then fails with an IndexError).
    Statements here run in DuckDB's autocommit mode, so there is nothing to begin, commit or
    roll back. Each connection is a cursor of the caller's (the URL names it in ``_LENT``),
    so closing the caller's connection closes every one GX opened.
    """

    def connect(self, *cargs, **cparams):
        token = cparams.get("database", cargs[0] if cargs else "")
        return ConnectionWrapper(_LENT[token].cursor())

    def do_begin(self, dbapi_connection) -> None:
        pass

    def do_commit(self, dbapi_connection) -> None:
        pass

    def do_rollback(self, dbapi_connection) -> None:
        pass


registry.register("duckdb.turnaround_readonly", __name__, "ReadOnlyDuckDB")
_LENT: dict[str, duckdb.DuckDBPyConnection] = {}
_lock = threading.Lock()  # GX contexts are not documented as thread-safe
_SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": 3}


def validate_staged(
    connection: duckdb.DuckDBPyConnection,
    batches: dict[str, tuple[str, str]],
    plausible: TimeRange | None = None,
) -> dict[str, list[CheckResult]]:
    """Run each contract's GX suite (with the range checks of ``plausible``, when given)
    over staged rows in the DuckDB database ``connection`` is open on (GX reads through
    cursors of it, closed with it).

    ``batches`` maps a name to (canonical table, SQL query selecting its staged rows).
    Returns, per name, one CheckResult per check in contract order.
    """
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from data_contracts.expectations import expectation, gx  # GX loads only here

    results: dict[str, list[CheckResult]] = {}
    token = f"lent-{uuid.uuid4().hex}"
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _LENT[token] = connection
        try:
            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
            source = context.data_sources.add_sql(
                "staged",
                connection_string=f"duckdb+turnaround_readonly:///{token}",
                create_temp_table=False,
            )
            for index, (name, (table, query)) in enumerate(batches.items()):
                table_checks = row_checks(table, plausible)
                asset = source.add_query_asset(f"batch_{index}", query=query)
                suite = context.suites.add(
                    gx.ExpectationSuite(
                        name=f"{table}_contract_{index}",
                        expectations=[expectation(c) for c in table_checks],
                    )
                )
                definition = gx.ValidationDefinition(
                    name=f"batch_{index}",
                    data=asset.add_batch_definition_whole_table("all"),
                    suite=suite,
                )
                run = context.validation_definitions.add(definition)
                outcome = run.run(result_format=_SUMMARY)
                by_check = {r.expectation_config.meta["check"]: r for r in outcome.results}
                results[name] = [_check_result(c, by_check[c.name]) for c in table_checks]
            source.get_engine().dispose()
        finally:
            del _LENT[token]
    return results


def _check_result(check: RowCheck, result) -> CheckResult:
    if result.exception_info.get("raised_exception"):
        message = result.exception_info.get("exception_message")
        raise RuntimeError(f"check {check.name} could not run: {message}")
    count = int(result.result.get("unexpected_count") or 0)
    return CheckResult(check.name, check.column, count == 0, count, check.description)
