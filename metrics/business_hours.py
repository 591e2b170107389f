"""Business hours: a weekly schedule in a time zone, with holidays.

Where a source gives no ``first_reply_business_minutes``, business-hours TTA counts only the
minutes of ticket life that fall inside the schedule's open intervals. The intervals are
built here, in Python with the IANA time zone database (so a daylight-saving change moves
the UTC times of 09:00 as it moves the clocks), and handed to the warehouse as a small table
of naive UTC [start, end) pairs; the warehouse sums each ticket's overlap with them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from data_contracts.options import time_zone_names
from data_contracts.times import to_naive_utc

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_TEXT = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

# One opening of a day: minutes after local midnight, [start, end).
Opening = tuple[int, int]


class ScheduleError(ValueError):
    """A schedule setting that cannot be used; the message says what was expected."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (a zone of the database's list, such as Europe/Berlin:
    not a file name like ``localtime`` or ``posixrules``, which warehouses do not know);
    ScheduleError otherwise."""
    if not isinstance(name, str) or name not in time_zone_names():
        raise ScheduleError(
            f"{name!r} is not an IANA time zone name (such as UTC or Europe/Berlin)"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{name!r} is not an IANA time zone name (such as UTC or Europe/Berlin)"
        ) from None


def parse_openings(value: str | list[str]) -> tuple[Opening, ...]:
    """``"09:00-17:00"`` or a list of such ranges (``[]`` or ``""``: closed all day)."""
    if not isinstance(value, str | list):
        raise ScheduleError(f'{value!r} is not a range of hours such as "09:00-17:00"')
    texts = [value] if isinstance(value, str) else value
    openings = []
    for text in texts:
        if not isinstance(text, str):
            raise ScheduleError(f'{text!r} is not a range of hours such as "09:00-17:00"')
        if not text.strip():
            continue
        match = HOURS_TEXT.match(text.strip())
        if match is None:
            raise ScheduleError(f'{text!r} is not a range of hours such as "09:00-17:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= end or end > 24 * 60:
            raise ScheduleError(f"{text!r} must go forward within one day (00:00 to 24:00)")
        openings.append((start, end))
    openings.sort()
    for (_, end), (start, _) in zip(openings, openings[1:], strict=False):
        if start < end:
            raise ScheduleError(f"the ranges {value!r} overlap")
    return tuple(openings)


@dataclass(frozen=True)
class Schedule:
    """Open hours per weekday (Monday first) in ``timezone``, closed on ``holidays``."""

    timezone: str
    week: tuple[tuple[Opening, ...], ...]  # seven days, Monday first
    holidays: frozenset[dt.date] = frozenset()

    @classmethod
    def from_settings(
        cls, timezone: str, hours: dict[str, str | list[str]], holidays: list[str]
    ) -> Schedule:
        zone(timezone)
        unknown = set(hours) - set(WEEKDAYS)
        if unknown:
            raise ScheduleError(
                f"unknown weekday {sorted(unknown)[0]!r} (use {', '.join(WEEKDAYS)})"
            )
        week = tuple(parse_openings(hours.get(day, [])) for day in WEEKDAYS)
        days = set()
        for text in holidays:
            try:
                days.add(dt.date.fromisoformat(text))
            except (TypeError, ValueError):
                raise ScheduleError(f"holiday {text!r} is not a date such as 2026-12-25") from None
        return cls(timezone, week, frozenset(days))

    def intervals(
        self, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """Open intervals as naive UTC [start, end) pairs, for every local day that touches
        the naive UTC span [start, end]."""
        tz = zone(self.timezone)
        utc = dt.UTC
        first = start.replace(tzinfo=utc).astimezone(tz).date() - dt.timedelta(days=1)
        last = end.replace(tzinfo=utc).astimezone(tz).date() + dt.timedelta(days=1)
        found = []
        day = first
        while day <= last:
            if day not in self.holidays:
                for open_minute, close_minute in self.week[day.weekday()]:
                    found.append(
                        (self._utc(day, open_minute, tz), self._utc(day, close_minute, tz))
                    )
            day += dt.timedelta(days=1)
        return found

    @staticmethod
    def _utc(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
        if minute == 24 * 60:
            day, minute = day + dt.timedelta(days=1), 0
        local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=tz)
        return to_naive_utc(local)
