"""The filters every page shares, kept in the URL's query string so a copied link (or a
reload) opens the same view.

Each filter is a sidebar widget bound to a query parameter of its key (``?channel=chat&
dates=2026-10-01&dates=2026-10-31&grain=month``). A drill-through narrows the same filters
(from a chart's or table's click callback, before the widgets exist in that run) and asks
for the Tickets page, so the sidebar always says what the tickets behind a number are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from dashboard import links
from dashboard.charts import NO_VALUE
from data_contracts.options import GRAINS
from metrics import DIMENSIONS, SliceRequest
from metrics.names import Names, shown_name
from metrics.periods import floor, shift
from metrics.slices import FIRST_DAY, LAST_DAY

# Multi-selects in the sidebar, then the ones a drill-through may also set (in an expander).
FILTERS = ("channel", "group", "priority", "segment", "plan", "region", "failure_tag")
MORE_FILTERS = (
    "type",
    "product_area",
    "assignee",
    "tenure_band",
    "recovery_group",
    "signup_month",
)
ALL_FILTERS = (*FILTERS, *MORE_FILTERS)
DEFAULT_GRAIN = "week"
DEFAULT_DAYS = 30  # the default range: the last 30 days up to the data's as-of day
DATES_KEY = "dates"
GRAIN_KEY = "grain"
PRESET_KEY = "preset"
COMPARE_KEY = "compare"
# Quick ranges, each ending on the data's as-of day (the picker's days still rule).
PRESETS = ("last 7 days", "last 30 days", "last 90 days", "quarter to date", "year to date")
# What the Overview's changes compare the last complete period (or the range) with.
COMPARISONS = {"previous": "previous period", "last_year": "same period last year"}
DEFAULT_COMPARISON = "previous"
GOTO_KEY = "_goto"  # a drill-through's wish for another page, read by app.py
# The Tickets page's own query parameters a drill-through sets: the KPI whose units to list
# (empty: every ticket) and the day at whose end a period's point was measured.
UNITS_KEY = "units"
AT_KEY = "at"
TREND_PERIODS = 520  # ten years of weeks: a trend of a longer range wants a coarser grain


@dataclass(frozen=True)
class Selection:
    """The shared filters of one page run: a date range (local days, both included), the
    grain, and the chosen values per dimension."""

    start: dt.date
    end: dt.date
    grain: str
    where: tuple[tuple[str, tuple[str, ...]], ...]
    compare: str = DEFAULT_COMPARISON  # a key of COMPARISONS

    def request(
        self, kpis: tuple[str, ...] = (), by: tuple[str, ...] = (), grain: str | None = None
    ) -> SliceRequest:
        """The metrics request of this selection (with a grain or dimensions: a slice)."""
        return SliceRequest(
            kpis=kpis, by=by, grain=grain, where=self.where, start=self.start, end=self.end
        )

    def previous(self) -> Selection | None:
        """The same filters over the range of the same length just before this one (None
        when that would begin before the first day the metrics take)."""
        days = (self.end - self.start).days + 1
        if (self.start - FIRST_DAY).days < days:  # no date arithmetic below year 1
            return None
        return Selection(
            self.start - dt.timedelta(days=days),
            self.start - dt.timedelta(days=1),
            self.grain,
            self.where,
            self.compare,
        )

    def compared(self) -> Selection | None:
        """The range the comparison choice compares this one with: the range just before
        (``previous``) or the same days a year earlier (None before the first day)."""
        if self.compare != "last_year":
            return self.previous()
        start, end = year_earlier(self.start), year_earlier(self.end)
        if start < FIRST_DAY:
            return None
        return Selection(start, end, self.grain, self.where, self.compare)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def trend_request(self, kpis: tuple[str, ...]) -> SliceRequest:
        """The trend of ``kpis`` per grain period: the grain's default number of periods up
        to the range's end, or the range when it is longer (at most TREND_PERIODS periods),
        with these filters."""
        from metrics.periods import DEFAULT_PERIODS, floor

        last = floor(self.end, self.grain)
        first = shift(last, self.grain, 1 - DEFAULT_PERIODS[self.grain])
        longest = shift(last, self.grain, 1 - TREND_PERIODS)
        return SliceRequest(
            kpis=kpis,
            grain=self.grain,
            where=self.where,
            start=max(min(first, self.start), longest),
            end=self.end,
        )


def default_range(as_of_day: dt.date) -> tuple[dt.date, dt.date]:
    """The last DEFAULT_DAYS days up to ``as_of_day``, within the picker's days (data stored
    before loads checked their dates may lie outside them)."""
    end = min(max(as_of_day, FIRST_DAY), LAST_DAY)
    return max(end - dt.timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY), end


def year_earlier(day: dt.date) -> dt.date:
    """The same day a year earlier (28 Feb for 29 Feb)."""
    if day.year <= FIRST_DAY.year:
        return FIRST_DAY - dt.timedelta(days=1)
    return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2 else day.day))


def preset_range(preset: str, as_of_day: dt.date) -> tuple[dt.date, dt.date]:
    """The days of a quick range ending on ``as_of_day``: "last N days" (N days, as-of
    included), "quarter to date", "year to date"; within the picker's days."""
    end = min(max(as_of_day, FIRST_DAY), LAST_DAY)
    if preset.startswith("last "):
        start = end - dt.timedelta(days=int(preset.split()[1]) - 1)
    elif preset == "quarter to date":
        start = end.replace(month=3 * ((end.month - 1) // 3) + 1, day=1)
    elif preset == "year to date":
        start = end.replace(month=1, day=1)
    else:
        raise ValueError(f"unknown range {preset!r}; expected one of {', '.join(PRESETS)}")
    return max(start, FIRST_DAY), end


def _apply_preset(as_of_day: dt.date) -> None:
    preset = st.session_state.get(PRESET_KEY)
    if preset in PRESETS:
        st.session_state[DATES_KEY] = preset_range(preset, as_of_day)


def _dates_picked() -> None:
    """Dates picked by hand: no quick range holds any more."""
    st.session_state[PRESET_KEY] = None


# How a link may write a day: as Streamlit's date input reads it from the query string.
URL_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")


def url_dates_problem(values: list[str]) -> str | None:
    """Why a link's ``dates`` cannot be used (the date input then falls back to the default
    range without a word), or None: one or two days from FIRST_DAY to LAST_DAY."""
    if not values:
        return None
    days = [_url_day(value) for value in values]
    if len(values) <= 2 and all(day is not None and FIRST_DAY <= day <= LAST_DAY for day in days):
        return None
    shown = ", ".join(values)
    return (
        f"The link's dates ({shown}) are not one or two days from {FIRST_DAY} to {LAST_DAY}; "
        f"showing the last {DEFAULT_DAYS} days of data instead."
    )


def _url_day(value: str) -> dt.date | None:
    for layout in URL_DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, layout).date()
        except ValueError:
            continue
    return None


def sidebar(
    options: dict[str, list[str]], as_of_day: dt.date, names: Names | None = None
) -> Selection:
    """The filter widgets (in the sidebar) and what they select; a note on the page when
    the link's dates, or a filter value it gives, could not be used. A group or an agent is
    offered by ``names`` (its name), chosen and linked by its id."""
    problem = url_dates_problem(st.query_params.get_all(DATES_KEY))
    if problem:
        st.warning(problem, icon=":material/event_busy:")
    for name in ALL_FILTERS:  # before the widgets: Streamlit drops such values silently
        problem = links.unknown_values(name, options.get(name, []), name)
        if problem:
            st.warning(problem, icon=":material/link_off:")
    with st.sidebar:
        st.header("Filters")
        st.selectbox(
            "Quick range",
            PRESETS,
            index=None,
            key=PRESET_KEY,
            bind="query-params",
            placeholder="Pick a range…",
            on_change=_apply_preset,
            args=(as_of_day,),
            help="Sets the dates below to a range ending on the data's as-of day.",
        )
        chosen = st.date_input(
            "Dates",
            value=default_range(as_of_day),
            min_value=FIRST_DAY,
            max_value=LAST_DAY,
            key=DATES_KEY,
            bind="query-params",
            on_change=_dates_picked,
            help="Tickets created and NPS responses given on these days (reporting time zone); "
            "retention and attrition are measured at the range's end. The default is the "
            f"last {DEFAULT_DAYS} days of data.",
        )
        start, end = _range(chosen, as_of_day)
        grain = st.selectbox(
            "Period",
            GRAINS,
            index=GRAINS.index(DEFAULT_GRAIN),
            key=GRAIN_KEY,
            bind="query-params",
            help="Calendar days, weeks (Monday first), months or quarters of the trends.",
        )
        compare = st.selectbox(
            "Compare with",
            tuple(COMPARISONS),
            index=tuple(COMPARISONS).index(
                links.from_url(
                    COMPARE_KEY, tuple(COMPARISONS), COMPARISONS, DEFAULT_COMPARISON, "comparison"
                )
            ),
            format_func=COMPARISONS.get,
            key=COMPARE_KEY,
            help="What the Overview's changes compare with: the period just before, or the "
            "same period a year earlier.",
        )
        links.to_url(COMPARE_KEY, compare, DEFAULT_COMPARISON, shared=True)
        where = []
        for name in FILTERS:
            where += _multiselect(name, options, names or {})
        # open when a drill-through or a link narrowed one of these
        chosen_more = any(st.session_state.get(n) or st.query_params.get(n) for n in MORE_FILTERS)
        with st.expander("More filters", expanded=chosen_more):
            for name in MORE_FILTERS:
                where += _multiselect(name, options, names or {})
        if any(values for _, values in where) or st.session_state.get(DATES_KEY) != default_range(
            as_of_day
        ):
            st.button(
                "Clear filters",
                on_click=clear_filters,
                args=(as_of_day,),
                icon=":material/filter_alt_off:",
            )
    return Selection(
        start, end, grain or DEFAULT_GRAIN, tuple(where), compare or DEFAULT_COMPARISON
    )


def _range(chosen, as_of_day: dt.date) -> tuple[dt.date, dt.date]:
    """The picked range; while only its first day is picked, that day to as-of."""
    if isinstance(chosen, dt.date):
        return chosen, max(chosen, as_of_day)
    days = [d for d in (chosen or ()) if d is not None]
    if len(days) == 2:
        return days[0], days[1]
    if len(days) == 1:
        return days[0], max(days[0], as_of_day)
    return default_range(as_of_day)


def _multiselect(
    name: str, options: dict[str, list[str]], names: Names
) -> list[tuple[str, tuple[str, ...]]]:
    dim = DIMENSIONS[name]
    choices = options.get(name, [])
    if not names.get(name):  # shown as it is: the widget keeps the URL itself
        values = st.multiselect(
            dim.label,
            choices,
            key=name,
            bind="query-params",
            placeholder="All",
            help=dim.description,
        )
        return [(name, tuple(values))] if values else []
    # A group or an agent, shown by name and linked by id. The URL binding would write the
    # shown label, so the ids are written here: a link must not change when a group is
    # renamed, nor give an employee's name away.
    if name not in st.session_state:
        st.session_state[name] = [v for v in st.query_params.get_all(name) if v in choices]
    values = st.multiselect(
        dim.label,
        choices,
        format_func=lambda value: str(shown_name(names, name, value)),
        key=name,
        placeholder="All",
        help=dim.description,
    )
    if values:
        st.query_params[name] = values
    elif name in st.query_params:
        del st.query_params[name]
    return [(name, tuple(values))] if values else []


def clear_filters(as_of_day: dt.date) -> None:
    for name in ALL_FILTERS:
        st.session_state[name] = []
    st.session_state[DATES_KEY] = default_range(as_of_day)
    st.session_state[PRESET_KEY] = None


def can_drill(name: str, value: object) -> bool:
    """Whether a filter can narrow to ``value`` of dimension ``name`` (no filter takes an
    empty value: a group of tickets without one opens no list)."""
    return name in ALL_FILTERS and value is not None and value != NO_VALUE


def drill(
    values: dict[str, object],
    period: tuple[dt.date, dt.date] | None = None,
    page: str = "tickets",
    kpi: str | None = None,
    at: dt.date | None = None,
) -> None:
    """Narrow the shared filters to ``values`` (dimension: value) and ``period``, and ask for
    ``page``; on the Tickets page, list the units of ``kpi`` (None: every ticket), measured
    at the end of day ``at`` (None: of the range). Called from a click callback, before the
    filter widgets of the next run; every value is one ``can_drill`` allows."""
    for name, value in values.items():
        if name not in ALL_FILTERS or value is None:
            raise ValueError(f"cannot drill into {name}={value!r}")
        st.session_state[name] = [str(value)]
    if period is not None:
        st.session_state[DATES_KEY] = period
        st.session_state[PRESET_KEY] = None  # the dates are no quick range any more
    st.session_state[UNITS_KEY] = kpi or ""
    st.session_state[AT_KEY] = at
    st.session_state[GOTO_KEY] = page


def point_days(request: SliceRequest, start: dt.date) -> tuple[dt.date, dt.date]:
    """The days a point of ``request`` (a slice with a grain) for the period starting
    ``start`` counts: the period within the slice's range, so a week that began before the
    range's first day counts from that day. A point before the selected range (a trend
    reaches back further) is its own period, never a reversed range."""
    first, last = period_of(start, request.grain)
    if request.start is not None:
        first = max(first, request.start)
    if request.end is not None:
        last = min(last, request.end)
    return first, last


def drill_point(
    values: dict[str, object], request: SliceRequest, start: dt.date, kpi: str | None
) -> None:
    """Open the Tickets page on the units of ``kpi`` behind the point of ``request`` for the
    period starting ``start``: the range moves to that period (``point_days``), measured
    where the slice measured it (at the end of the slice's last day), so the list has the
    point's n (metrics.units.kpi_units with that period)."""
    drill(values, point_days(request, start), kpi=kpi, at=request.end)


def units_request(
    sel: Selection, kpi: str | None, at: dt.date | None
) -> tuple[SliceRequest, dt.date | None]:
    """What the Tickets page lists for ``kpi``: the request and the period (or None) that
    ``kpi_units`` takes. When ``at`` is set and the range lies in one period of the grain
    (ending at that period's end or at ``at``), the period of a slice from the range's start
    to ``at``, as a drill-through from a point asks; otherwise the range measured at its end."""
    kpis = (kpi,) if kpi else ()
    first, last = period_of(floor(sel.start, sel.grain), sel.grain)
    if at is not None and at >= sel.end and sel.end <= last and sel.end in (last, at):
        return SliceRequest(
            kpis=kpis, grain=sel.grain, where=sel.where, start=sel.start, end=at
        ), first
    return sel.request(kpis=kpis), None


def period_of(start: dt.date, grain: str) -> tuple[dt.date, dt.date]:
    """The days of the ``grain`` period starting at ``start``."""
    return start, shift(start, grain, 1) - dt.timedelta(days=1)
