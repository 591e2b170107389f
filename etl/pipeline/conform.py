"""Cast a reader's text columns to the canonical types of a table, and keep out text no
warehouse can store (``unstorable_text``, which the loader asks of every reader's frames).

Grain: one output row per input row that parses; a row with a value that does not parse
becomes a :class:`Rejected` instead. Staging only: no renames, no business rules (those are
the contract checks' job, in ``data_contracts.validate``).
"""

from __future__ import annotations

import polars as pl

from data_contracts import CONTRACTS, Column
from data_contracts.text import NUL, NUL_REASON
from data_contracts.times import ISO_Z
from etl.pipeline.frames import RawLookup, Rejected

TEXT_LIST_SEPARATOR = ";"

# Largest integer a float holds exactly: "3.0" is read as 3, "1e300" is not an integer.
_MAX_EXACT_FLOAT_INT = 2**53


def conform(raw: pl.DataFrame, table: str) -> tuple[pl.DataFrame, list[Rejected]]:
    """Cast ``raw`` (text columns named as ``table``'s contract, plus ``row_number``).

    Returns the typed frame (contract columns in contract order, then ``row_number``, then
    any extra input columns unchanged) and one Rejected per row where a non-empty value does
    not parse, naming every column that failed. A missing column is all null; an empty
    string is null; an empty ``text_list`` is an empty list.
    """
    contract = CONTRACTS[table]
    names = set(contract.column_names)
    extras = [c for c in raw.columns if c not in names and c != "row_number"]
    text = _as_text(raw, contract.columns)
    typed = text.select(
        *[_cast(c) for c in contract.columns], pl.col("row_number").cast(pl.Int64), *extras
    )
    typed = _other_timestamps(
        text, typed, [c.name for c in contract.columns if c.type == "timestamp"]
    )
    # A value that was there as text but is null once typed did not parse.
    failed = pl.DataFrame(
        {
            c.name: text.get_column(c.name).is_not_null() & typed.get_column(c.name).is_null()
            for c in contract.columns
            if c.type in _PARSERS
        },
        height=raw.height,
    )
    is_bad = failed.select(pl.any_horizontal(pl.all()) if failed.width else pl.lit(False))
    is_bad = is_bad.to_series().fill_null(False)
    if not is_bad.any():
        return typed, []
    return typed.filter(~is_bad), _rejected(raw, text, failed, is_bad, table)


def _as_text(raw: pl.DataFrame, columns: tuple[Column, ...]) -> pl.DataFrame:
    """Every contract column as trimmed text, empty (or missing) as null."""
    present = set(raw.columns)
    return raw.with_columns(
        (pl.col(c.name).cast(pl.String) if c.name in present else pl.lit(None, pl.String))
        .str.strip_chars()
        .replace("", None)
        .alias(c.name)
        for c in columns
    )


def _cast(column: Column) -> pl.Expr:
    value = pl.col(column.name)
    if column.type == "text_list":
        return _text_list(value).alias(column.name)
    if column.type == "timestamp":  # the common shape first; _other_timestamps does the rest
        return _utc_timestamp(value).alias(column.name)
    parse = _PARSERS.get(column.type)
    return (parse(value) if parse else value).alias(column.name)


def _utc_timestamp(text: pl.Expr) -> pl.Expr:
    """``2024-11-01T00:00:56Z``, the shape exports write most: many times faster to parse
    than trying every shape ``parse_timestamp`` accepts."""
    parsed = text.str.strptime(pl.Datetime("us", "UTC"), ISO_Z, strict=False)
    return parsed.dt.replace_time_zone(None)


def _other_timestamps(text: pl.DataFrame, typed: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Parse, with every accepted shape, the timestamps the common shape did not read (only
    those rows, so a file in the common shape pays nothing more)."""
    if not names:
        return typed
    missed = pl.any_horizontal(
        [text.get_column(n).is_not_null() & typed.get_column(n).is_null() for n in names]
    )
    rows = text.select(missed.alias("missed")).to_series()
    if not rows.any():
        return typed
    index = pl.int_range(pl.len(), dtype=pl.UInt32).alias("_position")
    fixed = (
        text.select(index, *names)
        .filter(rows)
        .select("_position", *[parse_timestamp(pl.col(n)).alias(n) for n in names])
    )
    return typed.with_columns(index).update(fixed, on="_position").drop("_position")


def _rejected(
    raw: pl.DataFrame, text: pl.DataFrame, failed: pl.DataFrame, is_bad: pl.Series, table: str
) -> list[Rejected]:
    """One Rejected per bad row, its reason naming every value that did not parse."""
    contract = CONTRACTS[table]
    bad_flags = failed.filter(is_bad)
    problems = text.filter(is_bad).select(
        "row_number",
        pl.concat_str(
            [
                pl.when(bad_flags.get_column(name)).then(
                    pl.format(f"{name}: '{{}}' {_NOT_A[contract.column(name).type]}", name)
                )
                for name in failed.columns
            ],
            separator="; ",
            ignore_nulls=True,
        ).alias("reason"),
    )
    raw_json = raw.filter(is_bad).select(
        pl.struct(pl.exclude("row_number").cast(pl.String)).struct.json_encode()
    )
    return [
        Rejected(table, row_number, row_json, reason)
        for (row_number, reason), row_json in zip(
            problems.iter_rows(), raw_json.to_series().to_list(), strict=True
        )
    ]


def unstorable_text(
    frame: pl.DataFrame, table: str, raw_lookup: RawLookup | None = None
) -> tuple[pl.DataFrame, list[Rejected]]:
    """``frame`` (any reader's, with ``row_number``) less the rows where a text value holds a
    NUL character, which PostgreSQL cannot store; one Rejected per such row, naming each of
    its columns that holds one. Every warehouse gets the same rule, so a file gives the same
    numbers on DuckDB and PostgreSQL."""
    holds_nul = {
        name: _holds_nul(name, dtype)
        for name, dtype in frame.schema.items()
        if dtype == pl.String or dtype == pl.List(pl.String)
    }
    if not holds_nul:
        return frame, []
    flags = frame.select(**holds_nul)
    is_bad = flags.select(pl.any_horizontal(pl.all()).fill_null(False)).to_series()
    if not is_bad.any():
        return frame, []
    bad = frame.filter(is_bad)
    reasons = flags.filter(is_bad).select(
        pl.concat_str(
            [pl.when(pl.col(name)).then(pl.lit(f"{name}: {NUL_REASON}")) for name in flags.columns],
            separator="; ",
            ignore_nulls=True,
        )
    )
    numbers = bad.get_column("row_number").to_list()
    raw = raw_lookup(table, numbers) if raw_lookup is not None else {}
    as_json = bad.select(pl.struct(pl.exclude("row_number")).struct.json_encode()).to_series()
    customers = (
        bad.get_column("customer_id").to_list()
        if frame.schema.get("customer_id") == pl.String
        else [None] * bad.height
    )
    rejected = [
        Rejected(table, n, raw.get(n, row_json), reason, customer)
        for n, row_json, reason, customer in zip(
            numbers, as_json.to_list(), reasons.to_series().to_list(), customers, strict=True
        )
    ]
    return frame.filter(~is_bad), rejected


def _holds_nul(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return pl.col(name).str.contains(NUL, literal=True)
    return pl.col(name).list.eval(pl.element().str.contains(NUL, literal=True)).list.any()


def parse_timestamp(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text to a naive UTC Datetime("us"); null where it does not parse.

    Accepts an offset (``+02:00``, ``+0200``, ``+02``) or ``Z`` (converted to UTC), no
    offset (taken as UTC), ``T`` or a space between date and time, minutes without
    seconds, and a plain date (midnight UTC). Offsets may differ from row to row.
    """
    iso = text.str.replace(" ", "T", literal=True)
    with_offset = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
    ]
    naive = [
        iso.str.to_datetime(fmt, strict=False, time_unit="us")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
    ]
    return pl.coalesce(*with_offset, *naive)


def parse_integer(text: pl.Expr) -> pl.Expr:
    """Integer text (or a whole number written as a float, e.g. "3.0") to Int64."""
    as_float = text.cast(pl.Float64, strict=False)
    is_whole = (as_float == as_float.floor()) & (as_float.abs() <= _MAX_EXACT_FLOAT_INT)
    return pl.coalesce(
        text.cast(pl.Int64, strict=False),
        pl.when(is_whole).then(as_float.cast(pl.Int64, strict=False)),
    )


def parse_float(text: pl.Expr) -> pl.Expr:
    """Decimal text to Float64; "nan" and "inf" are not amounts, so they do not parse."""
    as_float = text.cast(pl.Float64, strict=False)
    return pl.when(as_float.is_finite()).then(as_float)


def _text_list(text: pl.Expr) -> pl.Expr:
    items = pl.element().str.strip_chars()
    return (
        text.str.split(TEXT_LIST_SEPARATOR)
        .list.eval(items.filter(items != ""))
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )


_PARSERS = {"timestamp": parse_timestamp, "integer": parse_integer, "float": parse_float}
_NOT_A = {
    "timestamp": "is not an ISO 8601 timestamp",
    "integer": "is not an integer",
    "float": "is not a number",
}
