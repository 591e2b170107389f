"""Entry script of the Turnaround dashboard: ``streamlit run dashboard/app.py``.

It reads the config, checks the warehouse, shows the shared filters and the stale-data
banner, and runs the page the user picked. Pages live in ``views/`` (a ``pages/`` folder
would also be served script by script, without this entry script) and only arrange what
``dashboard.ui.Context.fetch`` gets from ``metrics``.
"""

from pathlib import Path

import streamlit as st

from dashboard import data, filters, links, sign_in, ui, wording
from data_contracts.settings import ConfigError
from data_contracts.times import parse_utc, utc_now
from metrics import data_as_of
from metrics.dimensions import dimension_values
from metrics.health import last_runs, staleness
from metrics.names import dimension_names
from metrics.periods import local_date

PAGES = Path(__file__).parent / "views"

st.set_page_config(page_title="Turnaround", page_icon=":material/autorenew:", layout="wide")
sign_in.require()  # before anything is read: a signed-out visitor sees no data

PAGE_LIST = {
    "overview": st.Page(
        PAGES / "overview.py", title="Overview", icon=":material/monitoring:", default=True
    ),
    "recovery": st.Page(PAGES / "recovery.py", title="Recovery", icon=":material/healing:"),
    "cohorts": st.Page(PAGES / "cohorts.py", title="Cohorts", icon=":material/grid_on:"),
    "tickets": st.Page(PAGES / "tickets.py", title="Tickets", icon=":material/list_alt:"),
    "health": st.Page(PAGES / "health.py", title="Data health", icon=":material/health_metrics:"),
}
page = st.navigation(list(PAGE_LIST.values()))
goto = st.session_state.pop(filters.GOTO_KEY, None)
if goto in PAGE_LIST:  # a drill-through asked for another page
    # An empty mapping, not None: Streamlit refuses to clear a page's query parameters that
    # widgets are bound to (?kpi=...), but replaces them all; the shared filters' widgets
    # write theirs again on the new page.
    st.switch_page(PAGE_LIST[goto], query_params={})

try:
    setup = data.setup()
except ConfigError as exc:
    st.error(f"The dashboard's settings cannot be used: {exc}", icon=":material/settings:")
    st.stop()


try:
    version = data.data_version(setup.url)
    as_of = data.fetch(setup, version, data_as_of, setup.params)
    if as_of is None:
        raise data.WarehouseNotReady(
            f"The warehouse at {data.display_url(setup.url)} has no tickets, NPS responses "
            "or customers yet.",
            needs_data=True,
        )
except data.WarehouseNotReady as problem:
    st.warning(problem.message, icon=":material/database:")
    if problem.needs_data:
        st.markdown(wording.load_instructions(data.display_url(setup.url)))
    ui.retry(setup)
    st.stop()

banner = staleness(
    data.fetch(setup, version, last_runs),
    utc_now(),
    setup.stale_after_hours,
)
if banner:
    st.warning(banner, icon=":material/schedule:")

options = data.fetch(setup, version, dimension_values, filters.ALL_FILTERS, setup.params)
as_of_day = local_date(parse_utc(as_of), setup.params.reporting_timezone)
names = data.fetch(setup, version, dimension_names, filters.ALL_FILTERS, setup.params)
selection = filters.sidebar(options, as_of_day, names)
with st.sidebar:
    if st.button(
        "Refresh data",
        icon=":material/refresh:",
        help="Read the warehouse again (results are also refreshed when a load finishes).",
    ):
        data.clear()
    st.caption(f"Warehouse: `{data.display_url(setup.url)}`")

st.session_state[ui.CONTEXT_KEY] = ui.Context(setup, version, as_of, selection)
links.start_page(page.url_path)
page.run()
