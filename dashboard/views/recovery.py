"""Recovery: does putting a problem right pay? The paradox verdicts in plain words (crude and
like for like), retention curves after a failure, recovery economics, proactive against
reactive, and how fast detractors hear back."""

import polars as pl
import streamlit as st

from dashboard import charts, filters, links, ui, wording
from data_contracts.options import SURVIVAL_SPLITS
from metrics import compute_kpis, format_value, recovery_groups
from metrics.formatting import format_minutes
from metrics.recovery import compute_recovery
from metrics.survival import at_risk_on, compute_survival

VERDICT_CALLOUTS = {"holds": st.success, "not_detected": st.info, "reversed": st.warning}
SPLIT_LABELS = {
    "recovery_group": "Recovery group",
    "tta_bucket": "Time to first reply",
    "one_touch": "One touch",
    "compensation": "Compensation",
}
AT_RISK_DAYS = (0, 30, 90, 180, 365)  # as the CLI's survival table, and the start

ctx = ui.context()
sel, params = ctx.selection, ctx.setup.params
horizon = int(params.horizon_days)

st.title("Service recovery: does it pay?")
st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel))
outside = ui.range_note(ctx)
if outside:
    st.info(outside, icon=":material/event_busy:")

COMPANY_WIDE = (
    "Company-wide, at the data's as-of time ({as_of}): the sidebar's filters and dates do not "
    "apply here."
)
company_wide = COMPANY_WIDE.format(as_of=wording.as_of_text(ctx.as_of).removeprefix("Data as of "))

st.header("Recovery paradox")
st.caption(
    "Do customers whose problem was put right end up more loyal than customers who never had "
    "one? The sentences and the table by segment follow the sidebar's filters and dates."
)
report = ctx.fetch(compute_kpis, params, sel.request())
groups = ctx.fetch(recovery_groups, params)


def _drill_group(key: str) -> None:
    for point in ui.picked(key):
        if point.get("recovery_group"):
            filters.drill({"recovery_group": point["recovery_group"]})
            return


for column, delta_name in zip(st.columns(2), ("nps_delta", "retention_delta"), strict=True):
    delta = report["paradox"][delta_name]
    with column:
        callout = VERDICT_CALLOUTS.get(delta.get("verdict"), st.info)
        callout(wording.paradox_sentence(delta_name, delta, horizon))
        matched = delta.get("matched")
        if matched:
            st.caption(
                "Like for like (never-failed customers weighted to the recovered customers' "
                "tenure, segment and plan): "
                + wording.paradox_sentence(delta_name, matched, horizon)
            )
csat = report["paradox"]["csat_delta"]
VERDICT_CALLOUTS.get(csat.get("verdict"), st.info)(
    wording.paradox_sentence("csat_delta", csat, horizon)
    + " (rated tickets solved in the last 365 days, not reopened)"
)
if report.get("hindsight") and report["hindsight"].get("first_known_later"):
    st.caption(f"Point in time: {report['hindsight']['note']}")

st.subheader("By segment")


def _delta_cells(name: str, delta: dict) -> dict:
    """A paradox delta's value, interval, n and verdict as the table shows them."""
    label = "NPS" if name == "nps_delta" else f"{horizon}-day retention"
    sizes = delta.get("n") or {}
    interval = (
        None
        if delta.get("ci_low") is None
        else f"{format_value(name, delta['ci_low'])} to {format_value(name, delta['ci_high'])}"
    )
    return {
        f"{label}: recovered − never failed": format_value(name, delta.get("value")),
        f"{label}: 95% CI": interval,
        f"{label}: n recovered": sizes.get("recovered"),
        f"{label}: n never failed": sizes.get("never_failed"),
        f"{label}: verdict": (delta.get("verdict") or "not enough data").replace("_", " "),
    }


segments = report.get("paradox_by_segment") or []
if segments:
    ui.table(
        pl.DataFrame(
            [
                {"segment": "(none)" if s["segment"] is None else str(s["segment"])}
                | _delta_cells("nps_delta", s["nps_delta"])
                | _delta_cells("retention_delta", s["retention_delta"])
                for s in segments
            ]
        ),
        "paradox_by_segment",
        "paradox_by_segment",
    )
    st.caption(
        "The crude comparison within each segment (as `turnaround metrics --json` gives it in "
        "`paradox_by_segment`). A verdict needs both groups of at least "
        f"{params.min_group_size} customers. " + wording.MULTIPLE_COMPARISONS
    )
else:
    st.info("No segment has customers to compare with these filters.")

st.subheader("NPS and retention by recovery group")
st.caption(
    company_wide + " Bars: each recovery group's value, whiskers its 95% confidence interval; "
    "click a bar to see its tickets."
)
for column, measure in zip(st.columns(2), ("nps", "retention"), strict=True):
    key = f"groups_{measure}"
    with column:
        ui.chart(
            charts.recovery_group_chart(groups, measure, horizon),
            key,
            "NPS by recovery group" if measure == "nps" else f"{horizon}-day retention by group",
            on_pick=lambda key=key: _drill_group(key),
            file_name=key,
            company_wide=True,
        )

st.header("Retention curves")
# The split is in the URL by its id (?split=one_touch); an old label link still opens.
splits = list(SURVIVAL_SPLITS)
split_labels = {name: SPLIT_LABELS.get(name, name) for name in splits}
split = st.selectbox(
    "Retention curves by",
    splits,
    index=splits.index(
        links.from_url("split", splits, split_labels, splits[0], "split") or splits[0]
    ),
    format_func=split_labels.get,
    key="split",
    help="Recovery group at the landmark, or the recovery quality of each customer's last "
    "failure solved by then: " + "; ".join(SURVIVAL_SPLITS.values()) + ".",
)
links.to_url("split", split, splits[0])
survival = ctx.fetch(compute_survival, params, split)
landmark = survival.get("max_day") is not None  # current definitions: from a landmark
if landmark:
    st.caption(
        f"The landmark is {survival['landmark'][:10]}, {survival['max_day']} days before the "
        "data's as-of: every customer active then is put in their group of that day (in a "
        "split, by their last failure solved by then) and "
        "followed until they leave or the as-of, so no group is chosen by what happened later. "
        + company_wide
    )
elif survival.get("landmark"):
    st.caption(
        "Failed customers are followed from their first failure's solving; never-failed "
        f"customers from {survival['landmark'][:10]}, the median of those starts. " + company_wide
    )
else:
    st.caption(company_wide)
if survival["groups"]:
    ui.chart(
        charts.survival_chart(survival),
        "survival",
        f"Still a customer, days after {survival['landmark'][:10]}, by the group then"
        if landmark
        else "Still a customer, days after a first failure",
        file_name=f"retention_curves_{split}",
        company_wide=True,
    )
    test = survival["logrank"]
    difference = survival.get("difference")
    if difference and difference["value"] is not None:
        st.caption(
            f"Kaplan–Meier curves with 95% bands. Recovered minus never failed "
            f"on day {difference['day']}, customers with as many tickets in the look-back "
            f"compared: {difference['value'] * 100:+.1f} percentage points "
            f"(95% CI {difference['ci_low'] * 100:+.1f} to {difference['ci_high'] * 100:+.1f}), "
            f"{difference['verdict'].replace('_', ' ')}. The curves are each group's own: "
            "customers who write more fail again more often, so past day "
            f"{difference['day']} the recovered curve also carries the churn of failing again."
        )
    if test["p_value"] is not None:
        differ = "the curves differ" if test["p_value"] < 0.05 else "no difference shown"
        compared = " and ".join(g.replace("_", " ") for g in test.get("groups") or [])
        tested = (
            f"Log-rank test of {compared} customers with as many tickets in the look-back"
            if landmark
            else "Kaplan–Meier curves with 95% bands. Log-rank test"
        )
        st.caption(
            f"{tested}: chi-square "
            f"{test['statistic']:.1f} on {test['df']} df, p = {test['p_value']:.2g} ({differ})."
        )
    still = f"still a customer at day {horizon} (%)"
    low, high = "95% CI low (%)", "95% CI high (%)"
    at_horizon = pl.DataFrame(
        [
            {
                "group": charts.GROUP_LABELS.get(g["group"], g["group"]),
                "customers (n)": g["customers"],
                "churned": g["events"],
                still: None if g["at_horizon"] is None else g["at_horizon"]["survival"] * 100,
                low: None if g["at_horizon"] is None else g["at_horizon"]["ci_low"] * 100,
                high: None if g["at_horizon"] is None else g["at_horizon"]["ci_high"] * 100,
            }
            for g in survival["groups"]
        ],
        schema_overrides={still: pl.Float64, low: pl.Float64, high: pl.Float64},
    )
    ui.table(
        at_horizon,
        "survival_table",
        f"retention_at_horizon_{split}",
        column_config={column: ui.percent_column(column) for column in (still, low, high)},
    )
    days = [d for d in AT_RISK_DAYS if not landmark or d <= survival["max_day"]]
    st.markdown("**Customers at risk** (still followed on the day: neither left nor censored)")
    ui.table(
        pl.DataFrame(
            [
                {"group": charts.GROUP_LABELS.get(g["group"], g["group"])}
                | {f"day {d}": at_risk_on(g["curve"], d) for d in days}
                for g in survival["groups"]
            ],
            schema={"group": pl.String} | {f"day {d}": pl.Int64 for d in days},
        ),
        "at_risk_table",
        f"at_risk_{split}",
    )
    st.caption(
        "A curve is less certain where few remain at risk: its band widens there. "
        "No group's curve reaches past the follow-up of its last customer."
    )
else:
    st.info("No customers to follow yet.")

st.header("What recovery buys")
st.caption(company_wide + " So are proactive against reactive and closing the loop below.")
recovery = ctx.fetch(compute_recovery, params)
money = recovery["economics"]
value = money["value_of_recovery"]


def _money_tiles(*tiles: tuple[str, str, str]) -> None:
    """One bordered tile per (label, shown value, tooltip), side by side."""
    for column, (label, shown, tip) in zip(st.columns(len(tiles)), tiles, strict=True):
        column.metric(label, shown, help=tip, border=True)


if value is None:  # definitions 2026-11: the numbers as published, named as the CLI names them
    _money_tiles(
        (
            "Net of compensation (2026-11)",
            wording.money_text(money["net_gain"], params.currency),
            "The 2026-11 definition: the monthly revenue gap between recovered customers and "
            f"the unrecovered retention rate at day {horizon}, times the whole horizon, less "
            "the compensation paid to recovered customers.",
        ),
        (
            "ROI (2026-11)",
            wording.return_text(money["roi"]),
            "Net of compensation over the compensation paid to recovered customers.",
        ),
    )
    st.caption(
        'Kept as first defined ([metrics] definitions = "2026-11"): these overstate the '
        "return (the gap builds up over the horizon; only the recovered customers' "
        "compensation is counted). The 2026-12 definitions give the value of recovery instead."
    )
else:
    currency = value["currency"]
    _money_tiles(
        (
            "Value of recovery",
            wording.money_text(value["gain"], currency),
            f"What recovered customers paid over the last {horizon} days above what they "
            "would have paid had they stayed like unrecovered customers (their MRR times the "
            "months they stayed beyond that path).",
        ),
        (
            "Cost: compensation",
            wording.money_text(value["cost"], currency),
            "All compensation on the failures that grouped the customers, recovered or not.",
        ),
        ("Return", wording.return_text(value["return"]), "(Value of recovery − cost) / cost."),
    )
    st.caption(wording.value_of_recovery_text(value))
    st.caption(wording.compensation_effect_text(money["compensation_effect"], horizon))

left, right = st.columns(2)
with left:
    st.subheader("Proactive against reactive")
    disclosure = recovery["disclosure"]
    retained = f"{horizon}-day retention (%)"
    frame = pl.DataFrame(
        [
            {
                "failures": kind,
                "n": values["failures"],
                "recovery rate (%)": ui.percents([values["recovery_rate"]])[0],
                "customers": values["customers_at_t0"],
                retained: ui.percents([values["retention"]])[0],
            }
            for kind, values in disclosure.items()
        ],
        schema_overrides={"recovery rate (%)": pl.Float64, retained: pl.Float64},
    )
    ui.table(
        frame,
        "disclosure",
        "proactive_vs_reactive",
        column_config={name: ui.percent_column(name) for name in ("recovery rate (%)", retained)},
    )
    st.caption(
        "Proactive: failures tagged " + ", ".join(params.proactive_tags) + " (the company told "
        "the customer first)."
    )
with right:
    st.subheader("Closing the loop")
    loop = recovery["close_the_loop"]
    cols = st.columns(2)
    cols[0].metric(
        f"Answered within {loop['within_hours']:g} h",
        "—" if loop["within_share"] is None else f"{loop['within_share']:.1%}",
        help="Detractor responses and bad ratings answered (the first agent reply after it on "
        "any of the customer's tickets) within the window.",
        border=True,
    )
    cols[1].metric(
        "Median time to answer",
        "—" if loop["median_hours"] is None else format_minutes(loop["median_hours"] * 60),
        border=True,
    )
    undated = loop.get("undated_bad_ratings") or 0  # None under 2026-11: not counted
    st.caption(
        f"n = {loop['judged']:,} of {loop['signals']:,} detractor signals could be judged."
        + (
            f" {undated:,} bad rating{'s' if undated != 1 else ''} without a known time left out."
            if undated
            else ""
        )
    )
