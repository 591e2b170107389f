"""Altair chart builders: pure functions from metric frames to chart specs.

They only rename and label what the metrics package returns; every number is computed in
the warehouse. Each chart fills its container's width.
"""

from __future__ import annotations

import altair as alt
import polars as pl

CHART_HEIGHT = 280

# Recovery groups in the order of the story: recovered vs never failed, then the rest.
GROUP_LABELS = {
    "recovered": "Recovered",
    "never_failed": "Never failed",
    "unrecovered": "Unrecovered",
    "in_recovery": "In recovery",
}
TTA_SERIES = {"tta_median_minutes": "Median", "tta_p90_minutes": "90th percentile"}

_WEEK_AXIS = alt.X("week_start:T", title="Week starting", axis=alt.Axis(format="%d %b"))


def tta_trend_chart(trends: pl.DataFrame, target_minutes: float | None = None) -> alt.LayerChart:
    """Weekly median and p90 time to acknowledge, with the target as a dashed rule.

    ``trends``: one row per week (``weekly_trends``), with week_start, tickets_created,
    tta_median_minutes and tta_p90_minutes.
    """
    weeks = trends.select(
        "week_start",
        "tickets_created",
        *[pl.col(column).alias(label) for column, label in TTA_SERIES.items()],
    )
    lines = (
        alt.Chart(weeks)
        .transform_fold(list(TTA_SERIES.values()), as_=["statistic", "minutes"])
        .mark_line(point=True)
        .encode(
            x=_WEEK_AXIS,
            y=alt.Y("minutes:Q", title="Time to acknowledge (minutes)"),
            color=alt.Color(
                "statistic:N",
                title=None,
                sort=list(TTA_SERIES.values()),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("week_start:T", title="Week starting", format="%d %b %Y"),
                alt.Tooltip("statistic:N", title="Statistic"),
                alt.Tooltip("minutes:Q", title="Minutes", format=".0f"),
                alt.Tooltip("tickets_created:Q", title="Tickets created"),
            ],
        )
    )
    layers = [lines]
    if target_minutes is not None:
        target = pl.DataFrame({"target_minutes": [float(target_minutes)]})
        layers.append(
            alt.Chart(target)
            .mark_rule(strokeDash=[6, 4], color="gray")
            .encode(
                y="target_minutes:Q",
                tooltip=[alt.Tooltip("target_minutes:Q", title="Target (minutes)")],
            )
        )
    return alt.layer(*layers).properties(
        title="Time to acknowledge", width="container", height=CHART_HEIGHT
    )


def one_touch_trend_chart(trends: pl.DataFrame) -> alt.Chart:
    """Weekly one-touch resolution rate (a fraction, shown as a percentage)."""
    weeks = trends.select("week_start", "tickets_created", "one_touch_rate")
    return (
        alt.Chart(weeks)
        .mark_line(point=True)
        .encode(
            x=_WEEK_AXIS,
            y=alt.Y(
                "one_touch_rate:Q",
                title="One-touch resolution rate (% of solved tickets)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=[
                alt.Tooltip("week_start:T", title="Week starting", format="%d %b %Y"),
                alt.Tooltip("one_touch_rate:Q", title="One-touch rate", format=".1%"),
                alt.Tooltip("tickets_created:Q", title="Tickets created"),
            ],
        )
        .properties(title="One-touch resolution", width="container", height=CHART_HEIGHT)
    )


def recovery_group_chart(
    groups: pl.DataFrame, measure: str, horizon_days: int = 90
) -> alt.LayerChart:
    """NPS or retention per recovery group: a bar per group and its 95% interval.

    ``groups``: one row per recovery group (``recovery_groups``). ``measure`` is ``"nps"``
    or ``"retention"``; a group without a value for it is left without a bar.
    """
    if measure == "nps":
        title, axis_title = "NPS by recovery group", "NPS (-100 to 100)"
        size_column, size_title = "nps_responses", "NPS responses"
        scale, axis_format, value_format = alt.Scale(domain=[-100, 100]), "d", "+.1f"
    elif measure == "retention":
        title = f"{horizon_days}-day retention by recovery group"
        axis_title = f"Customers retained after {horizon_days} days (%)"
        size_column, size_title = "customers_at_t0", "Customers at start"
        scale, axis_format, value_format = alt.Scale(domain=[0, 1]), "%", ".1%"
    else:
        raise ValueError(f"measure must be 'nps' or 'retention', not {measure!r}")

    rows = groups.select(
        pl.col("group").replace_strict(GROUP_LABELS, default=pl.col("group")).alias("group"),
        pl.col(measure).alias("value"),
        pl.col(f"{measure}_ci_low").alias("ci_low"),
        pl.col(f"{measure}_ci_high").alias("ci_high"),
        pl.col(size_column).alias("size"),
    )
    x = alt.X(
        "group:N",
        title="Recovery group",
        sort=list(GROUP_LABELS.values()),
        axis=alt.Axis(labelAngle=0),
    )
    tooltip = [
        alt.Tooltip("group:N", title="Group"),
        alt.Tooltip("value:Q", title=axis_title, format=value_format),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=value_format),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=value_format),
        alt.Tooltip("size:Q", title=size_title),
    ]
    base = alt.Chart(rows)
    bars = base.mark_bar(opacity=0.8).encode(
        x=x,
        y=alt.Y("value:Q", title=axis_title, scale=scale, axis=alt.Axis(format=axis_format)),
        color=alt.Color("group:N", sort=list(GROUP_LABELS.values()), legend=None),
        tooltip=tooltip,
    )
    intervals = base.mark_errorbar(ticks=True).encode(
        x=x,
        y=alt.Y("ci_low:Q", title=axis_title),
        y2="ci_high:Q",
        tooltip=tooltip,
    )
    return alt.layer(bars, intervals).properties(
        title=title, width="container", height=CHART_HEIGHT
    )
