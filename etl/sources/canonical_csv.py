"""Turnaround's canonical CSV files: ``tickets.csv``, ``nps.csv`` and ``customers.csv``.

The simplest way in (docs/contract.md, Canonical CSV): one file per canonical table, a header
naming the contract's columns (any order; optional columns may be left out), values as text
that ``etl.pipeline.conform`` casts. Grain: one canonical row per data row of the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import polars as pl

from data_contracts import CONTRACTS
from etl.echo import listed
from etl.identity import customer_key, hash_email_ids, redact_column
from etl.pipeline.conform import conform
from etl.pipeline.formats import Format, record_blocks
from etl.pipeline.frames import RawLookup, ReadContext, ReadResult, Rejected, UnreadableFile

SOURCE = "canonical"

FORMAT_NAMES = {
    "tickets": "canonical_tickets_csv",
    "nps_responses": "canonical_nps_csv",
    "customers": "canonical_customers_csv",
}
# table -> (format name, the header docs/contract.md documents in Canonical CSV)
HEADERS: dict[str, tuple[str, str]] = {
    table: (name, ",".join(c.name for c in CONTRACTS[table].columns if c.header))
    for table, name in FORMAT_NAMES.items()
}
_LABELS = {"tickets": "tickets", "nps_responses": "NPS responses", "customers": "customers"}


def header_fits(columns: list[str], table: str) -> bool:
    """True when ``columns`` are ``table``'s required columns plus any of its optional ones."""
    contract = CONTRACTS[table]
    names = set(columns)
    required = {c.name for c in contract.columns if c.required}
    return len(names) == len(columns) and names <= set(contract.column_names) and required <= names


def near_miss(head: str) -> str | None:
    """For a CSV header close to a canonical one: which columns are missing, extra or
    repeated. Close means it shares at least half of that table's required columns."""
    header = _header(head)
    if not header:
        return None
    names = set(header)

    def overlap(table: str) -> int:
        return len(names & set(CONTRACTS[table].column_names))

    table = max(HEADERS, key=overlap)
    contract = CONTRACTS[table]
    required = [c.name for c in contract.columns if c.required]
    if len(names & set(required)) * 2 < len(required):
        return None
    missing = [c for c in required if c not in names]
    extra = [c for c in header if c not in contract.column_names]
    repeated = sorted({c for c in header if header.count(c) > 1})
    problems = [
        f"{label} {listed(columns)}"  # a header of thousands of columns: the first ones
        for label, columns in (
            ("lacks the required column(s)", missing),
            ("has column(s) the format does not take:", extra),
            ("repeats the column(s)", repeated),
        )
        if columns
    ]
    return f"it looks like a canonical {_LABELS[table]} CSV but {'; '.join(problems)}"


def sniff(head: str, table: str) -> bool:
    header = _header(head)
    return header is not None and header_fits(header, table)


# Bytes of text a batch holds: about 170,000 tickets, so memory stays flat as files grow.
BATCH_BYTES = 32 << 20


def read(path: Path, ctx: ReadContext, table: str) -> ReadResult:
    """The whole file as one ReadResult (``read_batches`` joined)."""
    return ReadResult.combine(list(read_batches(path, ctx, table)))


def read_batches(
    path: Path, ctx: ReadContext, table: str, batch_bytes: int | None = None
) -> Iterator[ReadResult]:
    """Read one canonical CSV in batches of whole records, the file read once: ragged rows
    are rejected, blank lines skipped, the rest conformed (rows with values that do not parse
    are rejected there). Email-shaped customer ids become the keyed hash of the email; emails
    in comments are redacted. Row numbers run on across batches."""
    fmt = FORMATS_BY_TABLE[table]
    offset = 0
    size = batch_bytes or BATCH_BYTES
    for header, body in record_blocks(path, ctx.encoding, size, [fmt.description]):
        result, rows = _read_block(path, header + body, fmt, table, ctx, offset)
        offset += rows
        yield result


def _read_block(
    path: Path, text: str, fmt: Format, table: str, ctx: ReadContext, offset: int
) -> tuple[ReadResult, int]:
    """One batch: the header line and whole records after it, numbered from ``offset`` + 1."""
    values = read_values(path, text, fmt, offset)
    if not header_fits(values.columns[1:], table):
        raise UnreadableFile(str(path), "has a header this format does not take", [fmt.description])
    records = data_records(path, text, values.height, fmt, offset)
    width = values.width - 1  # without row_number
    is_ragged = (records.get_column("fields") != width) & ~records.get_column("is_blank")
    position = values.columns[1:].index("customer_id")
    ragged = [
        Rejected(table, row_number, record, reason, _customer_in(record, position, ctx.hash_key))
        for row_number, record, reason in records.filter(is_ragged)
        .select(
            "row_number",
            "record",
            pl.format(f"row has {{}} fields but the header has {width}", "fields"),
        )
        .rows()
    ]
    typed, unparsable = conform(values.filter(~is_ragged & ~records.get_column("is_blank")), table)
    lookup = raw_lookup(records.select("row_number", "record"))
    if unparsable:
        customers = dict(
            values.filter(pl.col("row_number").is_in([r.row_number for r in unparsable]))
            .select("row_number", "customer_id")
            .iter_rows()
        )
    for rejected in unparsable:
        rejected.raw = lookup(table, [rejected.row_number])[rejected.row_number]
        given = (customers.get(rejected.row_number) or "").strip()
        rejected.customer_id = customer_key(given, ctx.hash_key) if given else None
    rejected = sorted(ragged + unparsable, key=lambda r: r.row_number)
    header = set(values.columns[1:])
    absent = tuple(c for c in CONTRACTS[table].column_names if c not in header)
    result = ReadResult(
        format=fmt.name,
        source=SOURCE,
        rejected=rejected,
        raw_lookup=lookup,
        absent_columns={table: absent} if absent else {},
        **{table: _protect_identity(typed, ctx.hash_key)},
    )
    return result, records.height


def _customer_in(record: str, position: int, hash_key: str) -> str | None:
    """The customer id a ragged row names, where its field can still be found."""
    try:
        fields = next(csv.reader(io.StringIO(record)), [])
    except csv.Error:
        return None
    given = fields[position].strip() if position < len(fields) else ""
    return customer_key(given, hash_key) if given else None


def _protect_identity(frame: pl.DataFrame, hash_key: str) -> pl.DataFrame:
    """No raw email stays: email-shaped customer (and agent) ids are hashed, comments are
    redacted."""
    ids = [c for c in ("customer_id", "assignee_id") if c in frame.columns]
    protected = [hash_email_ids(pl.col(c), hash_key).alias(c) for c in ids]
    if "comment" in frame.columns:
        protected.append(redact_column(pl.col("comment")).alias("comment"))
    return frame.with_columns(protected)


def raw_lookup(records: pl.DataFrame) -> RawLookup:
    """The CSV line(s) of given data rows, as read (quoted line breaks included)."""

    def lookup(table: str, row_numbers: list[int]) -> dict[int, str]:
        wanted = records.filter(pl.col("row_number").is_in(list(row_numbers)))
        return dict(wanted.iter_rows())

    return lookup


def _header(head: str) -> list[str] | None:
    """The column names of the first CSV record in ``head``, or None if it has none."""
    try:
        first = next(csv.reader(io.StringIO(head)), None)
    except csv.Error:
        return None
    return [name.strip() for name in first] if first else None


def read_values(path: Path, text: str, fmt: Format, offset: int = 0) -> pl.DataFrame:
    """Every field as text, with ``row_number`` (1-based data row, blank lines counted)."""
    try:
        values = pl.read_csv(
            text.encode("utf-8"),
            infer_schema=False,
            truncate_ragged_lines=True,  # read() finds and rejects ragged rows itself
            with_column_names=lambda names: [n.strip() for n in names],
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFile(
            str(path), f"is not valid CSV ({problem}); check its quoting", [fmt.description]
        ) from None
    return values.with_row_index("row_number", offset=offset + 1).with_columns(
        pl.col("row_number").cast(pl.Int64)
    )  # row_number first; conform puts it after the contract columns


def data_records(
    path: Path, text: str, row_count: int, fmt: Format, offset: int = 0
) -> pl.DataFrame:
    """The data records of the file (``row_number``, ``record``, ``fields``, ``is_blank``),
    one per row polars read, so ragged rows can be found: polars pads short rows and cuts
    long ones without a word.

    A record spans lines while its quotes are unbalanced; commas inside quotes do not
    separate fields.
    """
    lines = pl.DataFrame({"line": text.removesuffix("\n").split("\n")}).with_columns(
        pl.col("line").str.strip_suffix("\r")
    )
    quotes = pl.col("line").str.count_matches('"', literal=True)
    starts_record = lines.select((quotes.cum_sum() - quotes) % 2 == 0).to_series()
    if starts_record.all():
        records = lines.rename({"line": "record"})
    else:  # quoted values with line breaks: join their lines back into one record
        records = (
            lines.with_columns(record_index=starts_record.cum_sum())
            .group_by("record_index", maintain_order=True)
            .agg(pl.col("line").str.join("\n").alias("record"))
        )
    records = records.slice(1)  # the header
    if records.height != row_count:
        raise UnreadableFile(
            str(path),
            f"has {records.height} records by its quoting but {row_count} rows were read: "
            "check for a stray or unclosed '\"'",
            [fmt.description],
        )
    return records.select(
        pl.int_range(offset + 1, offset + records.height + 1, dtype=pl.Int64).alias("row_number"),
        "record",
        fields=pl.col("record").str.replace_all(r'"[^"]*"', "").str.count_matches(",") + 1,
        is_blank=pl.col("record").str.strip_chars() == "",
    )


def _format(table: str) -> Format:
    name, header = HEADERS[table]
    return Format(
        name=name,
        description=f"Turnaround canonical {_LABELS[table]} CSV (header: {header})",
        sniff=partial(sniff, table=table),
        read=partial(read, table=table),
        read_batches=partial(read_batches, table=table),
        near_miss=near_miss if table == "tickets" else None,  # one diagnosis for all three
    )


FORMATS_BY_TABLE: dict[str, Format] = {table: _format(table) for table in HEADERS}
FORMATS: list[Format] = list(FORMATS_BY_TABLE.values())
