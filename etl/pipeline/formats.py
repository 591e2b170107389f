"""Export formats, their detection from content, and the interface a reader plugs into.

Each reader module exposes ``FORMATS``: a list of :class:`Format`. A file is read by the
first format whose ``sniff`` accepts the start of its text; a file no format accepts is
refused whole, with a message that lists every format Turnaround reads.

A reader hands the loader canonical rows in batches (``batches``): each batch is a
:class:`~etl.pipeline.frames.ReadResult` with its frames, its rejected records and a lookup of their
raw text, row numbers running on across the batches of a file. A reader that can stream
gives ``read_batches`` (the canonical CSV does, a block of whole records at a time, reading
the file once); one that cannot gives only ``read``, which returns the file as one batch.
The loader checks, stages and counts each batch before it asks for the next, so a file's
rows are never all in memory at once.
"""

from __future__ import annotations

import codecs
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from data_contracts.text import LONE_SURROGATE, escaped
from etl.pipeline.frames import ReadContext, ReadResult, UnreadableFile

SNIFF_BYTES = 64 * 1024

READER_MODULES = (
    "etl.sources.canonical_csv",
    "etl.sources.canonical_names",
    "etl.sources.zendesk",
    "etl.sources.delighted",
    "etl.sources.freshdesk",
    "etl.sources.zendesk.explore",
    "etl.sources.qualtrics",
    "etl.sources.delighted.csv_export",
    "etl.sources.spreadsheets",
)


@dataclass(frozen=True)
class Format:
    name: str  # e.g. "zendesk_json"
    description: str  # one line, shown to users when a file matches no format
    sniff: Callable[[str], bool]  # the first SNIFF_BYTES of the file, decoded as text
    read: Callable[[Path, ReadContext], ReadResult]
    # Where a file is almost this format, what is wrong with it ("lacks column status").
    near_miss: Callable[[str], str | None] | None = None
    # The file as a stream of batches (a reader that can stream); else ``read`` is one batch.
    read_batches: Callable[[Path, ReadContext], Iterator[ReadResult]] | None = None
    # For a binary format (an .xlsx workbook): accepts the first SNIFF_BYTES as bytes, and
    # is asked before the file is decoded as text.
    sniff_bytes: Callable[[bytes], bool] | None = None


def batches(fmt: Format, path: Path, ctx: ReadContext) -> Iterator[ReadResult]:
    """The batches of canonical rows ``fmt`` reads from ``path``."""
    if fmt.read_batches is not None:
        yield from fmt.read_batches(path, ctx)
    else:
        yield fmt.read(path, ctx)


def whole_file(
    read_batches: Callable[[Path, ReadContext], Iterator[ReadResult]],
) -> Callable[[Path, ReadContext], ReadResult]:
    """A streaming reader's ``read``: the whole file as one ReadResult, its batches joined."""

    def read(path: Path, ctx: ReadContext) -> ReadResult:
        return ReadResult.combine(list(read_batches(path, ctx)))

    return read


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
    try:
        with path.open("rb") as file:
            start = file.read(2)
    except OSError:
        start = b""
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and "16" not in encoding:
        hint = (
            "it starts with a UTF-16 byte-order mark (Excel's Unicode text): load it with "
            "--encoding utf-16"
        )
        encoding = codecs.lookup(encoding).name.upper()
    elif codecs.lookup(encoding).name == "utf-8":
        hint = "a file re-saved by Excel is often cp1252: load it with --encoding cp1252"
        encoding = "UTF-8"
    else:
        hint = "check --encoding: the file is in another encoding"
    return UnreadableFile(
        str(path), f"is not {encoding} text (byte 0x{byte} does not decode); {hint}", expected
    )


@contextmanager
def refused_if_unreadable(path: Path, encoding: str, expected: list[str]) -> Iterator[None]:
    """Inside, a decode or I/O error while reading ``path`` refuses the file whole, naming
    the option that reads it where there is one."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise not_text(path, exc, encoding, expected) from None
    except OSError as exc:
        raise UnreadableFile(str(path), f"cannot be read ({exc.strerror})", expected) from None


def refuse_lone_surrogate(
    path: Path, text: str, encoding: str, expected: list[str], lines_before: int = 0
) -> None:
    """Raise UnreadableFile when ``text``, decoded from ``path``, holds a lone surrogate (half
    a UTF-16 pair, which UTF-7 and the unicode_escape codecs can decode to): such a file is
    not text in ``encoding``, as one with a byte that does not decode is not."""
    half = None if text.isascii() else LONE_SURROGATE.search(text)
    if half is None:
        return
    line = lines_before + text.count("\n", 0, half.start()) + 1
    raise UnreadableFile(
        str(path),
        f"is not {codecs.lookup(encoding).name.upper()} text (line {line} decodes to "
        f"{escaped(half.group())}, half of a UTF-16 surrogate pair); check --encoding",
        expected,
    )


BLOCK_READ_BYTES = 4 << 20


def record_blocks(
    path: Path, encoding: str, batch_bytes: int, expected: list[str]
) -> Iterator[tuple[str, str]]:
    """A CSV file as (header line, whole records) blocks of about ``batch_bytes`` of text,
    decoded as it is read (a byte-order mark dropped, a character cut between two reads
    joined). A record ends at a line break outside quotes, so a quoted value with line breaks
    stays in one block. The header-only file gives one block with no records; text that
    decodes to a lone surrogate refuses the file (``refuse_lone_surrogate``)."""
    decoder = codecs.getincrementaldecoder(python_encoding(encoding))()
    header: str | None = None
    carry = ""
    lines = 0  # line breaks decoded so far, to name the line of a lone surrogate
    with refused_if_unreadable(path, encoding, expected), path.open("rb") as file:
        while True:
            raw = file.read(BLOCK_READ_BYTES)
            decoded = decoder.decode(raw, final=not raw)
            refuse_lone_surrogate(path, decoded, encoding, expected, lines)
            lines += decoded.count("\n")
            carry += decoded
            if header is None:
                end = _first_record_end(carry)
                if end < 0 and raw:
                    continue
                header, carry = (carry, "") if end < 0 else (carry[:end], carry[end:])
            if not raw:
                yield header, carry
                return
            while len(carry) >= batch_bytes:
                cut = _record_end_after(carry, batch_bytes)
                if cut < 0:
                    break
                yield header, carry[:cut]
                carry = carry[cut:]


def _first_record_end(text: str) -> int:
    """The index after the line break that ends the first record, or -1."""
    pos = text.find("\n")
    while pos >= 0 and text.count('"', 0, pos) % 2:
        pos = text.find("\n", pos + 1)
    return pos + 1 if pos >= 0 else -1


def _record_end_after(text: str, start: int) -> int:
    """The index after the first line break at or after ``start`` that is outside quotes
    (``text`` starts a record), or -1 when there is none yet."""
    pos = text.find("\n", max(start - 1, 0))
    quotes = text.count('"', 0, max(pos, 0))
    while pos >= 0 and quotes % 2:
        following = text.find("\n", pos + 1)
        if following < 0:
            return -1
        quotes += text.count('"', pos, following)
        pos = following
    return pos + 1 if pos >= 0 else -1


def head_text(path: Path, encoding: str = "utf-8") -> str:
    """The start of a file as text; raises UnreadableFile for binary or missing files."""
    try:
        if path.is_file():
            with path.open("rb") as file:  # the start only: a file may be gigabytes
                raw = file.read(SNIFF_BYTES)
        else:
            raw = None
    except OSError as exc:
        raise UnreadableFile(str(path), f"cannot be opened ({exc.strerror})", expected()) from None
    if raw is None:
        raise UnreadableFile(str(path), "is not a file", expected())
    codec = python_encoding(encoding)
    try:
        head = raw.decode(codec)
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end is not an error.
        if len(raw) == SNIFF_BYTES and exc.start >= len(raw) - 3:
            head = raw[: exc.start].decode(codec)
        else:
            raise not_text(path, exc, encoding, expected()) from None
    if not head.isascii():
        refuse_lone_surrogate(path, head, encoding, expected())
    return head


def expected() -> list[str]:
    return [f.description for f in all_formats()]


def detect(path: Path, encoding: str = "utf-8") -> Format:
    """The format of ``path``, judged from its content."""
    formats = all_formats()
    binary = [fmt for fmt in formats if fmt.sniff_bytes is not None]
    if binary and path.is_file():
        try:
            with path.open("rb") as file:
                raw = file.read(SNIFF_BYTES)
        except OSError:
            raw = b""  # head_text below says why the file cannot be read
        for fmt in binary:
            if fmt.sniff_bytes(raw):
                return fmt
    head = head_text(path, encoding)
    if not head.strip():
        raise UnreadableFile(str(path), "is empty", expected())
    for fmt in formats:
        if fmt.sniff(head):
            return fmt
    near = [why for fmt in formats if fmt.near_miss and (why := fmt.near_miss(head))]
    problem = "matches no export format Turnaround reads"
    if near:
        problem += ": " + "; ".join(near)
    raise UnreadableFile(str(path), problem, expected())
