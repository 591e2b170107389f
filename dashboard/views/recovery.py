"""Recovery: does putting a problem right pay? The paradox verdicts in plain words (crude and
like for like), retention curves after a failure, recovery economics, proactive against
reactive, and how fast detractors hear back."""

import polars as pl
import streamlit as st

from dashboard import charts, filters, ui, wording
from metrics import compute_kpis, recovery_groups
from metrics.formatting import format_minutes
from metrics.recovery import compute_recovery
from metrics.survival import compute_survival

VERDICT_CALLOUTS = {"holds": st.success, "not_detected": st.info, "reversed": st.warning}

ctx = ui.context()
sel, params = ctx.selection, ctx.setup.params
horizon = int(params.horizon_days)

st.title("Service recovery: does it pay?")
st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel))
outside = ui.range_note(ctx)
if outside:
    st.info(outside, icon=":material/event_busy:")

st.header("Recovery paradox")
st.caption(
    "Do customers whose problem was put right end up more loyal than customers who never had "
    "one? With the sidebar's filters and dates. Bars: each recovery group's value, whiskers its "
    "95% confidence interval; click a bar to see its tickets."
)
report = ctx.fetch(compute_kpis, params, sel.request())
groups = ctx.fetch(recovery_groups, params)


def _drill_group(key: str) -> None:
    for point in ui.picked(key):
        if point.get("recovery_group"):
            filters.drill({"recovery_group": point["recovery_group"]})
            return


for column, measure, delta_name in zip(
    st.columns(2), ("nps", "retention"), ("nps_delta", "retention_delta"), strict=True
):
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
        key = f"groups_{measure}"
        ui.chart(
            charts.recovery_group_chart(groups, measure, horizon),
            key,
            "NPS by recovery group" if measure == "nps" else f"{horizon}-day retention by group",
            on_pick=lambda key=key: _drill_group(key),
            file_name=key,
            company_wide=True,
        )
csat = report["paradox"]["csat_delta"]
VERDICT_CALLOUTS.get(csat.get("verdict"), st.info)(
    wording.paradox_sentence("csat_delta", csat, horizon)
    + " (rated tickets solved in the last 365 days, not reopened)"
)
st.caption(
    "The bars are company-wide at the data's as-of time; the sentences follow the filters. "
    + wording.MULTIPLE_COMPARISONS
)
if report.get("hindsight") and report["hindsight"].get("first_known_later"):
    st.caption(f"Point in time: {report['hindsight']['note']}")

survival = ctx.fetch(compute_survival, params, "recovery_group")
landmark = survival.get("max_day") is not None  # current definitions: from a landmark
st.header("Retention by recovery group" if landmark else "Retention after a first failure")
if survival["groups"]:
    ui.chart(
        charts.survival_chart(survival),
        "survival",
        f"Still a customer, days after {survival['landmark'][:10]}, by the group then"
        if landmark
        else "Still a customer, days after a first failure",
        file_name="retention_curves",
        company_wide=True,
    )
    test = survival["logrank"]
    difference = survival.get("difference")
    if difference and difference["value"] is not None:
        st.caption(
            f"Kaplan–Meier curves with 95% bands, company-wide. Recovered minus never failed "
            f"on day {difference['day']}, customers with as many tickets in the look-back "
            f"compared: {difference['value'] * 100:+.1f} percentage points "
            f"(95% CI {difference['ci_low'] * 100:+.1f} to {difference['ci_high'] * 100:+.1f}), "
            f"{difference['verdict'].replace('_', ' ')}. The curves are each group's own: "
            "customers who write more fail again more often, so past day "
            f"{difference['day']} the recovered curve also carries the churn of failing again."
        )
    if test["p_value"] is not None:
        differ = "the curves differ" if test["p_value"] < 0.05 else "no difference shown"
        tested = (
            "Log-rank test of recovered and unrecovered customers with as many tickets in "
            "the look-back"
            if landmark
            else "Kaplan–Meier curves with 95% bands, company-wide. Log-rank test"
        )
        st.caption(
            f"{tested}: chi-square "
            f"{test['statistic']:.1f} on {test['df']} df, p = {test['p_value']:.2g} ({differ})."
        )
    still = f"still a customer at day {horizon} (%)"
    at_horizon = pl.DataFrame(
        [
            {
                "group": charts.GROUP_LABELS.get(g["group"], g["group"]),
                "customers (n)": g["customers"],
                "churned": g["events"],
                still: None if g["at_horizon"] is None else g["at_horizon"]["survival"] * 100,
            }
            for g in survival["groups"]
        ],
        schema_overrides={still: pl.Float64},
    )
    ui.table(
        at_horizon,
        "survival_table",
        "retention_at_horizon",
        column_config={still: ui.percent_column(still)},
    )
else:
    st.info("No failed customers to follow yet.")

st.header("What recovery buys")
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
    st.caption(wording.value_of_recovery_text(value) + " Company-wide.")
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
