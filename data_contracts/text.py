"""Text every warehouse can store, the same on DuckDB and PostgreSQL (docs/loading.md, "Text
a warehouse cannot store").

Two things a file can carry that are not storable text:
- a NUL character (``\\u0000`` in JSON, a zero byte in a CSV): DuckDB keeps it, PostgreSQL
  refuses any text that holds one, so a row with one is quarantined on both;
- a lone surrogate (``\\ud83d`` in JSON without the escape of its other half, as a tool that
  cuts text in UTF-16 units leaves an emoji): half of a character, which no encoding writes,
  so neither polars nor a warehouse can hold it.
"""

from __future__ import annotations

import re
from typing import Any

NUL = "\x00"
NUL_REASON = "contains a NUL character, which PostgreSQL cannot store"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, a surrogate is always alone
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def lone_surrogate_reason(field: str, surrogate: str) -> str:
    """Why a record is quarantined: ``tags: holds \\ud83d, half of ...``."""
    return (
        f"{field}: holds {escaped(surrogate)}, half of a UTF-16 surrogate pair, which is not text"
    )


def escaped(character: str) -> str:
    """A character as its JSON escape, ``\\ud83d``."""
    return f"\\u{ord(character):04x}"


def storable(text: str) -> str:
    """``text`` with every NUL and lone surrogate written as its JSON escape, so that a
    quarantined record or a reason quoting a value can be stored and printed."""
    if text.isascii() and NUL not in text:  # the common case, at no cost
        return text
    return _UNSTORABLE.sub(lambda found: escaped(found.group()), text)


def lone_surrogate_in(value: Any, field: str = "") -> tuple[str, str] | None:
    """(field, surrogate) of the first text in ``value`` (a row, or a JSON value) holding a
    lone surrogate; a nested field is named by its path (``person.email``), a list's items
    by the list's name. None when every text is whole."""
    if isinstance(value, str):
        found = None if value.isascii() else LONE_SURROGATE.search(value)
        return (field, found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{key}" if field else str(key)
            found = lone_surrogate_in(key, name) or lone_surrogate_in(item, name)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            if found := lone_surrogate_in(item, field):
                return found
    return None
