"""The plausible range of event times: a row with a time outside it fails its contract.

A far date (9999-12-31, 0001-01-01) is a placeholder or a typo, never an event, and one such
row would become the metrics' as_of. The range runs from ``earliest`` to ``latest``, both
included; by default from 1970-01-01 to one day after the load's start (a source clock a
little ahead, or a zone mistake, stays in). A timestamp column its contract marks
``future_allowed`` (churned_at: a contract's scheduled end) is checked against the start only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

EARLIEST = dt.date(1970, 1, 1)
AHEAD_DAYS = 1.0
# How a timestamp is written in a reason; polars writes year 1 as 0001 (Python's strftime: 1).
TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S"


def as_text(ts: dt.datetime) -> str:
    """``0001-01-01 00:00:00``: a timestamp as reasons write it, zero-padded at any year."""
    return ts.isoformat(sep=" ", timespec="seconds")


@dataclass(frozen=True)
class TimeRange:
    """Event times from ``earliest`` to ``latest`` (naive UTC), both included."""

    earliest: dt.datetime
    latest: dt.datetime

    @classmethod
    def after(
        cls, start: dt.datetime, earliest: dt.date = EARLIEST, ahead_days: float = AHEAD_DAYS
    ) -> TimeRange:
        """From ``earliest`` to ``ahead_days`` after ``start`` (a load's start, naive UTC)."""
        return cls(dt.datetime.combine(earliest, dt.time()), start + dt.timedelta(days=ahead_days))

    def text(self) -> str:
        return f"{as_text(self.earliest)} to {as_text(self.latest)}"

    def outside(self, value: pl.Expr, future_allowed: bool = False) -> pl.Expr:
        """True where ``value`` is outside the range (null where it is missing)."""
        if future_allowed:
            return value < self.earliest
        return (value < self.earliest) | (value > self.latest)

    def reason(self, column: str, future_allowed: bool = False) -> pl.Expr:
        """Why a row's ``column`` failed, naming its value and the range."""
        shown = pl.col(column).dt.to_string(TIMESTAMP_TEXT)
        if future_allowed:
            return pl.format(
                f"{column}: {{}} is before {as_text(self.earliest)}, the earliest plausible time",
                shown,
            )
        return pl.format(f"{column}: {{}} is outside the plausible range {self.text()}", shown)

    def description(self, column: str, future_allowed: bool = False) -> str:
        if future_allowed:
            return f"{column} is not before {as_text(self.earliest)}"
        return f"{column} is from {self.text()}"
