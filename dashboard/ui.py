"""What every page shares: the page context app.py prepares, and widgets that pages repeat
(a clickable chart with its PNG download, a table with its CSV download)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from dashboard import charts, data, wording
from dashboard.filters import Selection
from metrics import KPI_CATALOG, SliceError, data_days
from metrics.formatting import csv_bytes, spreadsheet_safe

CONTEXT_KEY = "_context"


@dataclass(frozen=True)
class Context:
    """One page run's warehouse, data version, as-of instant and shared filters."""

    setup: data.Setup
    version: str
    as_of: str
    selection: Selection

    def fetch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(engine, *args, **kwargs)``, cached. A warehouse that became unreadable
        mid-run stops the page with its message and a retry; a slice the metrics cannot
        compute as asked (SliceError: a range too long for its grain...) stops it with the
        reason."""
        try:
            return data.fetch(self.setup, self.version, function, *args, **kwargs)
        except data.WarehouseNotReady as problem:
            st.warning(problem.message, icon=":material/database:")
            retry(self.setup)
            st.stop()
        except SliceError as problem:
            st.info(
                f"{in_words(problem)} (change the filters in the sidebar).", icon=":material/tune:"
            )
            st.stop()

    def fetch_or_explain(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fetch``, but a slice the metrics cannot compute as asked is explained where it
        was asked for and gives None, so the rest of the page still shows."""
        try:
            return data.fetch(self.setup, self.version, function, *args, **kwargs)
        except SliceError as problem:
            st.info(f"{in_words(problem)}.", icon=":material/tune:")
            return None
        except data.WarehouseNotReady:
            return self.fetch(function, *args, **kwargs)  # its message and retry

    def read(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(engine, *args, **kwargs)``, not cached: for what changes outside the
        warehouse's data version (a load's journal file)."""
        try:
            return data.read(self.setup, function, *args, **kwargs)
        except data.WarehouseNotReady as problem:
            st.warning(problem.message, icon=":material/database:")
            retry(self.setup)
            st.stop()


def range_note(ctx: Context) -> str | None:
    """The sentence a page shows for a range that holds none of the data's days (after the
    data, say: the pages would otherwise show the last data, or dashes, without a word), or
    None."""
    days = ctx.fetch(data_days, ctx.setup.params)
    first, last = days["first"], days["last"]
    sel = ctx.selection
    if first is None:  # no tickets or responses at all: the page's dashes say it
        return None
    if sel.start <= dt.date.fromisoformat(last) and sel.end >= dt.date.fromisoformat(first):
        return None
    return wording.no_data_text(sel, first, last)


RETRY_SECONDS = 10
# The metrics name the CLI's options in their messages; the pages name their widgets.
OPTION_WORDS = {"--from": "start date", "--to": "end date", "--grain": "period"}


def in_words(problem: Exception) -> str:
    text = str(problem)
    for option, words in OPTION_WORDS.items():
        text = text.replace(option, words)
    return text


@st.fragment(run_every=RETRY_SECONDS)
def retry(setup: data.Setup) -> None:
    """Look again every few seconds; the whole page comes back once the warehouse does."""
    from metrics import data_as_of

    try:
        version = data.data_version(setup.url)
        ready = data.fetch(setup, version, data_as_of, setup.params) is not None
    except data.WarehouseNotReady:
        ready = False
    if ready:
        st.rerun(scope="app")
    st.caption(f"Checking again every {RETRY_SECONDS} seconds.")


def context() -> Context:
    return st.session_state[CONTEXT_KEY]


def picked(key: str) -> list[dict]:
    """What a clickable chart's ``pick`` selection holds (one dict per clicked mark)."""
    state = st.session_state.get(key)
    if not state:
        return []
    return list(state.get("selection", {}).get(charts.PICK, []) or [])


def as_date(value: object) -> dt.date | None:
    """A clicked temporal value (Vega gives epoch milliseconds) as a calendar day."""
    if value is None:
        return None
    if isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(value / 1000, dt.UTC) + dt.timedelta(hours=12)
        return moment.date()
    return dt.date.fromisoformat(str(value)[:10])


def png_subtitle(company_wide: bool = False) -> tuple[str, ...]:
    """The lines under an exported chart's title: the as-of time, and the range and filters
    the chart follows (a company-wide chart follows neither, and says so)."""
    ctx = context()
    if company_wide:
        return (wording.as_of_text(ctx.as_of), "Company-wide: the range and filters do not apply")
    sel = ctx.selection
    return (
        wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel),
        "Filters: " + wording.filters_text(sel),
    )


def chart(
    spec: alt.TopLevelMixin,
    key: str,
    title: str,
    on_pick: Callable[[], None] | None = None,
    file_name: str = "chart",
    help: str | None = None,
    company_wide: bool = False,
) -> None:
    """An Altair chart under its title (with ``help`` as its tooltip: what the KPI means),
    filling its column, clickable when ``on_pick`` is given, with a PNG download of it that
    carries the title, the as-of time and the range and filters (or, ``company_wide``,
    that the chart follows neither)."""
    st.markdown(f"**{title}**", help=help)
    if on_pick is not None:
        st.altair_chart(
            spec, width="stretch", key=key, on_select=on_pick, selection_mode=charts.PICK
        )
    else:
        st.altair_chart(spec, width="stretch", key=key)
    subtitle = png_subtitle(company_wide)  # now: the click may be served outside this run
    st.download_button(
        "PNG",
        data=lambda: charts.png(spec, title, subtitle),
        file_name=f"{file_name}.png",
        mime="image/png",
        key=f"{key}_png",
        icon=":material/image:",
        on_click="ignore",
        help="Download this chart as a PNG image",
        type="tertiary",
    )


# Every CSV file the product writes for a user is made by metrics.formatting.csv_bytes.
__all__ = ["csv_bytes", "spreadsheet_safe"]


Rows = pl.DataFrame | list[dict]


def csv_button(
    rows: Rows | Callable[[], Rows], file_name: str, key: str, label: str = "CSV"
) -> None:
    """A CSV download of a table (``rows``, or a function giving them when clicked), always
    written by ``csv_bytes``: every CSV button of the dashboard is this one, so no download
    bypasses the formula quoting."""
    st.download_button(
        label,
        data=(lambda: csv_bytes(rows())) if callable(rows) else csv_bytes(rows),
        file_name=f"{file_name}.csv",
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",
        help="Download this table as CSV",
        type="tertiary",
    )


# How a table writes a number of each KPI unit. The cells stay numbers (a column of text
# such as "8.0 min", "4 h 33 m" would sort as text); the title names the unit.
NUMBER_FORMATS = {"ratio": "%.1f%%", "nps": "%+.1f", "count": "localized", "minutes": "%.1f"}


def percent_column(title: str) -> Any:
    """A column of percentages (the cells hold 0-100) with one decimal: "73.2%"."""
    return st.column_config.NumberColumn(title, format=NUMBER_FORMATS["ratio"])


def percents(values: Iterable[float | None]) -> list[float | None]:
    """Fractions as the percentages ``percent_column`` shows."""
    return [None if v is None else v * 100 for v in values]


def kpi_values(name: str, values: list[float | None]) -> tuple[list[float | None], str, Any]:
    """KPI ``name``'s values as a table column shows them, still numbers so that it sorts
    numerically: the values in the unit shown (a ratio in percent; minutes, or hours when
    they run past three hours, as the charts choose), the column's title with that unit,
    and its column config."""
    unit = KPI_CATALOG[name].unit
    divisor, unit_text = 1.0, ""
    if unit == "minutes":
        top = max((v for v in values if v is not None), default=0)
        divisor, unit_text = charts.minutes_scale(top)
    elif unit == "ratio":
        divisor = 0.01
    title = charts.axis_title(name, unit_text)
    shown = [None if v is None else v / divisor for v in values]
    return shown, title, st.column_config.NumberColumn(title, format=NUMBER_FORMATS[unit])


def table(
    frame: pl.DataFrame,
    key: str,
    file_name: str | None = None,
    column_config: dict | None = None,
    **options: Any,
) -> Any:
    """A table with whole numbers shown with thousands separators, and its CSV download
    (``file_name``) under it. Returns what ``st.dataframe`` returns (its selection)."""
    config = {
        name: st.column_config.NumberColumn(name, format="localized")
        for name, dtype in frame.schema.items()
        if dtype.is_integer()
    } | (column_config or {})
    shown = st.dataframe(frame, hide_index=True, column_config=config, key=key, **options)
    if file_name:
        csv_button(frame, file_name, f"{key}_csv")
    return shown
