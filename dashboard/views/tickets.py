"""Tickets: the rows behind the current filters, searched, sorted and paged in the warehouse,
each with its recovery status, and the history of the customer of a selected row."""

import polars as pl
import streamlit as st

from dashboard import data, links, ui, wording
from metrics.tickets import (
    RECOVERY_STATUSES,
    SORTS,
    TICKET_COLUMNS,
    customer_history,
    ticket_export,
    ticket_page,
)

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
}


def _frame(rows: list[dict], columns=TICKET_COLUMNS) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=list(columns))
    return pl.DataFrame(rows, infer_schema_length=None).select(columns)


ctx = ui.context()
sel, params = ctx.selection, ctx.setup.params

st.title("Tickets")
st.caption(
    wording.as_of_text(ctx.as_of)
    + " · tickets created "
    + wording.range_text(sel)
    + ", with the filters in the sidebar."
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
sort = sort_column.selectbox(
    "Sort by",
    SORTS,
    index=SORTS.index(links.from_url("sort", SORTS, SORT_LABELS, DEFAULT_SORT, "sort")),
    format_func=SORT_LABELS.get,
    key="sort",
)
links.to_url("sort", sort, DEFAULT_SORT)
order = links.from_url("order", tuple(ORDERS), ORDERS, DEFAULT_ORDER, "order")
descending = order_column.toggle(
    "Descending", value=order == "desc", key="order", help="Newest or largest first"
)
links.to_url("order", "desc" if descending else "asc", DEFAULT_ORDER)
request = sel.request()
arguments = dict(search=search or None, status=tuple(status), sort=sort, descending=descending)
page_column, count_column, download_column = st.columns([1, 3, 1])
page = page_column.number_input(
    "Page", min_value=1, value=1, step=1, key="page", bind="query-params"
)
# One count and one page per run; a page past the end shows the last one.
found = ctx.fetch(
    ticket_page, params, request, offset=(int(page) - 1) * PAGE_SIZE, limit=PAGE_SIZE, **arguments
)
total = found["total"]
pages = max(1, -(-total // PAGE_SIZE))
shown_page = found["offset"] // PAGE_SIZE + 1
count_column.markdown(
    f"**{total:,} tickets** · page {shown_page:,} of {pages:,}"
    + (" · :orange[none match]" if not total else "")
)
with download_column:

    def _export() -> pl.DataFrame:
        engine = data.warehouse_engine(ctx.setup.url)
        chunks = ticket_export(engine, params, request, **arguments)
        frames = [_frame(chunk) for chunk in chunks]
        return pl.concat(frames, how="vertical_relaxed") if frames else _frame([])

    ui.csv_button(_export, "tickets", "tickets_csv", label=f"CSV ({total:,} rows)")

rows = _frame(found["rows"])
# A table of its own per selection and page: a selected row never points at another ticket.
table_key = "ticket_table_" + str(abs(hash((repr(request), repr(arguments), shown_page))))


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
        _frame(history["tickets"]),
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
