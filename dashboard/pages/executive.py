"""Executive overview: recovery KPIs against targets, their weekly trend, the recovery paradox."""

import streamlit as st

from dashboard import charts, data, wording
from dashboard.kpi_tiles import KPI_GROUPS, kpi_tile
from metrics import MetricParams
from warehouse import resolve_url

DEFAULTS = MetricParams()
VERDICT_CALLOUTS = {"holds": st.success, "not_detected": st.info, "reversed": st.warning}

st.title("Service recovery: executive overview")

with st.sidebar:
    st.header("Parameters")
    horizon_days = st.number_input(
        "Retention horizon (days)",
        min_value=7,
        max_value=730,
        value=int(DEFAULTS.horizon_days),
        step=1,
        help="Retention is measured over this many days before the data's as-of time.",
    )
    target_minutes = st.number_input(
        "Acknowledgement target (minutes)",
        min_value=1,
        max_value=7 * 24 * 60,
        value=int(DEFAULTS.target_minutes),
        step=5,
        help=(
            "A ticket is acknowledged within target when its first reply comes this fast. "
            "Drives 'Acknowledged within target' and the dashed line of the TTA chart; "
            "tile targets come from the KPI catalog."
        ),
    )
    if st.button("Refresh data", help="Read the warehouse again instead of cached results."):
        data.executive_summary.clear()

url = resolve_url()
try:
    summary = data.executive_summary(url, int(horizon_days), int(target_minutes))
except data.WarehouseNotReady as problem:
    st.warning(problem.message, icon=":material/database:")
    if problem.needs_data:
        st.markdown(wording.load_instructions(data.display_url(url)))
    st.stop()

st.caption(wording.as_of_text(summary.as_of))

for group_name, kpi_names in KPI_GROUPS.items():
    st.subheader(group_name)
    for column, name in zip(st.columns(len(kpi_names)), kpi_names, strict=True):
        tile = kpi_tile(name, summary.kpis.get(name))
        column.metric(
            tile.label,
            tile.value,
            tile.delta,
            tile.delta_color,
            help=tile.help,
            border=True,
            delta_arrow="off",
            delta_description=tile.delta_description,
        )

st.header("Weekly trends")
tta_column, one_touch_column = st.columns(2)
tta_column.altair_chart(
    charts.tta_trend_chart(summary.trends, target_minutes=int(target_minutes)), width="stretch"
)
one_touch_column.altair_chart(charts.one_touch_trend_chart(summary.trends), width="stretch")

st.header("Recovery paradox")
st.caption(
    "Do customers whose problem was put right end up more loyal than customers who never had "
    "a problem? Bars show each recovery group's value; whiskers its 95% confidence interval."
)
for column, measure, delta_name in zip(
    st.columns(2), ("nps", "retention"), ("nps_delta", "retention_delta"), strict=True
):
    delta = summary.paradox[delta_name]
    with column:
        st.altair_chart(
            charts.recovery_group_chart(summary.groups, measure, int(horizon_days)),
            width="stretch",
        )
        callout = VERDICT_CALLOUTS.get(delta.get("verdict"), st.info)
        callout(wording.paradox_sentence(delta_name, delta, int(horizon_days)))
        matched = delta.get("matched")
        if matched:
            st.caption(
                "Like for like (never-failed customers weighted to the recovered customers' "
                "tenure, segment and plan): "
                + wording.paradox_sentence(delta_name, matched, int(horizon_days))
            )
if summary.hindsight and summary.hindsight.get("first_known_later"):
    st.caption(f"Point in time: {summary.hindsight['note']}")
