"""Cohorts: any KPI by any dimension and period, as a chart and a table, and the retention
triangle as a heatmap. Clicking a point or a cell shows the tickets behind it."""

import polars as pl
import streamlit as st

from dashboard import charts, filters, ui, wording
from metrics import DIMENSIONS, KPI_CATALOG, compute_cohorts, compute_slice, format_value
from metrics.names import dimension_names, labels

ctx = ui.context()
sel, params = ctx.selection, ctx.setup.params

st.title("Cohorts and slices")
st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel))

kpi_column, dim_column = st.columns(2)
kpi = kpi_column.selectbox(
    "KPI",
    list(KPI_CATALOG),
    index=list(KPI_CATALOG).index("one_touch_rate"),
    format_func=lambda name: KPI_CATALOG[name].label,
    key="kpi",
    bind="query-params",
    help="Each KPI's definition is in its tooltip on the chart and in docs/metrics.md.",
)
dim = dim_column.selectbox(
    "By",
    list(DIMENSIONS),
    index=list(DIMENSIONS).index("channel"),
    format_func=lambda name: DIMENSIONS[name].label,
    key="by",
    bind="query-params",
)
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


if rows and kpi not in result["notes"]:
    ui.chart(
        charts.by_dimension_chart(rows, kpi, dim, DIMENSIONS[dim].label, sel.grain, shown_as),
        "slice_chart",
        f"{KPI_CATALOG[kpi].label} by {DIMENSIONS[dim].label.lower()}, per {sel.grain}",
        on_pick=_drill_cell,
        file_name=f"{kpi}_by_{dim}",
        help=KPI_CATALOG[kpi].description,
    )
table = pl.DataFrame(
    [
        {
            DIMENSIONS[dim].label: label,
            "Period starting": r["period_start"],
            KPI_CATALOG[kpi].label: format_value(kpi, r["kpis"][kpi]),
            "n": r["n"][kpi],
            "Small group": "small" if r["small"] else "",
            "Period": "complete" if r["complete"] else "provisional",
        }
        for r, label in zip(rows, shown_as, strict=True)
    ],
    schema={
        DIMENSIONS[dim].label: pl.String,
        "Period starting": pl.String,
        KPI_CATALOG[kpi].label: pl.String,
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


ui.table(table, "slice_table", on_select=_drill_row, selection_mode="single-row")
st.caption("Select a row to see its tickets.")
ui.csv_button(
    ui.csv_bytes(
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
        ]
    ),
    f"{kpi}_by_{dim}_{sel.grain}",
    "slice_csv",
)
st.caption(
    f"Small: fewer than {params.min_group_size} behind the value (`min_group_size`). "
    f"Provisional: a {sel.grain} ended less than {result_maturity:g} days before the data's "
    "as-of, its tickets may not yet be answered or solved (dashed on the chart)."
)

st.header("Retention triangle")
by = st.radio(
    "Cohorts by",
    ("signup_month", "first_failure_month"),
    format_func={"signup_month": "Signup month", "first_failure_month": "First failure month"}.get,
    horizontal=True,
    key="cohort_by",
    bind="query-params",
)
cohorts = ctx.fetch(compute_cohorts, params, by)


def _drill_cohort() -> None:
    for point in ui.picked("triangle"):
        if point.get("cohort") and by == "signup_month":
            filters.drill({"signup_month": point["cohort"]})
            return


if cohorts["cohorts"]:
    ui.chart(
        charts.triangle_chart(cohorts),
        "triangle",
        "Retention triangle",
        on_pick=_drill_cohort if by == "signup_month" else None,
        file_name=f"retention_triangle_{by}",
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
    ui.csv_button(ui.csv_bytes(cells), f"retention_triangle_{by}", "triangle_csv")
    st.caption(
        "Share of each cohort still a customer at the end of each later month (company-wide)."
        + (" Click a row's cell to see that cohort's tickets." if by == "signup_month" else "")
    )
else:
    st.info("No cohorts yet.")
