"""Cohorts: any KPI by any dimension and period, as a chart and a table, and the retention
triangle as a heatmap. Clicking a point or a cell shows the tickets behind it."""

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import charts, filters, links, ui, wording
from metrics import DIMENSIONS, KPI_CATALOG, compute_cohorts, compute_slice
from metrics.names import dimension_names, labels

ctx = ui.context()
sel, params = ctx.selection, ctx.setup.params

st.title("Cohorts and slices")
st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel))
outside = ui.range_note(ctx)
if outside:
    st.info(outside, icon=":material/event_busy:")

DEFAULT_KPI, DEFAULT_DIMENSION, DEFAULT_COHORTS = "one_touch_rate", "channel", "signup_month"
COHORT_KINDS = {"signup_month": "Signup month", "first_failure_month": "First failure month"}
kpi_labels = {name: kpi.label for name, kpi in KPI_CATALOG.items()}
dim_labels = {name: dim.label for name, dim in DIMENSIONS.items()}

kpi_column, dim_column = st.columns(2)
# The URL keeps the KPI's and the dimension's names (?kpi=one_touch_rate&by=channel), not
# their labels; a link that gives a label still opens (dashboard.links).
kpi = kpi_column.selectbox(
    "KPI",
    list(KPI_CATALOG),
    index=list(KPI_CATALOG).index(
        links.from_url("kpi", list(KPI_CATALOG), kpi_labels, DEFAULT_KPI, "KPI")
    ),
    format_func=kpi_labels.get,
    key="kpi",
    help="Each KPI's definition is in its tooltip on the chart and in docs/metrics.md.",
)
links.to_url("kpi", kpi, DEFAULT_KPI)
dim = dim_column.selectbox(
    "By",
    list(DIMENSIONS),
    index=list(DIMENSIONS).index(
        links.from_url("by", list(DIMENSIONS), dim_labels, DEFAULT_DIMENSION, "dimension")
    ),
    format_func=dim_labels.get,
    key="by",
)
links.to_url("by", dim, DEFAULT_DIMENSION)
st.caption(KPI_CATALOG[kpi].description)
# A customer KPI under a ticket dimension or filter, or a range too long for its grain, is
# explained here; the triangle below still shows.
slice_request = sel.request(kpis=(kpi,), by=(dim,), grain=sel.grain)
result = ctx.fetch_or_explain(compute_slice, params, slice_request) or {"rows": [], "notes": {}}
if kpi in result["notes"]:
    st.info(f"{KPI_CATALOG[kpi].label} by {DIMENSIONS[dim].label.lower()}: {result['notes'][kpi]}.")
rows = result["rows"]
# a group or an agent by name (or pseudonym); the chart picks and the filters take the id
names = ctx.fetch(dimension_names, (dim,), params)
shown_as = labels(names, dim, [r[dim] for r in rows])
result_maturity = result.get("maturity_days") or 0


def _drill_cell() -> None:
    for point in ui.picked("slice_chart"):
        start = ui.as_date(point.get("period_start"))
        value = point.get("value_of")
        if start is not None and filters.can_drill(dim, value):
            filters.drill_point({dim: value}, slice_request, start, kpi)
            return


if rows and kpi not in result["notes"] and not charts.has_values(rows, [kpi]):
    st.info(
        f"No {KPI_CATALOG[kpi].label.lower()} in these {sel.grain}s: no group has a value "
        "with these filters.",
        icon=":material/tune:",
    )
elif rows and kpi not in result["notes"]:
    ui.chart(
        charts.by_dimension_chart(rows, kpi, dim, DIMENSIONS[dim].label, sel.grain, shown_as),
        "slice_chart",
        f"{KPI_CATALOG[kpi].label} by {DIMENSIONS[dim].label.lower()}, per {sel.grain}",
        on_pick=_drill_cell,
        file_name=f"{kpi}_by_{dim}",
        help=KPI_CATALOG[kpi].description,
    )
values, value_title, value_column = ui.kpi_values(kpi, [r["kpis"][kpi] for r in rows])
table = pl.DataFrame(
    {
        # a group or an agent by its name; the row's drill reads the id from ``rows``
        DIMENSIONS[dim].label: [
            None if r[dim] is None else str(label) for r, label in zip(rows, shown_as, strict=True)
        ],
        "Period starting": [r["period_start"] for r in rows],
        value_title: values,  # a number: the column sorts numerically
        "n": [r["n"][kpi] for r in rows],
        "Small group": ["small" if r["small"] else "" for r in rows],
        "Period": ["complete" if r["complete"] else "provisional" for r in rows],
    },
    schema={
        DIMENSIONS[dim].label: pl.String,
        "Period starting": pl.String,
        value_title: pl.Float64,
        "n": pl.Int64,
        "Small group": pl.String,
        "Period": pl.String,
    },
)


def _drill_row() -> None:
    state = st.session_state.get("slice_table")
    chosen = state.selection.rows if state else []
    if chosen:
        row = rows[chosen[0]]
        if filters.can_drill(dim, row[dim]):
            start = ui.as_date(row["period_start"])
            filters.drill_point({dim: row[dim]}, slice_request, start, kpi)


ui.table(
    table,
    "slice_table",
    column_config={value_title: value_column},
    on_select=_drill_row,
    selection_mode="single-row",
)
st.caption("Select a row to see its tickets.")
ui.csv_button(
    [
        {
            dim: r[dim],
            "period_start": r["period_start"],
            kpi: r["kpis"][kpi],
            "n": r["n"][kpi],
            "small": r["small"],
            "complete": r["complete"],
        }
        for r in rows
    ],
    f"{kpi}_by_{dim}_{sel.grain}",
    "slice_csv",
)
st.caption(
    f"Small: fewer than {params.min_group_size} behind the value (`min_group_size`). "
    f"Provisional: a {sel.grain} ended less than {result_maturity:g} days before the data's "
    "as-of, its tickets may not yet be answered or solved (dashed on the chart)."
)

st.header("Two dimensions at once")
DEFAULT_ACROSS = "group"
across = st.selectbox(
    f"{KPI_CATALOG[kpi].label} by {DIMENSIONS[dim].label.lower()} (rows) and",
    list(DIMENSIONS),
    index=list(DIMENSIONS).index(
        links.from_url("across", list(DIMENSIONS), dim_labels, DEFAULT_ACROSS, "dimension")
    ),
    format_func=dim_labels.get,
    key="across",
    help="The columns of the table below; its rows are the dimension chosen above.",
)
links.to_url("across", across, DEFAULT_ACROSS)
if across == dim:
    st.info("Pick a second dimension other than the first to see them at once.")
else:
    pairs = ctx.fetch_or_explain(
        compute_slice, params, sel.request(kpis=(kpi,), by=(dim, across))
    ) or {"rows": [], "notes": {}}
    both = f"{DIMENSIONS[dim].label.lower()} and {DIMENSIONS[across].label.lower()}"
    if kpi in pairs["notes"]:
        st.info(f"{KPI_CATALOG[kpi].label} by {both}: {pairs['notes'][kpi]}.")
    elif pairs["rows"]:

        def _drill_pair() -> None:
            for point in ui.picked("pair_chart"):
                first, second = point.get("row_value"), point.get("column_value")
                if filters.can_drill(dim, first) and filters.can_drill(across, second):
                    filters.drill({dim: first, across: second})
                    return

        ui.chart(
            charts.pivot_chart(
                pairs["rows"],
                kpi,
                (dim, across),
                (DIMENSIONS[dim].label, DIMENSIONS[across].label),
            ),
            "pair_chart",
            f"{KPI_CATALOG[kpi].label} by {both}, {wording.range_text(sel)}",
            on_pick=_drill_pair,
            file_name=f"{kpi}_by_{dim}_and_{across}",
            help=KPI_CATALOG[kpi].description,
        )
        ui.csv_button(
            ui.csv_bytes(
                [
                    {
                        dim: r[dim],
                        across: r[across],
                        kpi: r["kpis"][kpi],
                        "n": r["n"][kpi],
                        "small": r["small"],
                    }
                    for r in pairs["rows"]
                ]
            ),
            f"{kpi}_by_{dim}_and_{across}",
            "pair_csv",
        )
        st.caption(
            "Each cell: the value over the whole range and its n. A small cell (fewer than "
            f"{params.min_group_size} behind it) is white with a dashed outline and says "
            "“small”: too few to read its colour as a difference. Click a cell to see its "
            "tickets (both values set as filters)."
        )
    else:
        st.info(f"No {KPI_CATALOG[kpi].label.lower()} by {both} in this range.")

st.header("Retention triangle")
by = st.radio(
    "Cohorts by",
    tuple(COHORT_KINDS),
    index=tuple(COHORT_KINDS).index(
        links.from_url("cohort_by", tuple(COHORT_KINDS), COHORT_KINDS, DEFAULT_COHORTS, "cohort")
    ),
    format_func=COHORT_KINDS.get,
    horizontal=True,
    key="cohort_by",
)
links.to_url("cohort_by", by, DEFAULT_COHORTS)
cohorts = ctx.fetch(compute_cohorts, params, by)


def _drill_cohort() -> None:
    for point in ui.picked("triangle"):
        cohort = point.get("cohort")
        if not cohort:
            continue
        if by == "signup_month":
            filters.drill({"signup_month": cohort})
        else:  # no filter names a first-failure month: its tickets created in that month
            first = dt.date.fromisoformat(f"{cohort}-01")
            filters.drill({}, filters.period_of(first, "month"))
        return


if cohorts["cohorts"]:
    ui.chart(
        charts.triangle_chart(cohorts),
        "triangle",
        "Retention triangle: share of each cohort still customers, by months after",
        on_pick=_drill_cohort,
        file_name=f"retention_triangle_{by}",
        company_wide=True,
    )
    cells = pl.DataFrame(
        [
            {
                "cohort": c["cohort"],
                "recovery_group": c["recovery_group"],
                "customers": c["customers"],
                **{f"+{m['month']}": m["share"] for m in c["months"]},
            }
            for c in cohorts["cohorts"]
        ]
    )
    ui.csv_button(cells, f"retention_triangle_{by}", "triangle_csv")
    st.caption(
        "Each row is a cohort: its size (customers) first, then the share of it still "
        "customers at the end of each later month (company-wide; the sidebar's filters do "
        "not apply). A month shows once it has ended, so the newest cohorts show only their "
        "size. "
        + (
            "Click a cell to see that cohort's tickets."
            if by == "signup_month"
            else "Split by each customer's recovery group at the end of the cohort month. Click "
            "a cell to see the tickets created in that cohort's month (every customer's: no "
            "filter names a first-failure month)."
        )
    )
else:
    st.info("No cohorts yet.")
