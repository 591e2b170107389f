"""Read a Zendesk API export (JSON page, JSON Lines, Singer or Airbyte records).

Grain of the frames returned: ``tickets`` one row per ticket record, ``ticket_metrics`` one
row per ticket_metric record, ``identities`` one row per user record, ``agents`` one row
per user record of an agent or admin, in file order (an
incremental export may hold the same object twice; the loader keeps the newest).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts import CONTRACTS, SIDE_TABLES
from data_contracts.text import lone_surrogate_in, lone_surrogate_reason
from etl.identity import redact_emails
from etl.pipeline.formats import refused_if_unreadable, whole_file
from etl.pipeline.frames import (
    RawLookup,
    ReadContext,
    ReadResult,
    Rejected,
    UnreadableFile,
    without_lone_surrogates,
)
from etl.sources.zendesk.records import (
    BadRecord,
    Record,
    StreamSeen,
    iter_records,
    page_lists,
    unwrap_message,
)
from etl.sources.zendesk.settings import (
    FORMAT_NAME,
    KNOWN_STREAMS,
    PERSON_FIELDS,
    SOURCE,
    STREAM_TABLES,
)
from etl.sources.zendesk.transforms import (
    FieldError,
    agent_row,
    group_row,
    identity_row,
    rating_row,
    ticket_metric_row,
    ticket_row,
)

DESCRIPTION = (
    "Zendesk API JSON (tickets, ticket_metrics, users, groups, satisfaction_ratings): an API "
    "page, JSON Lines, "
    "or Singer / Airbyte records"
)

ROW_NUMBER = {"row_number": pl.Int64()}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "tickets": {
        **CONTRACTS["tickets"].schema,
        **ROW_NUMBER,
        "requester_id": pl.String(),
        "follow_up_of": pl.String(),
    },
    **{name: {**side.schema, **ROW_NUMBER} for name, side in SIDE_TABLES.items()},
}

# A stream named in a line that is not JSON, to file the rejected line under its table.
STREAM_NAME = re.compile(r'"stream"\s*:\s*"(\w+)"')
# Signs of a Zendesk page or API object in a start of file too long to parse whole.
HEAD_MARKERS = (
    re.compile(r'"stream"\s*:\s*"(?:tickets|ticket_metrics|users)"'),
    re.compile(
        r'"(?:tickets|ticket_metrics|metric_sets|users|groups|satisfaction_ratings)"\s*:\s*\['
    ),
    re.compile(r'"reply_time_in_minutes"\s*:\s*\{'),
    re.compile(r'"via"\s*:\s*\{.*"requester_id"\s*:', re.DOTALL),
)
SNIFF_LINES = 50
TAG_SEPARATOR = "\x1f"  # a control character: no tag holds one (see to_tags)


class _Rows:
    """Rows of one frame, turned into columns once all are read."""

    def __init__(self, schema: dict[str, pl.DataType]):
        self.schema = schema
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any], row_number: int) -> None:
        row["row_number"] = row_number
        self.rows.append(row)

    def frame(self) -> pl.DataFrame:
        columns = [self._series(name, dtype) for name, dtype in self.schema.items()]
        return pl.DataFrame(columns)

    def _series(self, name: str, dtype: pl.DataType) -> pl.Series:
        # Every row of a frame holds the same keys: a column none holds is all null.
        if not self.rows or name not in self.rows[0]:
            return pl.Series(name, [None] * len(self.rows), dtype=dtype)
        values = [row[name] for row in self.rows]
        if dtype != pl.List(pl.String()):
            return pl.Series(name, values, dtype=dtype)
        # Polars builds a list column from Python lists slowly (one inner series per row):
        # join each list with a separator no tag holds, then split in one vectorised pass.
        joined = [TAG_SEPARATOR.join(tags) if tags is not None else None for tags in values]
        split = pl.Series(name, joined, dtype=pl.String()).str.split(TAG_SEPARATOR)
        return split.list.eval(pl.element().filter(pl.element() != ""))  # "" splits to [""]


def _raw(item: Record | BadRecord) -> str:
    raw = item.raw if item.raw is not None else json.dumps(item.data, ensure_ascii=False)
    return redact_emails(raw)


def _table_of_broken_line(raw: str, tables_read: Counter[str]) -> str:
    """The table a line that is not JSON was meant for: the stream it names, else the table
    most of the file's records went to (a users export's broken line is a user)."""
    named = STREAM_NAME.search(raw)
    if named and named.group(1) in STREAM_TABLES:
        return STREAM_TABLES[named.group(1)]
    return tables_read.most_common(1)[0][0] if tables_read else "tickets"


class _Batch:
    """The rows, rejects and skips read since the last batch was handed on; the records
    behind the rows are kept until then, for the raw text of a row a contract rejects."""

    def __init__(self) -> None:
        self.frames = {table: _Rows(schema) for table, schema in SCHEMAS.items()}
        # the line as read (a string, which the garbage collector need not scan), or for a
        # record of a JSON document the record itself
        self.records: dict[str, dict[int, str | Record]] = {table: {} for table in SCHEMAS}
        self.rejected: list[Rejected] = []
        self.skipped: Counter[str] = Counter()
        self.size = 0

    def add(self, table: str, row: dict[str, Any], item: Record) -> None:
        self.frames[table].add(row, item.row_number)
        self.records[table][item.row_number] = item.raw if item.raw is not None else item
        self.size += 1

    def result(self) -> ReadResult:
        records = self.records

        def lookup(table: str, row_numbers: list[int]) -> dict[int, str]:
            kept = records.get(table, {})
            return {
                n: redact_emails(kept[n]) if isinstance(kept[n], str) else _raw(kept[n])
                for n in row_numbers
                if n in kept
            }

        frames = {table: self._frame(table, lookup) for table in self.frames}
        self.rejected.sort(key=lambda r: r.row_number)
        return ReadResult(
            format=FORMAT_NAME,
            source=SOURCE,
            **frames,
            rejected=self.rejected,
            skipped=dict(self.skipped),
            raw_lookup=lookup,
            person_fields=PERSON_FIELDS,
        )

    def _frame(self, table: str, lookup: RawLookup) -> pl.DataFrame:
        """``table``'s rows as a frame; a row whose text polars cannot hold (a lone
        surrogate) is rejected instead."""
        rows = self.frames[table]
        try:
            return rows.frame()
        except UnicodeEncodeError:
            rows.rows, reasons = without_lone_surrogates(rows.rows)
        raw = lookup(table, list(reasons))
        self.rejected += [Rejected(table, n, raw[n], reason) for n, reason in reasons.items()]
        return rows.frame()


BATCH_RECORDS = 20_000


def read_batches(
    path: Path, ctx: ReadContext, batch_records: int | None = None
) -> Iterator[ReadResult]:
    """Read a Zendesk export into tickets, ticket_metrics, identities, groups, agents and
    ratings frames, ``batch_records`` records at a time.

    Records of other streams are counted in ``skipped``; records whose fields cannot be
    converted are returned as ``rejected``, and so are broken lines (in the last batch, once
    the file shows which table they were meant for). Raises UnreadableFile when the file
    holds no Zendesk JSON at all.
    """
    batch_records = batch_records or BATCH_RECORDS
    converters = {
        "tickets": ticket_row,
        "ticket_metrics": ticket_metric_row,
        "identities": partial(identity_row, hash_key=ctx.hash_key),
        "groups": group_row,
        "ratings": rating_row,
    }
    batch = _Batch()
    broken: list[BadRecord] = []
    tables_read: Counter[str] = Counter()
    is_zendesk = parsed_any = False
    with refused_if_unreadable(path, ctx.encoding, [DESCRIPTION]):
        for item in iter_records(path, ctx.encoding):
            if isinstance(item, BadRecord):
                broken.append(item)
                continue
            parsed_any = True
            is_zendesk = is_zendesk or item.stream in KNOWN_STREAMS
            if isinstance(item, StreamSeen):
                continue
            table = STREAM_TABLES.get(item.stream)
            if table is None:
                batch.skipped[item.stream or "unrecognised"] += 1
                continue
            tables_read[table] += 1
            if not isinstance(item.data, dict):
                reason = f"the {item.stream} record is not a JSON object"
                batch.rejected.append(Rejected(table, item.row_number, _raw(item), reason))
                continue
            try:
                row = converters[table](item.data)
            except FieldError as exc:
                batch.rejected.append(Rejected(table, item.row_number, _raw(item), str(exc)))
                continue
            except UnicodeEncodeError:  # a lone surrogate in an email or id being hashed
                reason = lone_surrogate_reason(*lone_surrogate_in(item.data))
                batch.rejected.append(Rejected(table, item.row_number, _raw(item), reason))
                continue
            batch.add(table, row, item)
            if table == "identities":  # an agent's name too, from the same user record
                try:
                    agent = agent_row(item.data, ctx.hash_key)
                except FieldError as exc:
                    batch.rejected.append(Rejected("agents", item.row_number, _raw(item), str(exc)))
                    agent = None
                if agent is not None:
                    batch.add("agents", agent, item)
            if batch.size >= batch_records and is_zendesk:
                yield batch.result()
                batch = _Batch()
    batch.rejected += [
        Rejected(_table_of_broken_line(b.raw, tables_read), b.row_number, _raw(b), b.reason)
        for b in broken
    ]
    if not is_zendesk:
        if parsed_any:
            problem = "holds no Zendesk tickets, ticket_metrics or users"
        elif batch.rejected:
            first = min(batch.rejected, key=lambda r: r.row_number)
            problem = f"is not JSON: line {first.row_number} {first.reason}"
        else:
            problem = "is empty"
        raise UnreadableFile(str(path), problem, [DESCRIPTION])
    yield batch.result()


read = whole_file(read_batches)


def _is_zendesk_value(value: Any) -> bool:
    """Whether a parsed JSON value (a whole file, or one line) holds a Zendesk record."""
    if isinstance(value, list):
        return any(_is_zendesk_value(element) for element in value[:SNIFF_LINES])
    if not isinstance(value, dict):
        return False
    if page_lists(value) is not None:
        return True
    unwrapped = unwrap_message(value)
    stream = unwrapped[0] if unwrapped is not None else value.get("stream")
    return stream in KNOWN_STREAMS


def sniff(head: str) -> bool:
    """Whether the start of a file (up to 64 KiB of text) is a Zendesk export."""
    head = head.lstrip("\ufeff \t\r\n")
    if not head.startswith(("{", "[")):
        return False
    try:
        return _is_zendesk_value(json.loads(head))
    except (ValueError, RecursionError):
        pass  # JSON Lines, or a document longer than the head
    for line in head.splitlines()[:SNIFF_LINES]:
        try:
            if _is_zendesk_value(json.loads(line)):
                return True
        except (ValueError, RecursionError):
            continue
    return any(marker.search(head) for marker in HEAD_MARKERS)
