"""What a message may echo of a file: its name and its text on one line, and not too much.

A file's name and its content are anyone's text. A log line or run message that quotes them
escapes control characters, so a newline in a name cannot start a line of its own, and clips
long ones, so a 64 KB header is not copied into a message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from data_contracts.text import storable

ECHO_CHARS = 100  # of one name or value quoted in a message
ECHO_ITEMS = 10  # names or values listed in one message
PROBLEM_CHARS = 1_000  # of a whole refusal's problem

# C0 and C1 control characters, DEL, Unicode's line and paragraph separators, and lone
# surrogates (what Python makes of a file name's bytes that are not UTF-8: no terminal or
# log file can take them).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` with each control character escaped as Python writes it (``\\n``, ``\\x1b``,
    ``\\udce9``)."""
    return _CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


def path_text(path: Path | str) -> str:
    """A file's path as the warehouse stores it (``source_file``, ``loaded_files``, a run's
    files): a name's bytes that are not UTF-8 (Linux allows any; Python holds them as lone
    surrogates) written as their escapes, ``nps_\\udce9t\\udce9.csv``."""
    return storable(str(path))


def clipped(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` up to ``limit`` characters; past them, an ellipsis and how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def echoed(text: str, limit: int = ECHO_CHARS) -> str:
    """A name or value from a file, as a message may quote it: one line, clipped."""
    return clipped(one_line(text), limit)


def listed(items: Sequence[str], limit: int = ECHO_ITEMS) -> str:
    """``a, b, c`` of the first ``limit`` items, each echoed, and ``and N more`` of the rest."""
    shown = ", ".join(echoed(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")
