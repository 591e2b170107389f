"""What a reader returns: canonical frames for each table, plus what it could not use.

Every frame carries ``row_number``: the 1-based record number in its file (the data row of
a CSV, the line of a JSON Lines file, the element of a JSON array), so a rejected row can be
found again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from data_contracts import CANONICAL_TABLES, CONTRACTS, SIDE_TABLES
from data_contracts.rejected import Rejected
from data_contracts.text import lone_surrogate_in, lone_surrogate_reason
from etl.echo import PROBLEM_CHARS, echoed, one_line

# (table, row numbers) -> the raw text of those records as the file has them.
RawLookup = Callable[[str, list[int]], dict[int, str]]


@dataclass
class ReadResult:
    """A file read into canonical frames.

    One frame per canonical table (data_contracts/contracts/) and per side table
    (data_contracts/side_tables.yaml), by its frame name. ``tickets`` may carry an extra
    ``requester_id`` column instead of a known ``customer_id``: the loader resolves it
    through the identities of this run and of the warehouse. Frames that a format does not
    produce stay None.
    """

    format: str
    source: str
    tickets: pl.DataFrame | None = None
    nps_responses: pl.DataFrame | None = None
    customers: pl.DataFrame | None = None
    ticket_metrics: pl.DataFrame | None = None
    identities: pl.DataFrame | None = None
    groups: pl.DataFrame | None = None
    agents: pl.DataFrame | None = None
    ratings: pl.DataFrame | None = None
    rejected: list[Rejected] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # unused stream -> records
    # The raw records behind row numbers, for rows a contract check rejects later: the
    # quarantine keeps the line as read, not the parsed row.
    raw_lookup: RawLookup | None = None
    # Optional columns the file does not have at all (a CSV header without them): they say
    # nothing about the stored rows, which keep their values there.
    absent_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What the run report should say about the file as a whole (a KPI it cannot feed, and
    # why); the same in every batch of a file.
    notes: tuple[str, ...] = ()
    # (source column, value, the canonical value given, config table that maps it) -> rows:
    # values a value map did not know (a Freshdesk custom status loaded as ``other``).
    unmapped: dict[tuple, int] = field(default_factory=dict)
    # The fields of a raw record that name, reach or locate a person (the reader's
    # PERSON_FIELDS), redacted in quarantine; and, for a CSV, the names of a record's fields
    # in order (without them, raw records are JSON text).
    person_fields: tuple[str, ...] = ()
    raw_columns: tuple[str, ...] = ()

    @classmethod
    def combine(cls, parts: list[ReadResult]) -> ReadResult:
        """The batches of one file as one result (frames concatenated, lookups chained)."""
        first = parts[0]
        tables = {t for part in parts for t in part.frames()}
        frames = {t: pl.concat([p.frames()[t] for p in parts if t in p.frames()]) for t in tables}
        lookups = [p.raw_lookup for p in parts if p.raw_lookup is not None]

        def lookup(table: str, row_numbers: list[int]) -> dict[int, str]:
            found: dict[int, str] = {}
            for one in lookups:
                found.update(one(table, row_numbers))
            return found

        skipped: dict[str, int] = {}
        unmapped: dict[tuple, int] = {}
        for part in parts:
            for stream, count in part.skipped.items():
                skipped[stream] = skipped.get(stream, 0) + count
            for value, count in part.unmapped.items():
                unmapped[value] = unmapped.get(value, 0) + count
        return cls(
            format=first.format,
            source=first.source,
            rejected=[r for p in parts for r in p.rejected],
            skipped=skipped,
            raw_lookup=lookup if lookups else None,
            absent_columns=first.absent_columns,
            notes=first.notes,
            unmapped=unmapped,
            person_fields=first.person_fields,
            raw_columns=first.raw_columns,
            **frames,
        )

    def frames(self) -> dict[str, pl.DataFrame]:
        names = (*CANONICAL_TABLES, *SIDE_TABLES)
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass(frozen=True)
class SourceSettings:
    """How to read one source's exports (``[sources.NAME]`` in the config)."""

    timezone: str | None = None  # of its timestamps without an offset
    date_order: str | None = None  # "day-first" or "month-first", for 01/02/2025 dates
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # e.g. statuses -> map
    options: dict[str, str] = field(default_factory=dict)  # e.g. nps_question = "Q5"


@dataclass(frozen=True)
class ReadContext:
    """What readers need besides the file: the key for hashing emails into customer ids, the
    text encoding of the file (``--encoding``), and how to read timestamps without an offset
    and slashed dates (``--source-timezone``, ``--date-order``, else per source)."""

    hash_key: str = field(repr=False)  # never in a log line or a traceback
    encoding: str = "utf-8"
    timezone: str | None = None  # the command's option: every source
    date_order: str | None = None
    sources: dict[str, SourceSettings] = field(default_factory=dict)
    default: SourceSettings = field(default_factory=SourceSettings)  # the config's [load]

    def timezone_for(self, source: str, declared: str | None = None) -> str | None:
        """The command's zone, else the source's, else ``declared`` (a mapping file's), else
        the config's default."""
        return self.timezone or self._source(source).timezone or declared or self.default.timezone

    def date_order_for(self, source: str, declared: str | None = None) -> str | None:
        """As ``timezone_for``, for the order of 01/02/2025 dates."""
        return (
            self.date_order
            or self._source(source).date_order
            or declared
            or self.default.date_order
        )

    def options_for(self, source: str) -> dict[str, str]:
        return self._source(source).options

    def values_for(self, source: str, table: str) -> dict[str, str]:
        return self._source(source).values.get(table, {})

    def _source(self, source: str) -> SourceSettings:
        return self.sources.get(source, SourceSettings())


class UnreadableFile(Exception):
    """A file that matches no known export format, or is broken as a whole."""

    def __init__(self, path: str, problem: str, expected: list[str]):
        # The name and the problem (which may quote the file) on one line each, bounded.
        problem = echoed(problem, PROBLEM_CHARS)
        self.path, self.problem, self.expected = path, problem, expected
        listed = "\n".join(f"  - {e}" for e in expected)
        # one: the format the file was read as, and refused by; several: none matched
        heading = "Read as" if len(expected) == 1 else "Expected one of"
        super().__init__(f"{one_line(path)}: {problem}\n{heading}:\n{listed}")


def empty_frame(table: str) -> pl.DataFrame:
    """An empty canonical frame of ``table`` with ``row_number``."""
    return pl.DataFrame(schema={**CONTRACTS[table].schema, "row_number": pl.Int64()})


def without_lone_surrogates(rows: list[dict]) -> tuple[list[dict], dict[int, str]]:
    """``rows`` (each with its ``row_number``) less those whose text holds a lone surrogate,
    and row_number -> reason (naming the field) for those. A reader asks only once polars has
    refused its rows (UnicodeEncodeError), so whole text costs nothing."""
    kept: list[dict] = []
    reasons: dict[int, str] = {}
    for row in rows:
        found = lone_surrogate_in(row)
        if found is None:
            kept.append(row)
        else:
            reasons[row["row_number"]] = lone_surrogate_reason(*found)
    return kept, reasons
