"""Overview: recovery KPIs against their targets and the previous period, and their trends."""

import streamlit as st

from dashboard import charts, filters, ui, wording
from dashboard.kpi_tiles import KPI_GROUPS, kpi_tile, last_complete
from data_contracts.options import BEFORE_2026_12
from metrics import KPI_CATALOG, compute_kpis, compute_slice

# Trend charts: (KPIs drawn together, the KPI whose target is the rule line, title).
TRENDS = (
    (("tta_median_minutes", "tta_p90_minutes"), "tta_p90_minutes", "Time to acknowledge"),
    (("tta_within_target_pct",), "tta_within_target_pct", "Acknowledged within target"),
    (("one_touch_rate",), "one_touch_rate", "One-touch resolution"),
    (("recovery_rate",), "recovery_rate", "Recovery rate"),
)

ctx = ui.context()
sel, params, targets = ctx.selection, ctx.setup.params, ctx.setup.targets

TILE_KPIS = tuple(name for names in KPI_GROUPS.values() for name in names)
TREND_KPIS = tuple(n for names, _, _ in TRENDS for n in names)

st.title("Service recovery: overview")
current = ctx.fetch(compute_kpis, params, sel.request())
# Every KPI per period, measured at the range's end: the trends draw it, and the tiles' changes
# compare its last complete period with the one before (never an immature one).
trend_request = sel.trend_request(tuple(dict.fromkeys(TREND_KPIS + TILE_KPIS)))
trend = ctx.fetch(compute_slice, params, trend_request)
if params.definitions in BEFORE_2026_12:  # then: the range against the range just before it
    changes = f"changes against the {sel.days} days before"
    earlier = sel.previous()
    previous = ctx.fetch(compute_kpis, params, earlier.request()) if earlier else {"kpis": {}}
    now = current
else:
    last, before = last_complete(trend["rows"])
    if before is None:
        changes = f"no change shown: fewer than two complete {sel.grain}s"
        now, previous = {"kpis": {}}, {"kpis": {}}
    else:
        changes = wording.change_text(last["period_start"], sel.grain)
        now, previous = last, before
    if trend["maturity_days"] is not None and not all(r["complete"] for r in trend["rows"]):
        changes += " · " + wording.provisional_text(trend["maturity_days"])
st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel) + " · " + changes)

# The recovery paradox: the primary verdict first, the other comparisons as secondary.
lead, secondary = wording.paradox_lead(current["paradox"], int(params.horizon_days))
st.markdown(f"**Recovery paradox.** {lead}")
st.caption(" ".join(secondary))

for group_name, kpi_names in KPI_GROUPS.items():
    st.subheader(group_name)
    for column, name in zip(st.columns(len(kpi_names)), kpi_names, strict=True):
        tile = kpi_tile(
            name,
            current["kpis"].get(name),
            compared=(now["kpis"].get(name), previous["kpis"].get(name)),
            target=targets.get(name),
            n=current["n"].get(name),
            min_size=params.min_group_size,
        )
        with column.container(border=True):
            st.metric(
                tile.label,
                tile.value,
                tile.delta,
                tile.delta_color,
                help=tile.help,
                delta_arrow="off",
                delta_description=tile.delta_description,
            )
            if tile.status:
                st.markdown(tile.status)

st.header("Trends")
st.caption(
    f"Per {sel.grain}, with the filters above; a dashed rule is the target. A dashed line and a "
    f"hollow point: a {sel.grain} not yet complete, {charts.INCOMPLETE_HELP.split(': ', 1)[1]}. "
    "Click a point to see its tickets."
)


def _drill_period(key: str, names: tuple[str, ...]) -> None:
    for point in ui.picked(key):
        start = ui.as_date(point.get("period_start"))
        if start is not None:  # the clicked line's KPI (the first when the pick has none)
            kpi = point.get("kpi") if point.get("kpi") in names else names[0]
            filters.drill_point({}, trend_request, start, kpi)
            return


if not trend["rows"]:  # a range after (or before) the data: no period to draw
    st.info(f"No tickets in the trend's periods up to {sel.end:%d %b %Y}.", icon=":material/tune:")
for row in (TRENDS[:2], TRENDS[2:]) if trend["rows"] else ():
    for column, (names, target_kpi, title) in zip(st.columns(2), row, strict=True):
        key = f"trend_{target_kpi}"
        with column:
            ui.chart(
                charts.trend_chart(trend["rows"], list(names), sel.grain, targets.get(target_kpi)),
                key,
                title,
                on_pick=lambda key=key, names=names: _drill_period(key, names),
                file_name=key,
                help=" ".join(
                    f"**{KPI_CATALOG[n].label}:** {KPI_CATALOG[n].description}" for n in names
                ),
            )
