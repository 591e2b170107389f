"""Export formats and their detection from content.

Each reader module exposes ``FORMATS``: a list of :class:`Format`. A file is read by the
first format whose ``sniff`` accepts the start of its text; a file no format accepts is
refused whole, with a message that lists every format Turnaround reads.
"""

from __future__ import annotations

import codecs
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from etl.frames import ReadContext, ReadResult, UnreadableFile

SNIFF_BYTES = 64 * 1024

READER_MODULES = ("etl.canonical_csv", "etl.zendesk", "etl.delighted")


@dataclass(frozen=True)
class Format:
    name: str  # e.g. "zendesk_json"
    description: str  # one line, shown to users when a file matches no format
    sniff: Callable[[str], bool]  # the first SNIFF_BYTES of the file, decoded as text
    read: Callable[[Path, ReadContext], ReadResult]
    # Where a file is almost this format, what is wrong with it ("lacks column status").
    near_miss: Callable[[str], str | None] | None = None


def all_formats() -> list[Format]:
    formats: list[Format] = []
    for module in READER_MODULES:
        formats.extend(importlib.import_module(module).FORMATS)
    return formats


def python_encoding(encoding: str) -> str:
    """The codec for a user's ``--encoding``; UTF-8 also drops a byte-order mark."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def not_text(path: Path, exc: UnicodeDecodeError, encoding: str, expected: list[str]):
    """The refusal of a file that does not decode, naming the option that reads it."""
    byte = exc.object[exc.start : exc.start + 1].hex()
    if codecs.lookup(encoding).name == "utf-8":
        hint = "a file re-saved by Excel is often cp1252: load it with --encoding cp1252"
        encoding = "UTF-8"
    else:
        hint = "check --encoding: the file is in another encoding"
    return UnreadableFile(
        str(path), f"is not {encoding} text (byte 0x{byte} does not decode); {hint}", expected
    )


def read_text(path: Path, encoding: str, expected: list[str]) -> str:
    """A whole file as text in ``encoding``, or UnreadableFile saying why not."""
    try:
        return path.read_text(encoding=python_encoding(encoding))
    except UnicodeDecodeError as exc:
        raise not_text(path, exc, encoding, expected) from None
    except OSError as exc:
        raise UnreadableFile(str(path), f"cannot be read ({exc.strerror})", expected) from None


def head_text(path: Path, encoding: str = "utf-8") -> str:
    """The start of a file as text; raises UnreadableFile for binary or missing files."""
    try:
        raw = path.read_bytes()[:SNIFF_BYTES] if path.is_file() else None
    except OSError as exc:
        raise UnreadableFile(str(path), f"cannot be opened ({exc.strerror})", expected()) from None
    if raw is None:
        raise UnreadableFile(str(path), "is not a file", expected())
    codec = python_encoding(encoding)
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end is not an error.
        if len(raw) == SNIFF_BYTES and exc.start >= len(raw) - 3:
            return raw[: exc.start].decode(codec)
        raise not_text(path, exc, encoding, expected()) from None


def expected() -> list[str]:
    return [f.description for f in all_formats()]


def detect(path: Path, encoding: str = "utf-8") -> Format:
    """The format of ``path``, judged from its content."""
    head = head_text(path, encoding)
    if not head.strip():
        raise UnreadableFile(str(path), "is empty", expected())
    formats = all_formats()
    for fmt in formats:
        if fmt.sniff(head):
            return fmt
    near = [why for fmt in formats if fmt.near_miss and (why := fmt.near_miss(head))]
    problem = "matches no export format Turnaround reads"
    if near:
        problem += ": " + "; ".join(near)
    raise UnreadableFile(str(path), problem, expected())
