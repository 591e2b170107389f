"""UTC times as the canonical tables keep them: naive datetimes that are always UTC.

Every layer converts, parses and writes times through these helpers (docs/contract.md,
Canonical tables: a timestamp is stored without a zone, always UTC). They live in the lowest
layer, which the command line imports at start-up anyway, so using them costs no import.
"""

from __future__ import annotations

import datetime as dt
import time

# Whole UTC seconds with a Z (2026-12-01T02:00:03Z): log lines, a lock holder's start, the
# demo exports, and the shape of export timestamps the readers parse first.
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> dt.datetime:
    """The current time as a naive UTC datetime."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def to_naive_utc(ts: dt.datetime) -> dt.datetime:
    """``ts`` as a naive UTC datetime (naive input is already UTC)."""
    if ts.tzinfo is None:
        return ts
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


def parse_utc(text: str) -> dt.datetime:
    """ISO 8601 text as a naive UTC datetime: ``Z`` or an offset is converted to UTC, a time
    without one is UTC. Raises ValueError for text that is not ISO 8601."""
    return to_naive_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def isoformat_utc(ts: dt.datetime | None) -> str | None:
    """``2024-05-01T12:00:00Z`` for a naive UTC datetime; None stays None."""
    return None if ts is None else ts.isoformat() + "Z"


def utc_text(seconds: float | None = None) -> str:
    """``2026-12-01T02:00:03Z``: seconds since the epoch (default: now) in whole UTC seconds."""
    return time.strftime(ISO_Z, time.gmtime(seconds))
