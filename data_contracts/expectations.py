"""The great-expectations suite of a canonical table, generated from its contract.

One check per contract statement: ``required`` -> values not null, ``allowed`` -> values in
the set, ``min``/``max`` -> values between, quality rule ``not_before`` -> column A >= column
B where both are present. Key uniqueness is the loader's job, and ``text_list`` columns are
not checked here. Each check also says, as a polars expression, why a failing row failed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from data_contracts.contract import CONTRACTS, Column, QualityRule

# GX logs registry chatter and warns about its own deprecated imports while it loads; none
# of it is for Turnaround's users. This module is where Turnaround imports GX, quietly.
logging.getLogger("great_expectations").setLevel(logging.ERROR)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import great_expectations as gx
    import great_expectations.expectations as gxe

TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Check:
    """One generated check: its GX expectation and the reason a failing row gets."""

    name: str  # unique within the table, e.g. "status_in_set"
    column: str
    expectation: gxe.Expectation
    reason: pl.Expr  # evaluated on the failing rows only


def checks(table: str) -> list[Check]:
    """Every check of ``table``'s contract, in contract order (fresh GX objects each call)."""
    contract = CONTRACTS[table]
    generated: list[Check] = []
    for column in contract.columns:
        if column.type == "text_list":
            continue
        for build in _COLUMN_CHECKS:
            check = build(column)
            if check is not None:
                generated.append(check)
    generated.extend(
        _quality_check(rule, contract.column(rule.column), contract.column(rule.other))
        for rule in contract.quality
    )
    return generated


def expectation_suite(table: str) -> gx.ExpectationSuite:
    """The GX suite generated from ``table``'s contract (not yet added to any context)."""
    return gx.ExpectationSuite(
        name=f"{table}_contract", expectations=[c.expectation for c in checks(table)]
    )


def _required(column: Column) -> Check | None:
    if not column.required:
        return None
    name = f"{column.name}_not_null"
    return Check(
        name,
        column.name,
        gxe.ExpectColumnValuesToNotBeNull(
            column=column.name, description=f"{column.name} is required", meta={"check": name}
        ),
        pl.lit(f"{column.name}: is required but missing"),
    )


def _allowed(column: Column) -> Check | None:
    if column.allowed is None:
        return None
    name = f"{column.name}_in_set"
    listed = ", ".join(column.allowed)
    return Check(
        name,
        column.name,
        gxe.ExpectColumnValuesToBeInSet(
            column=column.name,
            value_set=list(column.allowed),
            description=f"{column.name} is one of {listed}",
            meta={"check": name},
        ),
        pl.format(f"{column.name}: '{{}}' is not one of {listed}", pl.col(column.name)),
    )


def _between(column: Column) -> Check | None:
    if column.min is None and column.max is None:
        return None
    name = f"{column.name}_between"
    low, high = _number(column.min), _number(column.max)
    bounds = " and ".join(
        text
        for bound, text in ((low, f"at least {low}"), (high, f"at most {high}"))
        if bound is not None
    )
    value = pl.col(column.name)
    below = pl.format(f"{column.name}: {{}} is below the minimum {low}", value)
    above = pl.format(f"{column.name}: {{}} is above the maximum {high}", value)
    if column.min is None:
        reason = above
    elif column.max is None:
        reason = below
    else:
        reason = pl.when(value < column.min).then(below).otherwise(above)
    return Check(
        name,
        column.name,
        gxe.ExpectColumnValuesToBeBetween(
            column=column.name,
            min_value=column.min,
            max_value=column.max,
            description=f"{column.name} is {bounds}",
            meta={"check": name},
        ),
        reason,
    )


def _quality_check(rule: QualityRule, column: Column, other: Column) -> Check:
    if rule.rule != "not_before":
        raise ValueError(f"unknown quality rule {rule.rule!r} on {column.name}")
    name = f"{rule.column}_not_before_{rule.other}"
    why = f" ({rule.description})" if rule.description else ""
    return Check(
        name,
        rule.column,
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.column,
            column_B=rule.other,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description=f"{rule.column} is not before {rule.other}",
            meta={"check": name},
        ),
        pl.format(
            f"{rule.column}: {{}} is before {rule.other} {{}}{why}",
            _as_text(pl.col(rule.column), column),
            _as_text(pl.col(rule.other), other),
        ),
    )


def _as_text(value: pl.Expr, column: Column) -> pl.Expr:
    return value.dt.to_string(TIMESTAMP_TEXT) if column.type == "timestamp" else value


def _number(bound: float | None) -> str | None:
    """A contract bound as written: 0 rather than 0.0."""
    if bound is None:
        return None
    return str(int(bound)) if float(bound).is_integer() else str(bound)


_COLUMN_CHECKS: tuple[Callable[[Column], Check | None], ...] = (_required, _allowed, _between)
