"""Metric parameters and the points in time every metric is measured at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
    """The configurable numbers of PRODUCT.md's metric definitions.

    ``as_of`` None means the latest timestamp in the warehouse; an aware datetime is
    converted to UTC (the warehouse stores naive UTC).
    """

    as_of: dt.datetime | None = None
    horizon_days: int = 90
    target_minutes: float = 60
    failure_tags: tuple[str, ...] = DEFAULT_FAILURE_TAGS


def to_naive_utc(ts: dt.datetime) -> dt.datetime:
    """``ts`` as a naive UTC datetime (naive input is already UTC)."""
    if ts.tzinfo is None:
        return ts
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class TimePoints:
    """The instants one metric run looks at, all naive UTC, computed once in Python and
    passed to SQL as bound parameters."""

    as_of: dt.datetime
    retention_start: dt.datetime  # t0 = as_of - H
    retention_end: dt.datetime  # t0 + H
    nps_start: dt.datetime  # NPS counts responses in (nps_start, as_of]
    attrition_start: dt.datetime  # attrition counts churn in (attrition_start, as_of]

    @classmethod
    def at(cls, as_of: dt.datetime, params: MetricParams) -> TimePoints:
        as_of = to_naive_utc(as_of)
        horizon = dt.timedelta(days=params.horizon_days)
        retention_start = as_of - horizon
        return cls(
            as_of=as_of,
            retention_start=retention_start,
            retention_end=retention_start + horizon,
            nps_start=as_of - dt.timedelta(days=NPS_WINDOW_DAYS),
            attrition_start=as_of - dt.timedelta(days=ATTRITION_WINDOW_DAYS),
        )
