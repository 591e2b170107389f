"""Unwrap a Zendesk export into records (stream, API object), whatever wraps them.

Wrappings, detected from content:
- a JSON document: an API page (``{"tickets": [...], "next_page": ...}``, side-loads
  included), a single-object response (``{"ticket": {...}}``) or a JSON array;
- JSON Lines, each line a bare API object, a Singer message
  (``{"type": "RECORD", "stream": ..., "record": {...}}``), an Airbyte record line
  (``{"stream": ..., "data": {...}}``) or an Airbyte protocol message
  (``{"type": "RECORD", "record": {"stream": ..., "data": {...}}}``).

Record numbers: the line of a JSON Lines file; the 1-based element of an array; for the
lists of API pages, the record's place among the file's records of its stream (a file of
several pages numbers on from one page to the next).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.pipeline.json_stream import connector_record, is_control_message, json_values
from etl.sources.zendesk.settings import (
    BARE_OBJECT_FIELDS,
    PAGE_KEYS,
    SINGLE_OBJECT_KEYS,
)


@dataclass(slots=True)
class Record:
    """One API object; ``stream`` is None for a bare object that matches no Zendesk object."""

    row_number: int
    stream: str | None
    data: Any
    raw: str | None = None  # the line as read (JSON Lines only)


@dataclass(slots=True)
class BadRecord:
    """A line or element that holds no usable record."""

    row_number: int
    raw: str
    reason: str


@dataclass(slots=True)
class StreamSeen:
    """A stream named without a record: a Singer SCHEMA message, or an empty page list."""

    stream: str


Item = Record | BadRecord | StreamSeen

_PAGE_MARKERS = frozenset(PAGE_KEYS) | frozenset(SINGLE_OBJECT_KEYS)


def bare_stream(obj: dict) -> str | None:
    """The stream of a bare API object, recognised from its fields."""
    keys = obj.keys()
    return next((stream for stream, fields in BARE_OBJECT_FIELDS if fields <= keys), None)


def unwrap_message(message: dict) -> tuple[str | None, Any] | None:
    """The (stream, API object) one line carries; None for a control message.

    A line that is no Singer or Airbyte message is a bare API object.
    """
    wrapped = connector_record(message)
    if wrapped is not None:
        return wrapped
    if is_control_message(message):
        return None
    return bare_stream(message), message


def page_lists(doc: dict) -> list[tuple[str, list]] | None:
    """The (stream, objects) lists of an API page or single-object response; None otherwise.

    Other list-valued keys of a page are side-loads (groups, organizations...): they are
    returned under their own names, to be skipped.
    """
    if doc.keys().isdisjoint(_PAGE_MARKERS):  # a fast exit: most lines are records
        return None
    is_page = any(isinstance(doc.get(k), list) for k in PAGE_KEYS) or any(
        isinstance(doc.get(k), dict) for k in SINGLE_OBJECT_KEYS
    )
    if not is_page:
        return None
    lists: list[tuple[str, list]] = []
    for key, value in doc.items():
        if isinstance(value, list):
            lists.append((PAGE_KEYS.get(key, key), value))
        elif key in SINGLE_OBJECT_KEYS and isinstance(value, dict):
            lists.append((SINGLE_OBJECT_KEYS[key], [value]))
    return lists


def _line_items(
    value: Any, row_number: int, raw: str | None, numbers: Counter[str]
) -> Iterator[Item]:
    """The items of one JSON value (a line, an array element or a whole document)."""
    if isinstance(value, list):
        for index, element in enumerate(value, 1):
            yield from _line_items(element, index, None, numbers)
        return
    if not isinstance(value, dict):
        yield BadRecord(row_number, raw or json.dumps(value), "is not a JSON object")
        return
    lists = page_lists(value)
    if lists is not None:
        for stream, objects in lists:
            yield StreamSeen(stream)
            for obj in objects:
                yield _page_record(stream, obj, numbers)
        return
    unwrapped = unwrap_message(value)
    if unwrapped is None:
        if isinstance(value.get("stream"), str):
            yield StreamSeen(value["stream"])
        return
    stream, data = unwrapped
    yield Record(row_number, stream, data, raw)


def _page_record(stream: str, obj: Any, numbers: Counter[str]) -> Record:
    """A record of a page list, numbered on from the stream's records in earlier pages."""
    numbers[stream] += 1
    return Record(numbers[stream], stream, obj)


def iter_records(path: Path, encoding: str = "utf-8") -> Iterator[Item]:
    """Every item of a Zendesk export, read a value at a time (see etl.pipeline.json_stream): the
    lists of an API page arrive one record at a time, however large the page.

    Raises UnicodeDecodeError or OSError as the file is read.
    """
    numbers: Counter[str] = Counter()  # page records numbered per stream across the file
    for one in json_values(path, encoding, stream_members=PAGE_KEYS):
        if one.problem is not None:
            yield BadRecord(one.number, one.raw or "", one.problem)
        elif one.member is not None:
            yield _page_record(PAGE_KEYS[one.member], one.value, numbers)
        else:
            yield from _line_items(one.value, one.number, one.raw, numbers)
