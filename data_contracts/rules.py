"""The row-level checks of a canonical table, generated from its contract, as polars expressions.

One check per contract statement: ``required`` -> values not null, ``allowed`` -> values in
the set, ``min``/``max`` -> values between, quality rule ``not_before`` -> column A >= column
B where both are present; and, given the run's plausible range (data_contracts.plausible),
every timestamp column within it (``future_allowed``: not before its start). Key uniqueness
is the loader's job, and ``text_list`` columns are not checked. Each check says which rows
fail it (``fails``), why in words (``reason``), and which great-expectations expectation
states the same rule (``expectation``: its class name and arguments), so the loader judges
every row in polars, batch by batch, and great-expectations validates the staged rows for
the run's report from the same declaration.

Nothing here imports great-expectations: ``data_contracts.expectations`` builds its suite from
these checks when a report needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl

from data_contracts.contract import CONTRACTS, Column, QualityRule
from data_contracts.plausible import TIMESTAMP_TEXT, TimeRange


@dataclass(frozen=True, eq=False)
class RowCheck:
    """One generated check."""

    name: str  # unique within the table, e.g. "status_in_set"
    column: str
    description: str  # the check in words, e.g. "status is one of new, open, ..."
    fails: pl.Expr  # true on a row that fails (a null outcome passes)
    reason: pl.Expr  # evaluated on the failing rows only
    expectation: tuple[str, dict[str, Any]]  # the GX expectation: class name, arguments


@lru_cache(maxsize=64)  # a range per run: a long-running process keeps a few
def row_checks(table: str, plausible: TimeRange | None = None) -> tuple[RowCheck, ...]:
    """Every check of ``table``'s contract, in contract order; with ``plausible``, each
    timestamp column's range check after the column's own checks."""
    contract = CONTRACTS[table]
    generated: list[RowCheck] = []
    for column in contract.columns:
        if column.type == "text_list":
            continue
        for build in _COLUMN_CHECKS:
            check = build(column)
            if check is not None:
                generated.append(check)
        if plausible is not None and column.type == "timestamp":
            generated.append(plausible_check(column, plausible))
    generated.extend(
        _quality_check(rule, contract.column(rule.column), contract.column(rule.other))
        for rule in contract.quality
    )
    return tuple(generated)


def _required(column: Column) -> RowCheck | None:
    if not column.required:
        return None
    description = f"{column.name} is required"
    return RowCheck(
        f"{column.name}_not_null",
        column.name,
        description,
        pl.col(column.name).is_null(),
        pl.lit(f"{column.name}: is required but missing"),
        ("ExpectColumnValuesToNotBeNull", {"column": column.name}),
    )


def _allowed(column: Column) -> RowCheck | None:
    if column.allowed is None:
        return None
    listed = ", ".join(column.allowed)
    value = pl.col(column.name)
    return RowCheck(
        f"{column.name}_in_set",
        column.name,
        f"{column.name} is one of {listed}",
        value.is_not_null() & ~value.is_in(list(column.allowed)),
        pl.format(f"{column.name}: '{{}}' is not one of {listed}", value),
        ("ExpectColumnValuesToBeInSet", {"column": column.name, "value_set": list(column.allowed)}),
    )


def _between(column: Column) -> RowCheck | None:
    if column.min is None and column.max is None:
        return None
    low, high = _number(column.min), _number(column.max)
    bounds = " and ".join(
        text
        for bound, text in ((low, f"at least {low}"), (high, f"at most {high}"))
        if bound is not None
    )
    value = pl.col(column.name)
    below = pl.format(f"{column.name}: {{}} is below the minimum {low}", value)
    above = pl.format(f"{column.name}: {{}} is above the maximum {high}", value)
    outside = []
    if column.min is not None:
        outside.append(value < column.min)
    if column.max is not None:
        outside.append(value > column.max)
    if column.min is None:
        reason = above
    elif column.max is None:
        reason = below
    else:
        reason = pl.when(value < column.min).then(below).otherwise(above)
    return RowCheck(
        f"{column.name}_between",
        column.name,
        f"{column.name} is {bounds}",
        pl.any_horizontal(outside),
        reason,
        (
            "ExpectColumnValuesToBeBetween",
            {"column": column.name, "min_value": column.min, "max_value": column.max},
        ),
    )


def plausible_check(column: Column, plausible: TimeRange) -> RowCheck:
    """The timestamp ``column`` lies within ``plausible`` (a future value passes where the
    column allows one)."""
    future = column.future_allowed
    value = pl.col(column.name)
    return RowCheck(
        f"{column.name}_plausible",
        column.name,
        plausible.description(column.name, future),
        plausible.outside(value, future),
        plausible.reason(column.name, future),
        (
            "ExpectColumnValuesToBeBetween",
            {
                "column": column.name,
                "min_value": plausible.earliest,
                "max_value": None if future else plausible.latest,
            },
        ),
    )


def _quality_check(rule: QualityRule, column: Column, other: Column) -> RowCheck:
    if rule.rule != "not_before":
        raise ValueError(f"unknown quality rule {rule.rule!r} on {column.name}")
    why = f" ({rule.description})" if rule.description else ""
    return RowCheck(
        f"{rule.column}_not_before_{rule.other}",
        rule.column,
        f"{rule.column} is not before {rule.other}",
        pl.col(rule.column) < pl.col(rule.other),  # null when either is missing: passes
        pl.format(
            f"{rule.column}: {{}} is before {rule.other} {{}}{why}",
            _as_text(pl.col(rule.column), column),
            _as_text(pl.col(rule.other), other),
        ),
        (
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": rule.column,
                "column_B": rule.other,
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
    )


def _as_text(value: pl.Expr, column: Column) -> pl.Expr:
    return value.dt.to_string(TIMESTAMP_TEXT) if column.type == "timestamp" else value


def _number(bound: float | None) -> str | None:
    """A contract bound as written: 0 rather than 0.0."""
    if bound is None:
        return None
    return str(int(bound)) if float(bound).is_integer() else str(bound)


_COLUMN_CHECKS: tuple[Callable[[Column], RowCheck | None], ...] = (_required, _allowed, _between)
