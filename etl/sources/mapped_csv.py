"""Exports with their own column names (Freshdesk, Zendesk Explore, a mapping file): one
engine maps their columns onto a canonical table.

A :class:`Mapping` says, for each canonical column, which column(s) of the export it comes
from and how the text converts: a timestamp in the source's time zone, a duration after
another column, a value map (a value the map does not know becomes its ``unmapped`` value
and is counted), an email that becomes the keyed hash. The engine reads the file in record
blocks (``formats.record_blocks``: the file read once, a block at a time), maps each block
and hands the text to ``etl.pipeline.conform``, as the canonical CSV reader does: a value that does
not convert stays as given, so conform rejects its row with the value in the reason.

Time zones and dates are never guessed: a timestamp without an offset takes the source's
configured time zone (``--source-timezone``, or ``[sources.NAME] timezone``) and a file
that has such timestamps but no configured zone is refused; ``25/01/2025``-style dates are
read day-first or month-first as the file shows (a day above 12), else as configured
(``--date-order``), else the file is refused.

Grain: one canonical row per data row of the export.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import polars as pl

from data_contracts import CONTRACTS
from data_contracts.options import DATE_ORDERS
from data_contracts.times import ISO_Z
from etl.identity import hash_email_ids, redact_column
from etl.pipeline.conform import conform, parse_timestamp
from etl.pipeline.formats import Format, record_blocks
from etl.pipeline.frames import ReadContext, ReadResult, Rejected, UnreadableFile
from etl.sources import canonical_csv

BATCH_BYTES = 32 << 20
DAY_FIRST, MONTH_FIRST = DATE_ORDERS

# Text, timestamp and value conversions a field can ask for.
TEXT, TIMESTAMP, VALUES, CUSTOMER, AFTER, LATEST, TAGS, COMMENT = (
    "text",
    "timestamp",
    "values",
    "customer",
    "after",
    "latest",
    "tags",
    "comment",
)
# Units of an AFTER field: a duration added to another (already mapped) timestamp.
MINUTES, HOURS = "minutes", "hours"

# What each ticket KPI needs from a file, for the note on what a file cannot feed.
# KPI -> (the canonical columns any of which feeds it, what they are in words)
KPI_NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "TTA and TTA within target": (("first_reply_at",), "first reply time"),
    "one-touch resolution": (("agent_replies",), "agent reply count"),
    "handoff rate": (("assignee_stations", "group_stations"), "assignee or group stations"),
    "reopen rate and put-right recovery": (("reopens",), "reopen count"),
    "CSAT": (("csat",), "satisfaction rating"),
    "resolution times": (("solved_at",), "solved or resolved time"),
    "recovery cost": (("compensation",), "compensation amount"),
}


@dataclass(frozen=True)
class Field:
    """One canonical column of a mapped export.

    ``sources``: the export's columns it may come from (the first the file has is used).
    ``kind``: TEXT (as given; conform casts it), COMMENT (free text, its emails redacted),
    TAGS (comma-separated tags), TIMESTAMP (in
    the source's time zone when it has no offset), VALUES (through ``values``, keys compared
    without case; anything else becomes ``unmapped``, counted), CUSTOMER (an email becomes
    the keyed hash), AFTER (a duration in ``unit`` after the canonical column ``base``),
    LATEST (the file's column, else the latest of the canonical columns ``of``).
    ``default``: the value of every row when the file has none of ``sources`` (a required
    column the export does not carry, such as a channel); without ``sources``, the value of
    every row (a mapping file's ``value:``).
    """

    target: str
    sources: tuple[str, ...] = ()
    kind: str = TEXT
    values: dict[str, str | None] = field(default_factory=dict)
    unmapped: str | None = None
    base: str | None = None
    unit: str = MINUTES
    of: tuple[str, ...] = ()
    default: str | None = None
    # Values that mean "nothing" in this column (Explore's " No replies" bracket).
    empty: tuple[str, ...] = ()
    # The config's table that extends ``values`` for this source ([sources.NAME.statuses]).
    configurable: str | None = None
    separator: str = ","  # between the tags of a TAGS field (a regular expression)
    date_format: str | None = None  # a TIMESTAMP field's one shape (strptime), if it has one


def row_by_row(target: str, sources: tuple[str, ...], kind: str = TEXT) -> tuple[Field, ...]:
    """Fields that fill ``target`` from each row's first of ``sources`` that it has (where
    ``Field(target, sources)`` takes the first column the file has, for every row)."""
    return tuple(Field(target, (source,), kind) for source in sources)


def canonical_values(column: str, table: str = "tickets") -> dict[str, str]:
    """A value map that takes a column's canonical values as they are (in any case)."""
    return {value: value for value in CONTRACTS[table].column(column).allowed or ()}


@dataclass(frozen=True)
class Mapping:
    """A whole export: its format, source, canonical table, fields, and how it is known.

    ``signature``: columns every file of the export has (the file is this export when its
    header has all of them). ``header_rows``: rows after the header that are not data.
    ``resolve``: for an export whose columns depend on the file (a survey's questions), the
    concrete mapping, from this one, the header's names, the text after the header, the
    context and the path (it may refuse the file). ``skip``: rows to pass over, by reason
    (each a boolean column over the block's cleaned text), counted in the run report as
    skipped.
    """

    name: str
    description: str
    source: str
    table: str
    fields: tuple[Field, ...]
    signature: tuple[str, ...]
    header_rows: int = 0
    notes: tuple[str, ...] = ()
    resolve: Callable[[Mapping, list[str], str, ReadContext, Path], Mapping] | None = None
    rename: dict[str, str] = field(default_factory=dict)  # the file's names -> the fields'
    detect: Callable[[str], bool] | None = None  # instead of the signature, from the head
    timezone: str | None = None  # the zone the file itself declares for its times
    # A mapping file's own time zone and date order: after the command's options and the
    # config's [sources.NAME], before the config's [load] defaults.
    default_timezone: str | None = None
    date_order: str | None = None
    # A ``resolve`` mapping's rows under the header that are not data, from the header and
    # the text after it (for ``turnaround inspect``, which must count rows it cannot map).
    header_rows_of: Callable[[list[str], str], int] | None = None

    skip: Callable[[pl.DataFrame], dict[str, pl.Series]] | None = None
    # The export's columns that name, reach or locate a person: redacted in quarantine.
    person_fields: tuple[str, ...] = ()

    def field(self, target: str) -> Field | None:
        return next((f for f in self.fields if f.target == target), None)


# --- detection ----------------------------------------------------------------------------


def header_of(head: str) -> list[str] | None:
    """The column names of the first CSV record of ``head`` (BOM, quotes, spaces, no-break
    spaces dropped), or None."""
    try:
        first = next(csv.reader(io.StringIO(head.lstrip("\ufeff"))), None)
    except csv.Error:
        return None
    return [clean_name(n) for n in first] if first else None


def clean_name(name: str) -> str:
    return name.replace("\u00a0", " ").strip()


def sniff(head: str, mapping: Mapping) -> bool:
    header = header_of(head)
    return header is not None and set(mapping.signature) <= set(header)


NEAR_MISS_COLUMNS = 4  # a file with this many of an export's columns is that export, broken


def near_miss(head: str, mapping: Mapping) -> str | None:
    """Why a file with many of the export's columns is not read as it: the ones it lacks of
    those that make the export (an Explore report that left out its status column)."""
    header = header_of(head)
    if header is None or not mapping.signature:
        return None
    names = {mapping.rename.get(n, n) for n in header}
    known = set(mapping.signature) | {s for f in mapping.fields for s in f.sources}
    missing = [c for c in mapping.signature if c not in names]
    if not missing or len(known & names) < NEAR_MISS_COLUMNS:
        return None
    export = mapping.description.split(" (", 1)[0]
    lacking = ", ".join(repr(c) for c in missing)
    return f"it has {len(known & names)} columns of a {export} but lacks {lacking}"


# --- reading ------------------------------------------------------------------------------


@dataclass
class _FileState:
    """What one file's later blocks must agree with: the date order its first block showed."""

    date_order: str | None = None


def read_batches(
    path: Path, ctx: ReadContext, mapping: Mapping, batch_bytes: int | None = None
) -> Iterator[ReadResult]:
    """The export as batches of canonical rows, its row numbers running on across batches."""
    expected = [mapping.description]
    state = _FileState(ctx.date_order_for(mapping.source, mapping.date_order))
    offset, skip = 0, None
    for header, body in record_blocks(path, ctx.encoding, batch_bytes or BATCH_BYTES, expected):
        if skip is None:  # the first block: the export's own columns
            if mapping.resolve is not None:
                mapping = mapping.resolve(mapping, header_of(header) or [], body, ctx, path)
            skip = mapping.header_rows
        if skip:  # rows under the header that are not data (Qualtrics' labels)
            body, dropped = _drop_records(body, skip)
            skip -= dropped
        result, rows = _read_block(path, header, body, mapping, ctx, state, offset)
        offset += rows
        yield result


def read(path: Path, ctx: ReadContext, mapping: Mapping) -> ReadResult:
    return ReadResult.combine(list(read_batches(path, ctx, mapping)))


def _drop_records(body: str, count: int) -> tuple[str, int]:
    """``body`` without its first ``count`` records (fewer when it has fewer)."""
    rest, dropped = body, 0
    while dropped < count and rest:
        end = _record_end(rest)
        rest = rest[end:] if end >= 0 else ""
        dropped += 1
    return rest, dropped


def _record_end(text: str) -> int:
    pos = text.find("\n")
    while pos >= 0 and text.count('"', 0, pos) % 2:
        pos = text.find("\n", pos + 1)
    return pos + 1 if pos >= 0 else -1


def _read_block(
    path: Path,
    header: str,
    body: str,
    mapping: Mapping,
    ctx: ReadContext,
    state: _FileState,
    offset: int,
) -> tuple[ReadResult, int]:
    fmt = FORMATS_BY_NAME[mapping.name]
    text = header + body
    values = canonical_csv.read_values(path, text, fmt, offset)
    values = values.rename({c: clean_name(c) for c in values.columns if c != "row_number"})
    if mapping.rename:
        values = values.rename({k: v for k, v in mapping.rename.items() if k in values.columns})
    records = canonical_csv.data_records(path, text, values.height, fmt, offset)
    width = values.width - 1
    is_blank = records.get_column("is_blank")
    is_ragged = (records.get_column("fields") != width) & ~is_blank
    keep = values.filter(~is_ragged & ~is_blank).with_columns(
        pl.col(c).str.replace_all("\u00a0", " ").str.strip_chars().replace("", None)
        for c in values.columns
        if c != "row_number"
    )
    skipped: dict[str, int] = {}
    if mapping.skip is not None:
        passed = pl.Series([False] * keep.height, dtype=pl.Boolean)
        for reason, rows in mapping.skip(keep).items():
            rows = rows.fill_null(False) & ~passed
            if rows.any():
                skipped[reason] = int(rows.sum())
            passed = passed | rows
        keep = keep.filter(~passed)
    mapped, unmapped, absent, defaulted = _map(path, keep, mapping, ctx, state)
    typed, unparsable = conform(mapped, mapping.table)
    lookup = canonical_csv.raw_lookup(records.select("row_number", "record"))
    customers = dict(mapped.select("row_number", "customer_id").iter_rows())
    rejected = [
        Rejected(mapping.table, n, record, f"row has {fields} fields but the header has {width}")
        for n, record, fields in records.filter(is_ragged)
        .select("row_number", "record", "fields")
        .rows()
    ]
    for r in unparsable:
        r.raw = lookup(mapping.table, [r.row_number])[r.row_number]
        r.customer_id = customers.get(r.row_number)
    result = ReadResult(
        format=mapping.name,
        source=mapping.source,
        rejected=sorted(rejected + unparsable, key=lambda r: r.row_number),
        raw_lookup=lookup,
        absent_columns={mapping.table: absent} if absent else {},
        notes=mapping.notes + defaulted + _cannot_feed(mapping, absent, set(mapped.columns)),
        unmapped=dict(unmapped),
        skipped=skipped,
        person_fields=mapping.person_fields,
        raw_columns=tuple(values.columns[1:]),  # after row_number: the record's fields
        **{mapping.table: typed.drop([c for c in typed.columns if c.startswith("_")])},
    )
    return result, records.height


@dataclass
class _Block:
    """One block being mapped: what every conversion needs."""

    path: Path
    frame: pl.DataFrame
    mapping: Mapping
    ctx: ReadContext
    state: _FileState


def _map(path: Path, frame: pl.DataFrame, mapping: Mapping, ctx: ReadContext, state: _FileState):
    """The canonical text columns of ``frame``; the unmapped values counted; the canonical
    columns the file does not have at all (stored rows keep theirs; new rows get nulls, or a
    field's default); a note per default given.

    Several fields may fill one canonical column: a later one fills what the earlier left
    empty (Freshdesk's first reply: its time, else created time plus the reply duration)."""
    block = _Block(path, frame, mapping, ctx, state)
    present = set(frame.columns)
    unmapped: Counter = Counter()
    columns: dict[str, pl.Series] = {"row_number": frame.get_column("row_number")}
    given_targets: set[str] = set()
    defaults: dict[str, str] = {}
    for f in mapping.fields:
        if not f.sources and f.default is not None:  # a mapping file's value: for every row
            columns[f.target] = pl.Series(f.target, [f.default] * frame.height, pl.String)
            given_targets.add(f.target)
            continue
        source = next((s for s in f.sources if s in present), None)
        if source is None and f.kind != LATEST:
            if f.default is not None:
                defaults[f.target] = f.default
            continue
        value = _convert(block, f, source, columns, unmapped)
        if f.kind != LATEST or source is not None:
            given_targets.add(f.target)
        earlier = columns.get(f.target)
        columns[f.target] = value if earlier is None else _coalesce(earlier, value)
    for target, default in defaults.items():
        if target not in columns:
            columns[target] = pl.Series(target, [default] * frame.height, pl.String)
    contract = CONTRACTS[mapping.table]
    lacking = [c.name for c in contract.columns if c.required and c.name not in columns]
    if lacking:
        wanted = {
            name: [s for f in mapping.fields if f.target == name for s in f.sources]
            for name in lacking
        }
        listed = "; ".join(
            f"{n} (from {', '.join(map(repr, w)) or '?'})" for n, w in wanted.items()
        )
        raise UnreadableFile(
            str(path), f"has no column for the required {listed}", [mapping.description]
        )
    table_columns = CONTRACTS[mapping.table].column_names
    absent = tuple(
        c for c in table_columns if c not in given_targets and (c in defaults or c not in columns)
    )
    defaulted = tuple(
        f"has no {mapping.field(target).sources[0]} column: its new tickets get {target} {default}"
        for target, default in defaults.items()
        if target not in given_targets
    )
    frame = pl.DataFrame([v.alias(k) for k, v in columns.items()])
    return frame, unmapped, absent, defaulted


def _coalesce(first: pl.Series, then: pl.Series) -> pl.Series:
    return pl.DataFrame({"a": first, "b": then}).select(pl.coalesce("a", "b")).to_series()


def _convert(block: _Block, f: Field, source: str | None, columns, unmapped) -> pl.Series:
    """Field ``f`` of the block, as canonical text."""
    if f.kind == LATEST:
        return _latest(block, f, source, columns)
    given = block.frame.get_column(source)
    if f.empty:
        given = _blank_out(given, f.empty)
    if f.kind == TIMESTAMP:
        return _timestamp(block, given, source, f.date_format)
    if f.kind == VALUES:
        mapped, missed = _value_map(given, f, block)
        unmapped.update(
            {(source, value, f.unmapped, f.configurable): n for value, n in missed.items()}
        )
        return mapped
    if f.kind == CUSTOMER:
        return (
            pl.DataFrame({"v": given})
            .select(hash_email_ids(pl.col("v"), block.ctx.hash_key))
            .to_series()
        )
    if f.kind == AFTER:
        return _after(given, columns.get(f.base), f.unit)
    if f.kind == COMMENT:
        return pl.DataFrame({"v": given}).select(redact_column(pl.col("v"))).to_series()
    if f.kind == TAGS:
        split = given.str.replace_all(f.separator, "\x1f").str.split("\x1f")
        return split.list.eval(pl.element().str.strip_chars()).list.join(";")
    return given


def _blank_out(values: pl.Series, empty: tuple[str, ...]) -> pl.Series:
    lowered = values.str.to_lowercase()
    return values.set(lowered.is_in([e.lower() for e in empty]), None)


def _value_map(values: pl.Series, f: Field, block: _Block) -> tuple[pl.Series, Counter]:
    """Values through the field's map (extended by the config's map for the source), without
    case; the values the map does not know, counted."""
    extra = block.ctx.values_for(block.mapping.source, f.configurable) if f.configurable else {}
    table = {k.lower(): v for k, v in {**f.values, **extra}.items()}
    lowered = values.str.to_lowercase()
    known = lowered.is_in(list(table))
    mapped = lowered.replace_strict(table, default=f.unmapped, return_dtype=pl.String)
    missed = values.filter(values.is_not_null() & ~known)
    return mapped.set(values.is_null(), None), Counter(missed.to_list())


# Date shapes of exports and spreadsheets, after the date part is put in ISO order.
_NAIVE_SHAPES = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_OFFSET = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$")
_SLASHED = r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})"


def _timestamp(
    block: _Block, values: pl.Series, column: str, date_format: str | None = None
) -> pl.Series:
    """Timestamps as ISO UTC text: with an offset, converted; without one, read in the
    source's time zone (refused without one); slashed dates day- or month-first."""
    path, mapping, ctx, state = block.path, block.mapping, block.ctx, block.state
    frame = pl.DataFrame({"v": values})
    text = pl.col("v")
    has_offset = text.str.contains(_OFFSET.pattern)
    slashed = text.str.extract_groups(_SLASHED)
    parts = frame.select(
        first=slashed.struct.field("1").cast(pl.Int32),
        second=slashed.struct.field("2").cast(pl.Int32),
    )
    order = None if date_format else _date_order(path, parts, column, mapping, state)
    if order is not None:
        day, month = ("1", "2") if order == DAY_FIRST else ("2", "1")
        iso_date = pl.format(
            "{}-{}-{}",
            slashed.struct.field("3"),
            slashed.struct.field(month).str.zfill(2),
            slashed.struct.field(day).str.zfill(2),
        )
        text = pl.when(slashed.struct.field("3").is_not_null()).then(
            iso_date + text.str.replace(_SLASHED, "")
        )
        text = text.otherwise(pl.col("v"))
    iso = text.str.strip_chars().str.replace(" ", "T", literal=True)
    iso = iso.str.replace(r"T(\d):", "T0$1:")  # Excel's 1:30
    naive = pl.coalesce(
        iso.str.to_datetime(shape, strict=False, time_unit="us") for shape in _NAIVE_SHAPES
    )
    if date_format is not None:  # the one shape the user named
        text = pl.col("v")
        naive = text.str.to_datetime(date_format, strict=False, time_unit="us")
    needs_zone = frame.select((text.is_not_null() & ~has_offset & naive.is_not_null()).any())
    zone = mapping.timezone or ctx.timezone_for(mapping.source, mapping.default_timezone)
    if needs_zone.item() and zone is None:
        example = frame.filter(~has_offset & naive.is_not_null()).get_column("v")[0]
        raise UnreadableFile(
            str(path),
            f"has timestamps without a UTC offset in {column!r} (such as {example!r}); give "
            f"their time zone with --source-timezone (such as Europe/Berlin), or as "
            f"[sources.{mapping.source}] timezone in the config",
            [mapping.description],
        )
    local = naive
    if zone is not None:
        local = (
            naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .dt.replace_time_zone(None)
        )
    # "01/25/2025 10:00 -0500" and "2025-01-25 1:30 -07:00": the date put in ISO order above,
    # the space before the offset dropped
    offset_text = iso.str.replace(r"\s+(Z|[+-]\d{2}(:?\d{2})?)$", "$1")
    utc = pl.when(has_offset).then(parse_timestamp(offset_text)).otherwise(local)
    # A value that did not convert is marked, so that conform rejects its row by name (as
    # given, conform could read it as UTC: a local time that does not exist, or a shape the
    # mapping's date_format excludes).
    gap = naive.is_not_null() & local.is_null() & ~has_offset
    unread = pl.format("{} (unreadable date)", pl.col("v"))
    marked = pl.when(gap).then(pl.format(f"{{}} (no such local time in {zone})", pl.col("v")))
    converted = utc.dt.strftime(ISO_Z)
    return frame.select(pl.coalesce(converted, marked.otherwise(unread))).to_series()


def _date_order(
    path: Path, parts: pl.DataFrame, column: str, mapping: Mapping, state: _FileState
) -> str | None:
    """Day-first or month-first, as the file shows it, else as configured, else refused."""
    slashed = parts.drop_nulls()
    if slashed.is_empty():
        return state.date_order
    day_first = slashed.filter(pl.col("first") > 12).height
    month_first = slashed.filter(pl.col("second") > 12).height
    shown = DAY_FIRST if day_first else MONTH_FIRST if month_first else None
    if day_first and month_first:
        raise UnreadableFile(
            str(path),
            f"has dates in {column!r} written day-first and month-first",
            [mapping.description],
        )
    if shown and state.date_order and shown != state.date_order:
        raise UnreadableFile(
            str(path),
            f"has dates in {column!r} written {shown}, but they are read {state.date_order} "
            "(from --date-order, the config, or earlier rows of the file)",
            [mapping.description],
        )
    if shown:
        state.date_order = shown
    if state.date_order is None:
        raise UnreadableFile(
            str(path),
            f"has dates in {column!r} that read either day-first or month-first (no day "
            "above 12); say which with --date-order day-first|month-first, or "
            f"[sources.{mapping.source}] date_order in the config",
            [mapping.description],
        )
    return state.date_order


def _after(duration: pl.Series, base: pl.Series | None, unit: str) -> pl.Series:
    """``base`` (ISO UTC text) plus ``duration`` (minutes or hours), as ISO text; the
    duration as given where it does not parse (so the row is rejected by name)."""
    if base is None:
        base = pl.Series([None] * len(duration), dtype=pl.String)
    frame = pl.DataFrame({"d": duration, "b": base.cast(pl.String)})
    d = pl.col("d")
    per = 60 if unit == MINUTES else 3600
    seconds = (d.cast(pl.Float64, strict=False) * per).round().cast(pl.Int64)
    start = pl.col("b").str.to_datetime(ISO_Z, strict=False, time_unit="us")
    at = (start + pl.duration(seconds=seconds)).dt.strftime(ISO_Z)
    bad = d.is_not_null() & seconds.is_null()
    return frame.select(
        pl.when(bad).then(pl.format("{} ({})", d, pl.lit(unit))).otherwise(at)
    ).to_series()


def _latest(block: _Block, f: Field, source: str | None, columns) -> pl.Series:
    """The file's own column where it has one, else the latest of the mapped ``of`` columns
    (each ISO UTC text, so the latest is the largest)."""
    if source is not None:
        return _timestamp(block, block.frame.get_column(source), source)
    present = [columns[c].alias(c) for c in f.of if c in columns]
    if not present:
        return pl.Series(f.target, [None] * block.frame.height, pl.String)
    return pl.DataFrame(present).select(pl.max_horizontal(pl.all())).to_series()


def _cannot_feed(mapping: Mapping, absent: tuple[str, ...], mapped: set[str]) -> tuple[str, ...]:
    """One note per ticket KPI the file has none of the columns for."""
    if mapping.table != "tickets":
        return ()
    has = mapped - set(absent)
    notes = []
    for kpi, (needs, words) in KPI_NEEDS.items():
        if not has & set(needs):
            bracket = "first_reply_at" in needs and "first_reply_bracket" in has
            why = " (its reply brackets, such as 0-1 hrs, are not timed)" if bracket else ""
            notes.append(f"cannot feed {kpi}: the file has no {words} column{why}")
    return tuple(notes)


def make_format(mapping: Mapping) -> Format:
    return Format(
        name=mapping.name,
        description=mapping.description,
        sniff=mapping.detect or partial(sniff, mapping=mapping),
        near_miss=None if mapping.detect else partial(near_miss, mapping=mapping),
        read=partial(read, mapping=mapping),
        read_batches=partial(read_batches, mapping=mapping),
    )


FORMATS_BY_NAME: dict[str, Format] = {}
MAPPINGS_BY_NAME: dict[str, Mapping] = {}


def register(mappings: list[Mapping]) -> list[Format]:
    """The formats of ``mappings``, known to the engine (and ``turnaround inspect``) by name."""
    formats = [make_format(m) for m in mappings]
    FORMATS_BY_NAME.update({f.name: f for f in formats})
    MAPPINGS_BY_NAME.update({m.name: m for m in mappings})
    return formats
