"""Tickets: the rows behind the current filters, or the units behind one KPI's n (a
drill-through from a point), searched, sorted and paged in the warehouse, each ticket with its
recovery status, and the history of the customer of a selected row (metrics.units)."""

import polars as pl
import streamlit as st

from dashboard import data, filters, links, ui, wording
from metrics import KPI_CATALOG, format_value
from metrics.names import Names, dimension_names
from metrics.tickets import TICKET_COLUMNS, customer_history
from metrics.units import RECOVERY_STATUSES, kpi_units, unit_list, units_export

PAGE_SIZE = 50
DEFAULT_SORT = "created_at"
ORDERS = {"desc": "Descending", "asc": "Ascending"}  # the URL's order: its labels
DEFAULT_ORDER = "desc"
CUSTOMER_KEY = "customer"
SORT_LABELS = {
    "created_at": "Created",
    "tta_minutes": "Time to acknowledge",
    "resolution_minutes": "Resolution time",
    "agent_replies": "Agent replies",
    "customer_id": "Customer",
    "ticket_id": "Ticket",
    "channel": "Channel",
    "recovery_status": "Recovery status",
}
COLUMNS = {
    "source": "Source",
    "ticket_id": "Ticket",
    "customer_id": "Customer",
    "status": "Status",
    "channel": "Channel",
    "group": "Group",
    "priority": "Priority",
    "type": "Type",
    "reopens": "Reopens",
    "csat": "CSAT",
    "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="D MMM YYYY, HH:mm"),
    "tta_minutes": st.column_config.NumberColumn("TTA (min)", format="%.0f"),
    "resolution_minutes": st.column_config.NumberColumn("Resolution (min)", format="%.0f"),
    "failure_tag": "Failure tag",
    "product_area": "Product area",
    "recovery_status": "Recovery status",
    "agent_replies": "Agent replies",
    "value": "Value",
    "responded_at": "Responded",
    "score": "Score",
    "recovery_group": "Recovery group",
    "response_id": "Response",
    "tickets": "Tickets",
    "outcome": "Outcome",
    "churned_at": "Churned",
}


def _frame(rows: list[dict], columns=TICKET_COLUMNS, names: Names | None = None) -> pl.DataFrame:
    """The rows as a table; with ``names``, a group shown by its name (the CSV keeps the id)."""
    if not rows:
        return pl.DataFrame(schema=list(columns))
    frame = pl.DataFrame(rows, infer_schema_length=None).select(columns)
    if names and "group" in frame.columns:
        frame = frame.with_columns(pl.col("group").replace(names.get("group", {})))
    return frame


ctx = ui.context()
sel, params = ctx.selection, ctx.setup.params

st.title("Tickets")
kpi_column, at_column = st.columns([3, 1])
# The KPI is in the URL by its name (?units=tta_median_minutes); an old label link opens.
kpi_choices = ["", *KPI_CATALOG]
kpi_labels = {"": "Every ticket"} | {name: kpi.label for name, kpi in KPI_CATALOG.items()}
kpi = (
    kpi_column.selectbox(
        "Counted in",
        kpi_choices,
        index=kpi_choices.index(
            links.from_url(filters.UNITS_KEY, kpi_choices, kpi_labels, "", "KPI") or ""
        ),
        format_func=kpi_labels.get,
        key=filters.UNITS_KEY,
        help="List exactly the tickets, customers, NPS responses or episodes a KPI counts, "
        "each with the value it adds (a drill-through from a chart sets it).",
    )
    or None
)
links.to_url(filters.UNITS_KEY, kpi or "", "")
at = at_column.date_input(
    "Measured at the end of",
    value=None,
    key=filters.AT_KEY,
    bind="query-params",
    help="A point of a trend is measured at its chart's last day: its tickets are listed as "
    "they stood then. Empty: the range's last day.",
)
request, period = filters.units_request(sel, kpi, at)
units = unit_list(kpi, params)
measured = at if period is not None else sel.end
st.caption(
    wording.as_of_text(ctx.as_of)
    + " · created "
    + wording.range_text(sel)
    + f", measured at the end of {measured:%d %b %Y}, with the filters in the sidebar."
)
outside = ui.range_note(ctx)
if outside:
    st.info(outside, icon=":material/event_busy:")

unknown = links.unknown_values("status", RECOVERY_STATUSES)
if unknown:
    st.warning(unknown, icon=":material/link_off:")
search_column, status_column, sort_column, order_column = st.columns([3, 3, 2, 1.4])
search = search_column.text_input(
    "Search", key="q", bind="query-params", placeholder="Ticket or customer id"
)
status = ()
if units.key == "tickets":
    status = status_column.multiselect(
        "Recovery status",
        RECOVERY_STATUSES,
        key="status",
        bind="query-params",
        placeholder="Any",
        help="Recovered: a solved failure put right (not reopened). Not recovered: "
        "solved, not put right. In recovery: a failure not solved yet.",
    )
# The sort and its order are in the URL by id (?sort=tta_minutes&order=asc), with the page:
# a shared link opens the same rows in the same order.
sorts = [col for col in units.sorts if col != "value" or kpi]
sort_labels = {col: SORT_LABELS.get(col, col.replace("_", " ").capitalize()) for col in sorts}
default_sort = DEFAULT_SORT if DEFAULT_SORT in sorts else sorts[0]
sort = sort_column.selectbox(
    "Sort by",
    sorts,
    index=sorts.index(links.from_url("sort", sorts, sort_labels, default_sort, "sort")),
    format_func=sort_labels.get,
    key="sort",
)
links.to_url("sort", sort, default_sort)
order = links.from_url("order", tuple(ORDERS), ORDERS, DEFAULT_ORDER, "order")
descending = order_column.toggle(
    "Descending", value=order == "desc", key="order", help="Newest or largest first"
)
links.to_url("order", "desc" if descending else "asc", DEFAULT_ORDER)
arguments = dict(search=search or None, status=tuple(status), sort=sort, descending=descending)
page_column, count_column, download_column = st.columns([1, 3, 1])
page = page_column.number_input(
    "Page", min_value=1, value=1, step=1, key="page", bind="query-params"
)
# One count and one page per run; a page past the end shows the last one.
found = ctx.fetch(
    kpi_units,
    params,
    request,
    kpi,
    period,
    offset=(int(page) - 1) * PAGE_SIZE,
    limit=PAGE_SIZE,
    **arguments,
)
total = found["total"]
pages = max(1, -(-total // PAGE_SIZE))
shown_page = found["offset"] // PAGE_SIZE + 1
if kpi:
    st.markdown(
        f"**Counted in {KPI_CATALOG[kpi].label}:** {format_value(kpi, found['value'])}, "
        f"n {found['n']:,}" + (f" ({sel.grain} of {period:%d %b %Y})" if period else "")
    )
count_column.markdown(
    f"**{total:,} {units.key}** · page {shown_page:,} of {pages:,}"
    + (" · :orange[none match]" if not total else "")
)
with download_column:

    def _export() -> pl.DataFrame:
        engine = data.warehouse_engine(ctx.setup.url)
        chunks = units_export(engine, params, request, kpi, period, **arguments)
        frames = [_frame(chunk, units.columns) for chunk in chunks]
        if not frames:
            return _frame([], units.columns)
        return pl.concat(frames, how="vertical_relaxed")

    ui.csv_button(_export, units.key, "tickets_csv", label=f"CSV ({total:,} rows)")

names = ctx.fetch(dimension_names, ("group",), params)
rows = _frame(found[units.key], units.columns, names=names)
# A table of its own per selection and page: a selected row never points at another ticket.
table_key = "ticket_table_" + str(abs(hash((repr(request), period, repr(arguments), shown_page))))


def _show_customer() -> None:
    chosen = st.session_state[table_key].selection.rows
    if chosen:
        st.session_state[CUSTOMER_KEY] = rows["customer_id"][chosen[0]]


st.dataframe(
    rows,
    hide_index=True,
    column_config=COLUMNS,
    on_select=_show_customer,
    selection_mode="single-row",
    key=table_key,
    width="stretch",
)

st.header("Customer history")
customer_id = st.text_input(
    "Customer id",
    key=CUSTOMER_KEY,
    bind="query-params",
    help="Select a ticket row, or type an id",
).strip()
if not customer_id:
    st.caption("Select a ticket above to see its customer's tickets and NPS responses.")
    st.stop()
history = ctx.fetch(customer_history, customer_id, params, sel.end)
record = history["customer"]
if record is None:
    st.info(f"No customer {customer_id!r} in the warehouse.")
    st.stop()
facts = [
    f"**{record['customer_id']}**",
    f"signed up {record['signup_at']:%d %b %Y}" if record.get("signup_at") else None,
    f"churned {record['churned_at']:%d %b %Y}" if record.get("churned_at") else "still a customer",
    *(f"{key} {record[key]}" for key in ("plan", "segment", "region") if record.get(key)),
]
st.markdown(" · ".join(f for f in facts if f))
ticket_column, nps_column = st.columns([3, 1])
with ticket_column:
    st.subheader(f"{len(history['tickets']):,} tickets")
    ui.table(
        _frame(history["tickets"], names=names),
        "customer_tickets",
        f"customer_{customer_id}_tickets",
        column_config=COLUMNS,
    )
with nps_column:
    st.subheader(f"{len(history['nps']):,} NPS responses")
    ui.table(
        _frame(history["nps"], ("response_id", "responded_at", "score")),
        "customer_nps",
        f"customer_{customer_id}_nps",
    )
