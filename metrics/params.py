"""Metric parameters and the points in time every metric is measured at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from data_contracts.options import (
    BEFORE_2026_12,
    COUNTS,
    CURRENT_DEFINITIONS,
    DEFINITIONS,
    ONE_TOUCH_PRESETS,
    Count,
    Definitions,
    OneTouch,
)
from data_contracts.recovery_rules import LOOKBACK_DAYS
from data_contracts.times import to_naive_utc
from metrics.business_hours import Schedule
from metrics.periods import MICROSECOND, local_date, local_midnight, shift

DEFAULT_FAILURE_TAGS: tuple[str, ...] = (
    "complaint",
    "outage",
    "bug",
    "defect",
    "wrong_item",
    "late_delivery",
    "billing_error",
)
NPS_WINDOW_DAYS = 365
ATTRITION_WINDOW_DAYS = 365


@dataclass(frozen=True)
class MetricParams:
    """The configurable numbers of the metric definitions (docs/metrics.md, Settings).

    ``as_of`` None means the latest timestamp in the warehouse; an aware datetime is
    converted to UTC (the warehouse stores naive UTC).
    """

    as_of: dt.datetime | None = None
    horizon_days: int = 90
    target_minutes: float = 60
    failure_tags: tuple[str, ...] = DEFAULT_FAILURE_TAGS
    one_touch: OneTouch = "explore"
    recovery_window_hours: float = 24
    reporting_timezone: str = "UTC"  # calendar days, weeks, months of periods and cohorts
    product_area_prefix: str = "area_"  # tags that name a ticket's product area
    min_group_size: int = 30  # a sliced group with fewer tickets or customers is "small"
    schedule: Schedule | None = None  # business hours, where sources give no business TTA
    count: Count = "tickets"  # what recovery_rate and time to recover count
    episode_window_days: float = 7  # failures this close to the one before are one episode
    proactive_tags: tuple[str, ...] = ("proactive",)  # failures the company reported first
    close_the_loop_hours: float = 48  # a detractor contacted within this is closed in time
    definitions: Definitions = CURRENT_DEFINITIONS  # docs/definitions.md
    lookback_days: int = LOOKBACK_DAYS  # failures that group a customer at t: (t - this, t]
    maturity_days: float | None = None  # a period is complete this long after its end
    currency: str = "USD"  # the currency of MRR and compensation, for money shown
    pseudonymise_agents: bool = False  # agents shown by pseudonym, never by name

    def __post_init__(self) -> None:
        # The CLI, the config and the dashboard offer only these; a caller of the Python API
        # gets the same one-line answer instead of a KeyError deep in a query.
        if self.one_touch not in ONE_TOUCH_PRESETS:
            raise ValueError(
                f"one_touch must be one of {', '.join(ONE_TOUCH_PRESETS)}, not {self.one_touch!r}"
            )
        if self.definitions not in DEFINITIONS:
            raise ValueError(
                f"definitions must be one of {', '.join(DEFINITIONS)}, not {self.definitions!r}"
            )
        if self.count not in COUNTS:
            raise ValueError(f"count must be one of {', '.join(COUNTS)}, not {self.count!r}")


@dataclass(frozen=True)
class TimePoints:
    """The instants one metric run looks at, all naive UTC, computed once in Python and
    passed to SQL as bound parameters."""

    as_of: dt.datetime
    retention_start: dt.datetime  # t0 = as_of - H
    retention_end: dt.datetime  # t0 + H
    nps_start: dt.datetime  # NPS counts responses in (nps_start, as_of]
    attrition_start: dt.datetime  # attrition counts churn in (attrition_start, as_of]
    month_start: dt.datetime  # start of as_of's calendar month (reporting time zone)
    # monthly_attrition_rate counts churn in (attrition_month_start, attrition_month_end]
    attrition_month_start: dt.datetime
    attrition_month_end: dt.datetime

    @classmethod
    def at(cls, as_of: dt.datetime, params: MetricParams) -> TimePoints:
        as_of = to_naive_utc(as_of)
        horizon = dt.timedelta(days=params.horizon_days)
        retention_start = as_of - horizon
        measured = attrition_month(as_of, as_of, params)
        return cls(
            as_of=as_of,
            retention_start=retention_start,
            retention_end=retention_start + horizon,
            nps_start=as_of - dt.timedelta(days=NPS_WINDOW_DAYS),
            attrition_start=as_of - dt.timedelta(days=ATTRITION_WINDOW_DAYS),
            month_start=month_start(as_of, params.reporting_timezone),
            attrition_month_start=measured[0],
            attrition_month_end=measured[1],
        )


def month_start(ts: dt.datetime, tz: str) -> dt.datetime:
    """The start of naive UTC ``ts``'s calendar month in ``tz``, as naive UTC."""
    return local_midnight(local_date(ts, tz).replace(day=1), tz)


def attrition_month(
    last: dt.datetime, end: dt.datetime, params: MetricParams
) -> tuple[dt.datetime, dt.datetime]:
    """The instants (start, end] in which ``monthly_attrition_rate`` counts churn, at a
    measuring point ``end`` whose last moment is ``last`` (``end`` itself, or a period's end
    less a microsecond), all naive UTC.

    Under the 2026-11 definitions: ``last``'s calendar month up to ``end`` (month to date).
    Otherwise the last full calendar month by ``last``: ``last``'s own month when ``last`` is
    its final microsecond (the end of a month, or ``--to`` its last day), else the month
    before; its end capped at ``end`` (a churn after the measuring point is not yet known).
    """
    tz = params.reporting_timezone
    first_day = local_date(last, tz).replace(day=1)
    start = local_midnight(first_day, tz)
    if params.definitions in BEFORE_2026_12:
        return start, end
    following = local_midnight(shift(first_day, "month"), tz)
    if last >= following - MICROSECOND:
        return start, min(following, end)
    return local_midnight(shift(first_day, "month", -1), tz), start
