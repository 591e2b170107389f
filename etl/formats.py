"""Export formats and their detection from content.

Each reader module exposes ``FORMATS``: a list of :class:`Format`. A file is read by the
first format whose ``sniff`` accepts the start of its text; a file no format accepts is
refused whole, with a message that lists every format Turnaround reads.
"""

from __future__ import annotations

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
    sniff: Callable[[str], bool]  # the first SNIFF_BYTES of the file, decoded as UTF-8
    read: Callable[[Path, ReadContext], ReadResult]


def all_formats() -> list[Format]:
    formats: list[Format] = []
    for module in READER_MODULES:
        formats.extend(importlib.import_module(module).FORMATS)
    return formats


def head_text(path: Path) -> str:
    """The start of a file as text; raises UnreadableFile for binary or missing files."""
    try:
        raw = path.read_bytes()[:SNIFF_BYTES] if path.is_file() else None
    except OSError as exc:
        raise UnreadableFile(str(path), f"cannot be opened ({exc.strerror})", expected()) from None
    if raw is None:
        raise UnreadableFile(str(path), "is not a file", expected())
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the end is not an error.
        try:
            return raw[:-3].decode("utf-8-sig") if len(raw) == SNIFF_BYTES else raw.decode()
        except UnicodeDecodeError:
            raise UnreadableFile(str(path), "is not UTF-8 text", expected()) from None


def expected() -> list[str]:
    return [f.description for f in all_formats()]


def detect(path: Path) -> Format:
    """The format of ``path``, judged from its content."""
    head = head_text(path)
    if not head.strip():
        raise UnreadableFile(str(path), "is empty", expected())
    for fmt in all_formats():
        if fmt.sniff(head):
            return fmt
    raise UnreadableFile(str(path), "matches no export format Turnaround reads", expected())
