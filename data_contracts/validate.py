"""Validate a canonical frame against its contract with great-expectations.

Grain: one CheckResult per generated check, one Rejected per row that fails any check. The
GX context, suite and validation definition of each table are built once per process and
reused, since the loader validates many frames.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from functools import cache

import polars as pl

from data_contracts.contract import CONTRACTS
from data_contracts.expectations import Check, checks, expectation_suite, gx
from data_contracts.rejected import Rejected

__all__ = ["CheckResult", "ValidationResult", "expectation_suite", "validate"]

ROW_ID = "row_number"
# Rows are matched back to GX's findings by position, so a frame whose row numbers repeat
# (several files, say) is still judged row by row.
_POSITION = "_frame_position"

# GX reports every failing row, identified by its row_number and position.
_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [ROW_ID, _POSITION],
}

# Built once per process (see _validation). GX contexts are not documented as thread-safe,
# so building and running go through one lock.
_lock = threading.Lock()
_definitions: dict[str, tuple[gx.ValidationDefinition, list[Check]]] = {}
_DATASOURCE = "canonical_frames"


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


def validate(table: str, frame: pl.DataFrame) -> ValidationResult:
    """Check ``frame`` (canonical columns of ``table`` typed as its schema, plus
    ``row_number``) against the suite generated from ``table``'s contract."""
    contract = CONTRACTS[table]
    missing = [c for c in [*contract.column_names, ROW_ID] if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} frame lacks columns: {', '.join(missing)}")

    run, table_checks = _validation(table)
    positioned = frame.with_row_index(_POSITION).with_columns(pl.col(_POSITION).cast(pl.Int64))
    if frame.height == 0:
        failing = {c.name: pl.Series(_POSITION, [], pl.Int64) for c in table_checks}
    else:
        checked = [c.name for c in contract.columns if c.type != "text_list"]
        failing = _failing_positions(run, positioned.select(_POSITION, ROW_ID, *checked))
    is_bad = pl.col(_POSITION).is_in(pl.concat(failing.values()).implode())
    return ValidationResult(
        valid=positioned.filter(~is_bad).drop(_POSITION),
        rejected=_rejected(table, positioned.filter(is_bad), table_checks, failing),
        checks=[
            CheckResult(
                c.name,
                c.column,
                success=failing[c.name].is_empty(),
                unexpected_count=failing[c.name].len(),
                description=c.expectation.description or "",
                example=_example(positioned, c, failing[c.name]),
            )
            for c in table_checks
        ],
    )


def _example(frame: pl.DataFrame, check: Check, failing: pl.Series) -> str | None:
    """The reason the first row failing ``check`` was given (None when none fails)."""
    if failing.is_empty():
        return None
    first = frame.filter(pl.col(_POSITION) == failing.min())
    return first.select(pl.coalesce(check.reason, pl.lit(check.name))).item()


@cache  # called under _lock only
def _context() -> gx.data_context.EphemeralDataContext:
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas(_DATASOURCE)
    return context


def _validation(table: str) -> tuple[gx.ValidationDefinition, list[Check]]:
    """The validation definition of ``table`` and the checks behind its suite, built on
    first use in this process."""
    with _lock:
        if table not in _definitions:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                context = _context()
                asset = context.data_sources.get(_DATASOURCE).add_dataframe_asset(table)
                batch = asset.add_batch_definition_whole_dataframe(f"{table}_frame")
                suite = context.suites.add(expectation_suite(table))
                definition = context.validation_definitions.add(
                    gx.ValidationDefinition(name=f"{table}_contract", data=batch, suite=suite)
                )
            _definitions[table] = (definition, checks(table))
        return _definitions[table]


def _failing_positions(run: gx.ValidationDefinition, frame: pl.DataFrame) -> dict[str, pl.Series]:
    """Run the suite on ``frame``; the positions of the rows each check rejects, by check."""
    data = frame.to_pandas()
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = run.run(batch_parameters={"dataframe": data}, result_format=_RESULT_FORMAT)
    failing: dict[str, pl.Series] = {}
    for result in outcome.results:
        name = result.expectation_config.meta["check"]
        if result.exception_info.get("raised_exception"):
            message = result.exception_info.get("exception_message")
            raise RuntimeError(f"check {name} could not run: {message}")
        rows = result.result.get("unexpected_index_list") or []
        failing[name] = pl.Series(_POSITION, [int(row[_POSITION]) for row in rows], pl.Int64)
    return failing


def _rejected(
    table: str, bad: pl.DataFrame, table_checks: list[Check], failing: dict[str, pl.Series]
) -> list[Rejected]:
    """One Rejected per failing row: the canonical row as JSON, and every failed check in
    words, in check order."""
    if bad.height == 0:
        return []
    position = pl.col(_POSITION)
    reason = pl.concat_str(
        [
            # A reason that cannot be worded (null) still names the check.
            pl.when(position.is_in(failing[c.name].implode())).then(
                pl.coalesce(c.reason, pl.lit(c.name))
            )
            for c in table_checks
            if not failing[c.name].is_empty()
        ],
        separator="; ",
        ignore_nulls=True,
    )
    customer = pl.col("customer_id") if "customer_id" in bad.columns else pl.lit(None, pl.String)
    rows = bad.select(
        ROW_ID,
        pl.struct(pl.exclude(ROW_ID, _POSITION)).struct.json_encode().alias("raw"),
        reason.alias("reason"),
        customer.alias("customer_id"),
    )
    return [Rejected(table, *values) for values in rows.iter_rows()]
