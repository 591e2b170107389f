"""JSON exports read a value at a time, so that a file is never held whole.

A file is **JSON Lines** when its first line is a JSON value of its own and another line
follows: each line is one value, and a line that is not JSON is handed on with its problem
(the rest still read). Otherwise the file is **one JSON document** (or several, one after
another, as a script that appends API pages writes them):

- an array gives its elements one by one (numbered from 1);
- an object gives, one by one, the elements of the lists under the members the caller
  names (``stream_members``: an API page's ``tickets``), each with its member and its place
  in that list, then the object itself with those lists emptied (its other members whole);
- any other value is given as it is.

A document up to ``WHOLE_DOCUMENT_BYTES`` is parsed at once (the standard library is about
twice as fast as an event parser); a larger one is streamed with ijson, its memory bounded
by the largest element, not the file. A document that breaks off after some values were
given ends with one value carrying the problem; one that is broken before any value is read
again as JSON Lines, so that each broken line is reported on its own.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import ijson

from etl.pipeline.formats import python_encoding

WHOLE_DOCUMENT_BYTES = 32 << 20
BLOCK_BYTES = 256 << 10  # read at a time when scanning a large document
FIRST_LINE_CHARS = 1 << 20  # a longer first line is taken for the start of a document
_OPENS = frozenset({"start_map", "start_array"})
_CLOSES = frozenset({"end_map", "end_array"})


@dataclass(slots=True)
class JsonValue:
    """One value of a JSON export."""

    number: int  # the line (JSON Lines), the element of an array or of a member's list
    value: Any = None
    raw: str | None = None  # the line as read (JSON Lines only)
    problem: str | None = None  # why the line is not JSON (``value`` is then None)
    member: str | None = None  # the object member whose list this element came from


def json_values(
    path: Path,
    encoding: str = "utf-8",
    stream_members: Collection[str] = (),
    whole_bytes: int | None = None,
) -> Iterator[JsonValue]:
    """Every value of the JSON export at ``path``, in file order (see the module's notes).

    Raises UnicodeDecodeError when the file is not text in ``encoding`` and OSError when it
    cannot be read; the reader turns both into a refusal of the file."""
    codec = python_encoding(encoding)
    with path.open(encoding=codec, newline="") as text:
        first = _first_line(text)
        if first is None:
            return
        number, line, complete = first
        value, problem = _loads(line) if complete else (None, "longer than a line")
        if problem is None:
            following = _next_line(text, number)
            if following is not None:  # JSON Lines
                yield JsonValue(number, value, line)
                yield _line_value(*following)
                yield from _lines(text, following[0])
                return
            given = list(_given(value, stream_members, [0]))  # one line (under 1 MB)
            if len(given) == 1 and not isinstance(value, list):  # one record: keep its line
                given[0].number, given[0].raw = number, line
            yield from given
            return
        text.seek(0)
        if path.stat().st_size <= (WHOLE_DOCUMENT_BYTES if whole_bytes is None else whole_bytes):
            documents = _documents(text.read())
            if documents is not None:
                counter = [0]
                for document in documents:
                    yield from _given(document, stream_members, counter)
                return
        else:
            given = yield from _streamed(path, codec, stream_members)
            if given:
                return
        text.seek(0)
        yield from _lines(text, 0)


def _first_line(text: TextIO) -> tuple[int, str, bool] | None:
    """(number, stripped text, whether it ended) of the first non-blank line, read no
    further than FIRST_LINE_CHARS."""
    number = 0
    while True:
        line = text.readline(FIRST_LINE_CHARS)
        if not line:
            return None
        number += 1
        complete = line.endswith(("\n", "\r")) or len(line) < FIRST_LINE_CHARS
        if line.strip() or not complete:
            return number, line.strip(), complete


def _next_line(text: TextIO, number: int) -> tuple[int, str] | None:
    for line in text:
        number += 1
        if stripped := line.strip():
            return number, stripped
    return None


def _lines(text: TextIO, number: int) -> Iterator[JsonValue]:
    for line in text:
        number += 1
        if stripped := line.strip():
            yield _line_value(number, stripped)


def _line_value(number: int, line: str) -> JsonValue:
    value, problem = _loads(line)
    return JsonValue(number, value, line, problem)


def _loads(text: str) -> tuple[Any, str | None]:
    """The JSON value of ``text``, or the reason it is not JSON."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "is nested too deeply"
    except ValueError as exc:
        return None, f"is not valid JSON ({exc})"


def _documents(text: str) -> list[Any] | None:
    """The JSON documents of ``text`` one after another, or None if it is not that."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    text = text.lstrip("\ufeff")
    try:
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position == len(text):
                return documents
            document, position = decoder.raw_decode(text, position)
            documents.append(document)
    except (ValueError, RecursionError):
        return None


def _given(value: Any, members: Collection[str], counter: list[int]) -> Iterator[JsonValue]:
    """The values one parsed document gives (``counter`` numbers documents and elements)."""
    if isinstance(value, list):
        for element in value:
            counter[0] += 1
            yield JsonValue(counter[0], element)
        return
    if isinstance(value, dict):
        rest = dict(value)
        for key, elements in value.items():
            if key in members and isinstance(elements, list):
                for index, element in enumerate(elements, 1):
                    yield JsonValue(index, element, member=key)
                rest[key] = []
        value = rest
    counter[0] += 1
    yield JsonValue(counter[0], value)


def _streamed(path: Path, codec: str, members: Collection[str]):
    """The values of a large document, parsed as a stream of events; returns whether any
    value was given (a document broken before that is read again as lines)."""
    given = counted = 0
    # The fast parser (yajl) reads an escaped lone surrogate as "?": such a document is
    # parsed by ijson's own, slower one, which keeps it for the reader to reject.
    parser = ijson.get_backend("python") if _has_lone_surrogate_escape(path, codec) else ijson
    with path.open("rb") as raw:
        # ijson parses UTF-8 bytes: the file's encoding is recoded (and checked) on the way.
        utf8 = _Utf8(raw, codec)
        events = parser.basic_parse(utf8, multiple_values=True, use_float=True)
        try:
            for event, value in events:
                for one in _top_level(events, event, value, members):
                    given += 1
                    if one.member is None:
                        counted += 1
                        one.number = counted
                    yield one
        except ijson.JSONError as exc:
            if not given:
                return False
            yield JsonValue(counted + 1, problem=f"the JSON document breaks off ({exc})")
    return True


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ESCAPE_BYTES = 6


def _has_lone_surrogate_escape(path: Path, codec: str) -> bool:
    """Whether the document holds a ``\\ud800``-``\\udfff`` escape that is not half of a
    pair (a high one followed at once by a low one). An escaped backslash before ``u`` may
    be taken for one: that costs only the slower parser."""
    after_high: int | None = None  # where the low half must start
    offset, carry = 0, b""  # an escape cut between two reads is joined
    with path.open("rb") as raw:
        utf8 = _Utf8(raw, codec)
        while chunk := utf8.read(BLOCK_BYTES):
            text = carry + chunk
            for found in _SURROGATE_ESCAPE.finditer(text):
                start, is_low = offset + found.start(), found.group()[3:4] in b"cdefCDEF"
                if after_high is not None:
                    if is_low and start == after_high:
                        after_high = None
                        continue
                    return True
                if is_low:
                    return True
                after_high = offset + found.end()
            end = offset + len(text)
            if after_high is not None and end - after_high >= _ESCAPE_BYTES:
                return True
            carry = text[-(_ESCAPE_BYTES - 1) :]
            offset = end - len(carry)
    return after_high is not None


class _Utf8:
    """A binary file in ``codec`` read as UTF-8 bytes (only ``read``: a parser that finds
    ``readinto`` would take the file's own bytes)."""

    def __init__(self, raw: BinaryIO, codec: str) -> None:
        self.raw, self.decoder = raw, codecs.getincrementaldecoder(codec)()

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        return self.decoder.decode(chunk, final=not chunk).encode("utf-8")


def _top_level(events, event: str, value: Any, members: Collection[str]) -> Iterator[JsonValue]:
    if event == "start_array":
        for element_event, element_value in events:
            if element_event == "end_array":
                return
            yield JsonValue(0, _build(events, element_event, element_value))
        return
    if event != "start_map":
        yield JsonValue(0, value)
        return
    rest: dict[str, Any] = {}
    for key_event, key in events:
        if key_event == "end_map":
            break
        member_event, member_value = next(events)
        if member_event == "start_array" and key in members:
            for index, (element_event, element_value) in enumerate(events, 1):
                if element_event == "end_array":
                    break
                element = _build(events, element_event, element_value)
                yield JsonValue(index, element, member=key)
            rest[key] = []
        else:
            rest[key] = _build(events, member_event, member_value)
    yield JsonValue(0, rest)


def _build(events, event: str, value: Any) -> Any:
    """The whole value that starts with (event, value), consuming its events."""
    if event not in _OPENS:
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for event, value in events:
        builder.event(event, value)
        if event in _OPENS:
            depth += 1
        elif event in _CLOSES:
            depth -= 1
            if not depth:
                return builder.value
    raise ijson.IncompleteJSONError("the document ends inside a value")


def connector_record(message: Any) -> tuple[str, Any] | None:
    """The (stream, record) a connector's message carries: a Singer ``RECORD`` message
    (``{"type": "RECORD", "stream": ..., "record": {...}}``), an Airbyte protocol message
    (``{"type": "RECORD", "record": {"stream": ..., "data": {...}}}``) or an Airbyte record
    line (``{"stream": ..., "data": {...}}``); None for any other value."""
    if not isinstance(message, dict):
        return None
    if message.get("type") == "RECORD":
        inner = message.get("record")
        if isinstance(inner, dict) and "data" in inner and isinstance(inner.get("stream"), str):
            return inner["stream"], inner["data"]  # Airbyte protocol
        if isinstance(message.get("stream"), str) and "record" in message:
            return message["stream"], inner  # Singer
    if isinstance(message.get("stream"), str) and "data" in message:
        return message["stream"], message["data"]  # Airbyte record line
    return None


# Singer and Airbyte message types that carry no record (`type` of a message line).
CONTROL_MESSAGE_TYPES: frozenset[str] = frozenset(
    {
        "SCHEMA",
        "STATE",
        "ACTIVATE_VERSION",
        "BATCH",
        "LOG",
        "TRACE",
        "SPEC",
        "CATALOG",
        "CONNECTION_STATUS",
        "CONTROL",
    }
)


def is_control_message(message: Any) -> bool:
    """A Singer or Airbyte message that carries no record (SCHEMA, STATE, LOG...)."""
    return isinstance(message, dict) and message.get("type") in CONTROL_MESSAGE_TYPES
