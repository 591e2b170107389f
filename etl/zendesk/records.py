"""Unwrap a Zendesk export into records (stream, API object), whatever wraps them.

Wrappings, detected from content:
- a JSON document: an API page (``{"tickets": [...], "next_page": ...}``, side-loads
  included), a single-object response (``{"ticket": {...}}``) or a JSON array;
- JSON Lines, each line a bare API object, a Singer message
  (``{"type": "RECORD", "stream": ..., "record": {...}}``), an Airbyte record line
  (``{"stream": ..., "data": {...}}``) or an Airbyte protocol message
  (``{"type": "RECORD", "record": {"stream": ..., "data": {...}}}``).

Record numbers: the line of a JSON Lines file; the 1-based element of an array or page list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from etl.zendesk.settings import (
    BARE_OBJECT_FIELDS,
    CONTROL_MESSAGE_TYPES,
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
    kind = message.get("type")
    if kind == "RECORD":
        inner = message.get("record")
        if isinstance(inner, dict) and "data" in inner and isinstance(inner.get("stream"), str):
            return inner["stream"], inner["data"]  # Airbyte protocol
        if isinstance(message.get("stream"), str) and "record" in message:
            return message["stream"], inner  # Singer
    elif kind in CONTROL_MESSAGE_TYPES:
        return None
    if isinstance(message.get("stream"), str) and "data" in message:
        return message["stream"], message["data"]  # Airbyte record line
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


def _line_items(value: Any, row_number: int, raw: str | None) -> Iterator[Item]:
    """The items of one JSON value read from a line (or the whole file)."""
    if isinstance(value, list):
        for index, element in enumerate(value, 1):
            yield from _line_items(element, index, None)
        return
    if not isinstance(value, dict):
        yield BadRecord(row_number, raw or json.dumps(value), "is not a JSON object")
        return
    lists = page_lists(value)
    if lists is not None:
        for stream, objects in lists:
            yield StreamSeen(stream)
            yield from (Record(i, stream, obj) for i, obj in enumerate(objects, 1))
        return
    unwrapped = unwrap_message(value)
    if unwrapped is None:
        if isinstance(value.get("stream"), str):
            yield StreamSeen(value["stream"])
        return
    stream, data = unwrapped
    yield Record(row_number, stream, data, raw)


def _loads(text: str) -> tuple[Any, str | None]:
    """The JSON value of ``text``, or the reason it is not JSON."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "is nested too deeply"
    except ValueError as exc:
        return None, f"is not valid JSON ({exc})"


def _numbered_lines(file: TextIO) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line of a file read from its start."""
    for number, line in enumerate(file, 1):
        if text := line.strip():
            yield number, text


def iter_records(file: TextIO) -> Iterator[Item]:
    """Every item of a Zendesk export, read from a seekable text file.

    A file whose first line is not JSON on its own is tried as one JSON document (a
    pretty-printed page); if that fails too, it is read line by line, and each broken line
    becomes a BadRecord.
    """
    lines = _numbered_lines(file)
    first = next(lines, None)
    if first is None:
        return
    number, text = first
    value, problem = _loads(text)
    if problem is None:
        yield from _line_items(value, number, text)
    else:
        document, document_problem = _loads(text + "\n" + file.read())
        if document_problem is None:
            yield from _line_items(document, 1, None)
            return
        file.seek(0)
        lines = _numbered_lines(file)
    for number, text in lines:
        value, problem = _loads(text)
        if problem is None:
            yield from _line_items(value, number, text)
        else:
            yield BadRecord(number, text, problem)
