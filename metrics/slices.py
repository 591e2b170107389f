"""compute_slice: any KPIs of the catalog, by up to two dimensions, per calendar period,
for a filtered slice and a date range, computed in the warehouse.

The one query builder behind ``turnaround metrics`` (sliced or not) and the dashboard:
one query per fact set, whatever the number of KPIs, dimensions and periods. What a period
means per fact set is in docs/metrics.md ("Slices and periods"):
- ticket KPIs: tickets created in the period (in the range), measured at as_of;
- NPS: responses given in the period (in the range), responder's group at as_of;
- retention, attrition, customer failure rate: measured at the period's end (the next
  period's first instant, capped at as_of), with their usual look-back from there;
- ``--to D`` measures everything as of the end of local day D (when that is before the data's
  latest timestamp).
Customer-level KPIs have no value under a ticket dimension or filter (a customer may have
tickets in several channels): they are null there, and the result's ``notes`` says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from data_contracts.options import BEFORE_2026_12, GRAINS
from data_contracts.times import isoformat_utc
from metrics.as_of import resolve_as_of
from metrics.catalog import KPI_CATALOG
from metrics.dimensions import DIMENSIONS, Dimension, dimension_values, shown, stored
from metrics.facts import Scope, Window, has_history
from metrics.live import tickets
from metrics.maturity import is_complete, maturity_days
from metrics.names import Names, id_names, name_field, shown_name
from metrics.params import MetricParams, TimePoints, attrition_month, month_start
from metrics.periods import (
    DEFAULT_PERIODS,
    MICROSECOND,
    Period,
    floor,
    local_date,
    local_midnight,
    periods,
)
from metrics.periods import shift as shift_period
from metrics.queries import (
    CUSTOMER_FACT_SETS,
    Estimate,
    by_fact_set,
    measure_queries,
    read_estimates,
)

MAX_DIMENSIONS = 2
MAX_PERIODS = 1500  # about four years of days: a wider range wants a coarser grain
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9000, 12, 31)
BUSINESS_KPIS = (
    "business_tta_median_minutes",
    "business_tta_p90_minutes",
    "business_tta_within_target_pct",
)
NOT_BY_TICKET = (
    "a customer-level KPI has no single value per ticket {dims} (a customer may have tickets "
    "with several values); slice it by a customer dimension instead"
)


class SliceError(ValueError):
    """A slice that cannot be computed as asked (unknown dimension, bad value...)."""


@dataclass(frozen=True)
class SliceRequest:
    """What to compute: KPIs (empty: all), dimensions, grain, filters, a date range.

    ``start`` and ``end`` are local calendar days of the reporting time zone, both included.
    """

    kpis: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    grain: str | None = None
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def sliced(self) -> bool:
        return bool(self.by or self.grain)

    @property
    def narrowed(self) -> bool:
        return bool(self.where or self.start or self.end)

    def filters(self) -> dict:
        """The ``filters`` object of the JSON output."""
        return {
            "where": {name: list(values) for name, values in self.where},
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
        }


def parse_where(texts: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``["channel=chat,email", "plan=pro"]`` as (dimension, values) pairs; a dimension
    named twice keeps the values of both."""
    found: dict[str, list[str]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name or not parts:
            raise SliceError(f"--where takes DIMENSION=VALUE[,VALUE...], not {text!r}")
        found.setdefault(name, []).extend(parts)
    return tuple((name, tuple(dict.fromkeys(values))) for name, values in found.items())


SHOWN_VALUES = 20  # a refusal names at most this many allowed values


def plural(label: str) -> str:
    """A dimension's label as a plural noun: "plans", "priorities"."""
    word = label.lower()
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


def not_in_data(name: str, value: str, known: list[str] | tuple[str, ...]) -> str:
    """Why ``value`` cannot filter dimension ``name``: "'platinum' is not a plan in this
    data; plans are basic, pro" (the first SHOWN_VALUES values, then how many in all)."""
    dim = DIMENSIONS[name]
    noun = dim.label.lower()
    if not known:
        return f"{value!r} is not a {noun} in this data; it has no {plural(dim.label)}"
    shown_values = ", ".join(known[:SHOWN_VALUES])
    if len(known) > SHOWN_VALUES:
        shown_values += f", … ({len(known):,} in all)"
    return f"{value!r} is not a {noun} in this data; {plural(dim.label)} are {shown_values}"


def check_where_in_data(
    engine: sa.Engine,
    params: MetricParams,
    where: tuple[tuple[str, tuple[str, ...]], ...],
) -> None:
    """SliceError naming the allowed values when a ``--where`` value of a dimension without
    a closed set (plan, group, region...) is not in the warehouse: a typo would otherwise
    give an empty slice that reads like a real one. Closed sets are checked by ``validate``."""
    open_names = tuple(
        name for name, _ in where if name in DIMENSIONS and DIMENSIONS[name].values is None
    )
    if not open_names:
        return
    known = dimension_values(engine, tuple(dict.fromkeys(open_names)), params)
    for name, values in where:
        for value in values:
            if name in known and value not in known[name]:
                raise SliceError(f"--where {name}: {not_in_data(name, value, known[name])}")


def _dimension(name: str, option: str) -> Dimension:
    if name not in DIMENSIONS:
        raise SliceError(f"{option}: unknown dimension {name!r}; known: {', '.join(DIMENSIONS)}")
    return DIMENSIONS[name]


def _checked_values(dim: Dimension, values: tuple[str, ...]) -> tuple:
    if dim.values is not None:
        unknown = [v for v in values if v not in dim.values]
        if unknown:
            raise SliceError(
                f"--where {dim.name}: {unknown[0]!r} is not one of {', '.join(dim.values)}"
            )
    try:
        return tuple(stored(dim, v) for v in values)
    except ValueError:
        raise SliceError(f"--where {dim.name}: values are months such as 2024-05") from None


def validate(
    request: SliceRequest, max_dimensions: int = MAX_DIMENSIONS
) -> tuple[list[str], tuple[Dimension, ...], tuple]:
    """The KPI names, dimensions and filters of ``request``; SliceError when it is wrong."""
    unknown = [k for k in request.kpis if k not in KPI_CATALOG]
    if unknown:
        raise SliceError(f"unknown KPI {unknown[0]!r}; known: {', '.join(KPI_CATALOG)}")
    if len(request.by) > max_dimensions:
        raise SliceError(f"--by takes at most {max_dimensions} dimensions")
    if len(set(request.by)) != len(request.by):
        raise SliceError("--by names the same dimension twice")
    dims = tuple(_dimension(name, "--by") for name in request.by)
    if request.grain is not None and request.grain not in GRAINS:
        raise SliceError(f"--grain must be one of {', '.join(GRAINS)}, not {request.grain!r}")
    filters = tuple(
        (dim, _checked_values(dim, values))
        for dim, values in ((_dimension(name, "--where"), values) for name, values in request.where)
    )
    if request.start and request.end and request.start > request.end:
        raise SliceError(f"--from {request.start} is after --to {request.end}")
    for option, day in (("--from", request.start), ("--to", request.end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise SliceError(f"{option} must be a day from {FIRST_DAY} to {LAST_DAY}, not {day}")
    names = list(dict.fromkeys(request.kpis)) or list(KPI_CATALOG)
    ticket_dims = [d.name for d in (*dims, *(d for d, _ in filters)) if d.level == "ticket"]
    if (
        ticket_dims
        and request.kpis
        and all(KPI_CATALOG[name].measure.facts in CUSTOMER_FACT_SETS for name in names)
    ):
        raise SliceError(NOT_BY_TICKET.format(dims=" or ".join(ticket_dims)))
    return names, dims, filters


def _windows(spans: list[Period], as_of: dt.datetime, params: MetricParams):
    """One measuring point per period: its end (the next period's first instant, so a churn
    at exactly midnight counts in the period it ends), capped at as_of. Under the current
    definitions a period's monthly attrition is the last full month that ends inside it; a
    period in which no month ends (a month not yet over, most weeks and days) has none
    (``month_start`` None: no customer is counted)."""
    windows = []
    for period in spans:
        end = min(period.end, as_of)
        # The period's last moment (end itself may be the next month's first).
        last = min(period.end - MICROSECOND, as_of)
        measured_start, measured_end = attrition_month(last, end, params)
        if params.definitions not in BEFORE_2026_12 and measured_end <= period.start:
            measured_start = None  # the month ended before the period began
        windows.append(
            Window(
                period.first_day,
                end,
                end - dt.timedelta(days=params.horizon_days),
                end - dt.timedelta(days=365),
                measured_start,
                measured_end,
                month_start(last, params.reporting_timezone),
            )
        )
    return tuple(windows)


def _day(value) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def date_range(
    as_of: dt.datetime, params: MetricParams, request: SliceRequest
) -> tuple[dt.datetime, dt.datetime | None]:
    """The measuring instant and the first instant of ``request``'s --from/--to range: the
    end of local day --to (when before ``as_of``), midnight of local day --from (or None)."""
    tz = params.reporting_timezone
    if request.end is not None:
        as_of = min(as_of, local_midnight(request.end + dt.timedelta(days=1), tz) - MICROSECOND)
    since = None if request.start is None else local_midnight(request.start, tz)
    return as_of, since


@dataclass
class SlicedRow:
    """One group of a slice: its dimension values, its period and every KPI's estimate.
    ``period_end`` is the period's end (the next period's first instant, naive UTC), or the
    measuring instant as_of for a row without a grain."""

    values: tuple
    period_start: dt.date | None
    estimates: dict[str, Estimate]
    period_end: dt.datetime | None = None


@dataclass(frozen=True)
class Planned:
    """What a slice measures: its KPIs, dimensions, periods, time points and fact scope."""

    as_of: dt.datetime
    names: list[str]
    dims: tuple[Dimension, ...]
    spans: list[Period]
    points: TimePoints
    scope: Scope


def plan_slice(
    conn: sa.Connection,
    as_of: dt.datetime,
    params: MetricParams,
    request: SliceRequest,
    max_dimensions: int = MAX_DIMENSIONS,
) -> Planned:
    """The measuring instant, periods and fact scope of ``request`` (no period when its
    --from is after the data's latest day): what slice_estimates queries."""
    names, dims, filters = validate(request, max_dimensions)
    tz = params.reporting_timezone
    as_of, since = date_range(as_of, params, request)
    spans: list[Period] = []
    if request.grain:
        last = local_date(as_of, tz)
        if request.start is not None:
            first = request.start
        else:
            count = DEFAULT_PERIODS[request.grain] - 1
            first = shift_period(floor(last, request.grain), request.grain, -count)
        spans = periods(first, last, request.grain, tz)
        if len(spans) > MAX_PERIODS:
            raise SliceError(
                f"{len(spans):,} {request.grain}s from {first} on: at most {MAX_PERIODS:,} "
                "periods; give a later --from or a coarser --grain"
            )
        if not spans:  # --from after the data's latest day: no period to show
            return Planned(as_of, names, dims, [], TimePoints.at(as_of, params), Scope())
        since = max(since, spans[0].start) if since is not None else spans[0].start
    scope = Scope(
        dims=dims,
        filters=filters,
        grain=request.grain,
        since=since,
        windows=_windows(spans, as_of, params) if spans else (),
        business_intervals=_business_intervals(conn, params, names, since, as_of),
        scheduled=params.schedule is not None,
        history=has_history(conn),
    )
    return Planned(as_of, names, dims, spans, TimePoints.at(as_of, params), scope)


def slice_estimates(
    conn: sa.Connection,
    as_of: dt.datetime,
    params: MetricParams,
    request: SliceRequest,
    max_dimensions: int = MAX_DIMENSIONS,
) -> tuple[dt.datetime, list[SlicedRow], dict[str, str]]:
    """The measuring instant, the rows of the slice (ordered by dimension values, then
    period) and notes on KPIs left null, for a warehouse with data up to ``as_of``.
    ``max_dimensions`` lets the paradox's matching slice by more dimensions than --by."""
    planned = plan_slice(conn, as_of, params, request, max_dimensions)
    as_of, names, dims, spans = planned.as_of, planned.names, planned.dims, planned.spans
    points, scope = planned.points, planned.scope
    if request.grain and not spans:  # --from after the data's latest day: no period to show
        return as_of, [], {}
    measures = {name: KPI_CATALOG[name].measure for name in names}
    notes: dict[str, str] = {}
    ticket_dims = [d.name for d in scope.used() if d.level == "ticket"]
    rows: dict[tuple, SlicedRow] = {}
    if request.grain and not dims:
        for period in spans:
            rows[((), period.first_day)] = SlicedRow((), period.first_day, {})
    for facts, group in by_fact_set(measures).items():
        if facts in CUSTOMER_FACT_SETS and ticket_dims:
            reason = NOT_BY_TICKET.format(dims=" or ".join(ticket_dims))
            notes |= dict.fromkeys(group, reason)
            continue
        for query, measured in measure_queries(group, points, params, scope).values():
            for found in conn.execute(query):
                mapping = found._mapping
                values = tuple(shown(dim, mapping[f"d{i}"]) for i, dim in enumerate(dims))
                period = _day(mapping["period_start"]) if request.grain else None
                row = rows.setdefault((values, period), SlicedRow(values, period, {}))
                row.estimates |= read_estimates(mapping, measured)
    ends = {period.first_day: period.end for period in spans}
    for row in rows.values():  # a group no fact of a set falls in: counts 0, values None
        row.period_end = ends.get(row.period_start) if request.grain else as_of
        for name in names:
            if name in notes:
                empty = Estimate(None, None)
            elif KPI_CATALOG[name].measure.aggregate == "count":
                empty = Estimate(0, 0)
            else:
                empty = Estimate(None, 0)
            row.estimates.setdefault(name, empty)
    ordered = sorted(rows.values(), key=_order)
    return as_of, ordered, notes


def _order(row: SlicedRow) -> tuple:
    values = tuple((v is None, str(v) if v is not None else "") for v in row.values)
    return (*values, row.period_start or dt.date.min)


def _business_intervals(
    conn: sa.Connection,
    params: MetricParams,
    names: list[str],
    since: dt.datetime | None,
    as_of: dt.datetime,
) -> tuple:
    """The schedule's open intervals over the tickets to be measured, when a business-hours
    KPI is asked for and a schedule is configured."""
    if params.schedule is None or not any(name in BUSINESS_KPIS for name in names):
        return ()
    t = tickets.c
    # from the first ticket without the source's business minutes (an unanswered one too: its
    # business age counts against the target)
    query = sa.select(sa.func.min(t.created_at)).where(t.first_reply_business_minutes.is_(None))
    if since is not None:
        query = query.where(t.created_at >= since)
    first = conn.execute(query).scalar()
    if first is None or first > as_of:
        return ()
    return tuple(params.schedule.intervals(first, as_of))


def row_json(
    row: SlicedRow,
    dims: tuple[str, ...],
    grain: str | None,
    names: list[str],
    min_size: int,
    as_of: dt.datetime | None = None,
    maturity: float = 0,
    id_names: Names | None = None,
) -> dict:
    """One row of the sliced JSON: dimension values, beside a named dimension's id its name
    (``group_name``: metrics/names.py), period_start, period_end, complete, kpis, n and
    small. ``complete`` (metrics.maturity): the period ended ``maturity`` days or more
    before ``as_of``; a row without a grain covers the range up to as_of, so it is never
    complete."""
    counts = {name: row.estimates[name].count for name in names}
    size = max((n for n in counts.values() if n is not None), default=0)
    result: dict = {}
    for dim, value in zip(dims, row.values, strict=True):
        result[dim] = value
        if DIMENSIONS[dim].named_by is not None:
            result[name_field(dim)] = shown_name(id_names or {}, dim, value)
    if grain:
        result["period_start"] = row.period_start.isoformat()
    result["period_end"] = isoformat_utc(row.period_end)
    result["complete"] = bool(
        grain
        and as_of is not None
        and row.period_end is not None
        and is_complete(row.period_end, as_of, maturity)
    )
    result["kpis"] = {name: row.estimates[name].value for name in names}
    result["n"] = counts
    result["small"] = size < min_size
    return result


def compute_slice(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    request: SliceRequest = SliceRequest(),  # noqa: B008
) -> dict:
    """The ``turnaround metrics --by/--grain --json`` object (docs/contract.md, JSON output).

    ``{"as_of", "by", "grain", "filters", "min_group_size", "maturity_days", "rows":
    [{<dim>: value, [<dim>_name: its name,] ..., "period_start", "period_end", "complete",
    "kpis", "n", "small"}],
    "notes": {kpi: why it is null}}``. A row is ``small`` when the largest n behind its KPIs
    is below ``params.min_group_size``; ``complete`` when its period ended at least
    ``maturity_days`` before as_of (metrics.maturity).
    """
    names, _, _ = validate(request)
    result = {
        "as_of": None,
        "by": list(request.by),
        "grain": request.grain,
        "filters": request.filters(),
        "min_group_size": params.min_group_size,
        "maturity_days": None,
        "rows": [],
        "notes": {},
    }
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return result
        as_of, rows, notes = slice_estimates(conn, as_of, params, request)
        maturity = maturity_days(conn, as_of, params)
        shown_names = id_names(conn, request.by, params)
    result["as_of"] = isoformat_utc(as_of)
    result["maturity_days"] = maturity
    result["rows"] = [
        row_json(
            row,
            request.by,
            request.grain,
            names,
            params.min_group_size,
            as_of,
            maturity,
            shown_names,
        )
        for row in rows
    ]
    result["notes"] = notes
    return result
