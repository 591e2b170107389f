"""Altair chart builders: pure functions from metric results to chart specs.

Titles are not part of the specs: the page writes them above the chart (Streamlit clips a
Vega title in some layouts) and ``png`` puts them into the image.

They only rename and label what the metrics package returns; every number is computed in
the warehouse. Colours are the Okabe–Ito palette (distinguishable with the common kinds of
colour blindness), every axis names its unit, and charts a user can click carry a point
selection named ``pick`` whose fields say what was clicked (``dashboard.filters.drill``).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from metrics import KPI_CATALOG, RECOVERY_GROUPS, format_value

CHART_HEIGHT = 260
PNG_WIDTH = 720
# Okabe & Ito (2008), "Color Universal Design": blue, orange, green, purple, sky, vermilion.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TARGET_COLOR = "#555555"
PICK = "pick"
NO_VALUE = "(none)"  # how a chart names a group of rows without a value
SMALL = "small group"
# An immature period (its row's ``complete`` false): drawn dashed, its point hollow.
COMPLETE, INCOMPLETE = "complete", "incomplete: provisional"
INCOMPLETE_DASH = [5, 4]
INCOMPLETE_HELP = (
    "incomplete: its tickets may not yet be answered or solved, so its values are provisional"
)

# Recovery groups in the order of the story: recovered vs never failed, then the rest.
GROUP_LABELS = {group: group.replace("_", " ").capitalize() for group in RECOVERY_GROUPS}
GROUP_COLORS = dict(zip(GROUP_LABELS.values(), PALETTE, strict=False))
PERIOD_FORMATS = {"day": "%d %b", "week": "%d %b", "month": "%b %Y", "quarter": "%b %Y"}
TTA_SERIES = {"tta_median_minutes": "Median", "tta_p90_minutes": "90th percentile"}


def minutes_scale(top: float | None) -> tuple[float, str]:
    """(divisor, unit) of minutes whose largest value is ``top``: hours past three hours (no
    axis or column in thousands of minutes), else minutes."""
    return (60.0, "hours") if top and top > 180 else (1.0, "minutes")


def _scale(names: list[str], frame: pl.DataFrame, columns: list[str]) -> tuple[float, str]:
    """Divide minutes by 60 when the values run to hours (no axis in thousands of minutes)."""
    if KPI_CATALOG[names[0]].unit != "minutes":
        return 1.0, ""
    return minutes_scale(max((frame[c].max() or 0) for c in columns) if frame.height else 0)


def axis_title(name: str, unit_text: str = "") -> str:
    """The axis title of KPI ``name`` with its unit."""
    kpi = KPI_CATALOG[name]
    unit = {
        "ratio": "%",
        "nps": "-100 to 100",
        "count": "count",
        "minutes": unit_text or "minutes",
    }[kpi.unit]
    return f"{kpi.label} ({unit})"


def has_values(rows: list[dict], names: list[str]) -> bool:
    """Whether any ``compute_slice`` row has a value of any KPI of ``names``: a chart without
    one would be empty axes, so a page says why in words instead."""
    return any(r["kpis"].get(name) is not None for r in rows for name in names)


def _y(name: str, values: pl.Series, title: str) -> alt.Y:
    """The value axis of KPI ``name``: its unit's format with a precision that suits the
    values (no "0.000000%"), whole steps for counts and NPS, and a whole axis (0 to 1, or
    -100 to 100) where every value is 0 instead of a single tick."""
    unit = KPI_CATALOG[name].unit
    top = values.abs().max() if values.len() else None
    top = float(top) if top is not None else 0.0
    shown = {
        "ratio": ".1%" if 0 < top < 0.05 else ".0%",
        "nps": "+d",
        "count": ",d",
        "minutes": ",.1f" if 0 < top < 10 else ",.0f",
    }[unit]
    whole = unit in ("count", "nps")
    axis = alt.Axis(format=shown, tickMinStep=1) if whole else alt.Axis(format=shown)
    if top:
        return alt.Y("value:Q", title=title, axis=axis)
    domain = [-100, 100] if unit == "nps" else [0, 1]
    return alt.Y("value:Q", title=title, axis=axis, scale=alt.Scale(domain=domain))


def _value_format(name: str) -> str:
    return {"ratio": ".1%", "nps": "+.1f", "count": ",d", "minutes": ",.1f"}[KPI_CATALOG[name].unit]


def _period_label(grain: str, starts: list[str]) -> pl.Expr:
    """The period's start as the axis writes it ("07 Sep", "Sep 2026"), from its ISO day;
    with the year ("07 Sep 2025") when the periods run over more than one year, so that no
    two periods share a label."""
    shown = PERIOD_FORMATS[grain]
    if len({start[:4] for start in starts}) > 1 and "%Y" not in shown:
        shown += " %Y"
    return pl.col("period_start").str.to_date().dt.strftime(shown).alias("period")


def _period_x(grain: str) -> alt.X:
    """Periods as ordered categories: a label per period start (weeks start on Mondays,
    which a time axis would not know), in time order."""
    return alt.X(
        "period:O",
        title=f"{grain.capitalize()} starting",
        sort=alt.EncodingSortField(field="period_start", op="min"),
        axis=alt.Axis(labelAngle=-45, labelOverlap=True),
    )


def _maturity(rows: list[dict]) -> dict[str, list]:
    """Columns saying how each row's period is drawn: ``status`` (COMPLETE or INCOMPLETE, as
    the tooltip says), ``solid`` (on the solid line) and ``dashed`` (on the dashed line: the
    incomplete periods and the last complete one before them, so that the line runs on). A
    row without ``complete`` counts as complete."""
    complete = [bool(r.get("complete", True)) for r in rows]
    done = [r["period_start"] for r, c in zip(rows, complete, strict=True) if c]
    last_done = max(done, default=None)
    return {
        "status": [COMPLETE if c else INCOMPLETE for c in complete],
        "solid": complete,
        "dashed": [
            not c or r["period_start"] == last_done and not all(complete)
            for r, c in zip(rows, complete, strict=True)
        ],
    }


def _stroke_dash() -> alt.StrokeDash:
    """The line's dash by its segment, with a legend naming the dashed one."""
    return alt.StrokeDash(
        "segment:N",
        title=None,
        scale=alt.Scale(domain=[COMPLETE, INCOMPLETE], range=[[1, 0], INCOMPLETE_DASH]),
        legend=alt.Legend(orient="top", symbolType="stroke"),
    )


def _lines(base: alt.Chart, **encoding) -> list[alt.Chart]:
    """The solid line over complete periods and the dashed one into incomplete periods."""
    return [
        base.transform_filter(f"datum.{column}")
        .transform_calculate(segment=f"'{segment}'")
        .mark_line()
        .encode(strokeDash=_stroke_dash(), **encoding)
        for column, segment in (("solid", COMPLETE), ("dashed", INCOMPLETE))
    ]


def _target_rule(target: float | None, scale: float) -> list[alt.Chart]:
    if target is None:
        return []
    frame = pl.DataFrame({"target": [float(target) / scale]})
    return [
        alt.Chart(frame)
        .mark_rule(strokeDash=[6, 4], color=TARGET_COLOR)
        .encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", title="Target")])
    ]


def trend_chart(
    rows: list[dict], names: list[str], grain: str, target: float | None = None
) -> alt.LayerChart:
    """KPIs ``names`` (one unit) per period from ``compute_slice`` rows (one row per period),
    a line each, the target as a dashed rule; an incomplete period (``complete`` false) is
    drawn on a dashed segment with a hollow point, its tooltip saying so; clicking a point
    picks its period and its line's KPI."""
    frame = pl.DataFrame(
        {
            "period_start": [r["period_start"] for r in rows],
            **{name: [r["kpis"][name] for r in rows] for name in names},
            "n": [r["n"][names[0]] for r in rows],
            **_maturity(rows),
        },
        schema_overrides={name: pl.Float64 for name in names},
    ).with_columns(_period_label(grain, [r["period_start"] for r in rows]))
    scale, unit_text = _scale(names, frame, names)
    labels = {name: TTA_SERIES.get(name, KPI_CATALOG[name].label) for name in names}
    long = frame.unpivot(
        index=["period_start", "period", "n", "status", "solid", "dashed"],
        on=names,
        variable_name="kpi",
        value_name="value",
    ).with_columns(
        (pl.col("value") / scale).alias("value"),
        pl.col("kpi").replace_strict(labels).alias("series"),
    )
    pick = alt.selection_point(name=PICK, fields=["period_start", "kpi"], on="click")
    y_title = axis_title(names[0], unit_text)
    if len(names) > 1:  # the series name the statistic; the axis the measure
        y_title = f"{KPI_CATALOG[names[0]].label.split(',')[0]} ({unit_text or '%'})"
    x = _period_x(grain)
    y = _y(names[0], long["value"].drop_nulls(), y_title)
    color = alt.Color(
        "series:N",
        title=None,
        sort=list(labels.values()),
        scale=alt.Scale(range=list(PALETTE)),
        legend=alt.Legend(orient="top") if len(names) > 1 else None,
    )
    base = alt.Chart(long)
    # An incomplete period's point is hollow (white inside its line's colour).
    fill = alt.Fill(
        "series:N", sort=list(labels.values()), scale=alt.Scale(range=list(PALETTE)), legend=None
    )
    points = (
        base.mark_point(size=60, filled=False, strokeWidth=2, fillOpacity=1)
        .encode(
            x=x,
            y=y,
            color=color,
            fill=alt.condition(f"datum.status == '{INCOMPLETE}'", alt.value("white"), fill),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=[
                alt.Tooltip("period_start:N", title="Period starting"),
                alt.Tooltip("series:N", title="KPI"),
                alt.Tooltip("value:Q", title=y_title, format=_value_format(names[0])),
                alt.Tooltip("n:Q", title="n", format=",d"),
                alt.Tooltip("status:N", title="Period"),
            ],
        )
        .add_params(pick)
    )
    return alt.layer(
        *_lines(base, x=x, y=y, color=color), points, *_target_rule(target, scale)
    ).properties(width="container", height=CHART_HEIGHT)


def by_dimension_chart(
    rows: list[dict],
    name: str,
    dim: str,
    dim_label: str,
    grain: str,
    shown_as: list[str | None] | None = None,
) -> alt.Chart:
    """KPI ``name`` per period, a line per value of ``dim`` (``compute_slice`` rows), each
    labelled as ``shown_as`` says (a group or an agent by name: metrics.names.labels; else
    the value); a small group's point is drawn hollow; an incomplete period is on a dashed
    segment, its tooltip saying so; clicking a point picks its value (the id) and period."""
    values = [None if r[dim] is None else str(r[dim]) for r in rows]
    frame = pl.DataFrame(
        {
            "value_of": values,
            "shown_as": values if shown_as is None else shown_as,
            "period_start": [r["period_start"] for r in rows],
            "value": [r["kpis"][name] for r in rows],
            "n": [r["n"][name] for r in rows],
            "small": [SMALL if r["small"] else "" for r in rows],
            "bar_label": [_bar_label(name, r) for r in rows],
            **_maturity(rows),
        },
        schema_overrides={"value": pl.Float64, "value_of": pl.String, "shown_as": pl.String},
    ).with_columns(
        _period_label(grain, [r["period_start"] for r in rows]),
        pl.col("value_of").fill_null(NO_VALUE),
        pl.col("shown_as").fill_null(NO_VALUE),
    )
    scale, unit_text = _scale([name], frame, ["value"])
    frame = frame.with_columns(pl.col("value") / scale)
    pick = alt.selection_point(name=PICK, fields=["value_of", "period_start"], on="click")
    title = axis_title(name, unit_text)
    x = _period_x(grain)
    y = _y(name, frame["value"].drop_nulls(), title)
    # one colour per label (labels differ where ids do), the pick by the id
    color = alt.Color(
        "shown_as:N",
        title=dim_label,
        scale=alt.Scale(range=list(PALETTE)),
        legend=alt.Legend(orient="top"),
    )
    base = alt.Chart(frame)
    # A small group's point is hollow (filled points have n at least min_group_size).
    fill = alt.Fill("shown_as:N", scale=alt.Scale(range=list(PALETTE)), legend=None)
    points = (
        base.mark_point(size=70, filled=False, strokeWidth=2, fillOpacity=1)
        .encode(
            x=x,
            y=y,
            color=color,
            fill=alt.condition(f"datum.small == '{SMALL}'", alt.value("white"), fill),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)),
            tooltip=_group_period_tooltip(name, dim_label, title),
        )
        .add_params(pick)
    )
    if frame["period_start"].n_unique() == 1:
        return _one_period_bars(base, frame, name, dim_label, title, pick)
    solid, dashed = _lines(base, x=x, y=y, color=color)
    return alt.layer(solid, points, dashed).properties(width="container", height=CHART_HEIGHT + 60)


def _group_period_tooltip(name: str, dim_label: str, title: str) -> list[alt.Tooltip]:
    """The tooltip of one group's value in one period: the group by its label, the period,
    the value, n, a small group's note and whether the period is complete."""
    return [
        alt.Tooltip("shown_as:N", title=dim_label),
        alt.Tooltip("period_start:N", title="Period starting"),
        alt.Tooltip("value:Q", title=title, format=_value_format(name)),
        alt.Tooltip("n:Q", title="n", format=",d"),
        alt.Tooltip("small:N", title="Note"),
        alt.Tooltip("status:N", title="Period"),
    ]


def _bar_label(name: str, row: dict) -> str:
    """``73.2% · n=41``, with "small" and "provisional" when they hold."""
    words = [format_value(name, row["kpis"][name]), f"n={row['n'][name] or 0:,}"]
    words += ["small"] if row["small"] else []
    words += [] if row.get("complete", True) else ["provisional"]
    return " · ".join(words)


def _one_period_bars(
    base: alt.Chart, frame: pl.DataFrame, name: str, dim_label: str, title: str, pick
) -> alt.LayerChart:
    """One period: a bar per value of the dimension, labelled with its value and n (points
    of one period would stand in one column, on top of each other); a small group's bar is
    hollow and its label says so; an incomplete period's label says "provisional"."""
    # each value by its label (a group or an agent by name); the pick by the id
    x = alt.X("shown_as:N", title=dim_label, axis=alt.Axis(labelAngle=0))
    y = _y(name, frame["value"].drop_nulls(), title)
    color = alt.Color("shown_as:N", scale=alt.Scale(range=list(PALETTE)), legend=None)
    tooltip = _group_period_tooltip(name, dim_label, title)
    bars = (
        base.mark_bar(strokeWidth=2)
        .encode(
            x=x,
            y=y,
            stroke=color,
            fill=alt.condition(f"datum.small == '{SMALL}'", alt.value("white"), color),
            opacity=alt.condition(pick, alt.value(0.9), alt.value(0.45)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    text = base.mark_text(dy=-8, baseline="bottom").encode(
        x=x, y=y, text="bar_label:N", tooltip=tooltip
    )
    return alt.layer(bars, text).properties(width="container", height=CHART_HEIGHT + 60)


# A small cell of the two-dimension view: no colour (its value is noise more than signal),
# a dashed grey outline and the word under its value.
SMALL_STROKE = "#999999"


def pivot_chart(
    rows: list[dict], name: str, dims: tuple[str, str], labels: tuple[str, str]
) -> alt.LayerChart:
    """KPI ``name`` by two dimensions (``compute_slice`` rows over one range): a cell per pair
    of values, coloured by its value and labelled with it and its n; a small group's cell is
    white with a dashed outline and worded "small"; clicking a cell picks both values
    (``row_value``, ``column_value``)."""
    frame = pl.DataFrame(
        {
            "row_value": [None if r[dims[0]] is None else str(r[dims[0]]) for r in rows],
            "column_value": [None if r[dims[1]] is None else str(r[dims[1]]) for r in rows],
            "value": [r["kpis"][name] for r in rows],
            "n": [r["n"][name] for r in rows],
            "small": [SMALL if r["small"] else "" for r in rows],
            "label": [
                f"{format_value(name, r['kpis'][name])}\nn={r['n'][name] or 0:,}"
                + ("\nsmall" if r["small"] else "")
                for r in rows
            ],
        },
        schema_overrides={"value": pl.Float64, "row_value": pl.String, "column_value": pl.String},
    ).with_columns(pl.col("row_value", "column_value").fill_null(NO_VALUE))
    scale, unit_text = _scale([name], frame, ["value"])
    frame = frame.with_columns(pl.col("value") / scale)
    title = axis_title(name, unit_text)
    pick = alt.selection_point(name=PICK, fields=["row_value", "column_value"], on="click")
    x = alt.X("column_value:N", title=labels[1], axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("row_value:N", title=labels[0])
    tooltip = [
        alt.Tooltip("row_value:N", title=labels[0]),
        alt.Tooltip("column_value:N", title=labels[1]),
        alt.Tooltip("value:Q", title=title, format=_value_format(name)),
        alt.Tooltip("n:Q", title="n", format=",d"),
        alt.Tooltip("small:N", title="Note"),
    ]
    # A cell without a value (n = 0: no ticket it could count) is drawn like a small one;
    # ``invalid=None`` keeps it (Vega-Lite would drop a mark with a null colour value).
    is_small = f"datum.small == '{SMALL}' || !isValid(datum.value)"
    base = alt.Chart(frame)
    cells = base.mark_rect(strokeWidth=1.5, invalid=None, aria=False).encode(
        x=x,
        y=y,
        # Light shades only, so that the black labels stay readable on every cell.
        color=alt.condition(
            is_small,
            alt.value("white"),
            alt.Color(
                "value:Q",
                title=title,
                scale=alt.Scale(scheme=alt.SchemeParams(name="blues", extent=[0.05, 0.55])),
                legend=alt.Legend(orient="top", format=_value_format(name)),
            ),
        ),
        stroke=alt.condition(is_small, alt.value(SMALL_STROKE), alt.value("white")),
        strokeDash=alt.condition(is_small, alt.value([4, 3]), alt.value([1, 0])),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.6)),
    )
    text = base.mark_text(lineBreak="\n", fontSize=12, aria=False).encode(
        x=x,
        y=y,
        text="label:N",
        color=alt.condition(is_small, alt.value("#666666"), alt.value("black")),
    )
    # Clicks land on a clear cell drawn over the label (a selection listens to one layer's
    # marks, and the label would otherwise take the click); it carries the tooltip.
    clicks = (
        base.mark_rect(fill="white", fillOpacity=0, invalid=None)
        .encode(x=x, y=y, tooltip=tooltip)
        .add_params(pick)
    )
    # Three lines of label per row; Streamlit fits the legend and axes into the height too.
    height = 58 * max(frame["row_value"].n_unique(), 1) + 130
    return alt.layer(cells, text, clicks).properties(width="container", height=height)


def recovery_group_chart(
    groups: pl.DataFrame, measure: str, horizon_days: int = 90
) -> alt.LayerChart:
    """NPS or retention per recovery group: a bar per group and its 95% interval; clicking a
    bar picks its group.

    ``groups``: one row per recovery group (``recovery_groups``). ``measure`` is ``"nps"``
    or ``"retention"``; a group without a value for it is left without a bar.
    """
    if measure == "nps":
        axis_title_ = "NPS (-100 to 100)"
        size_column, size_title = "nps_responses", "NPS responses"
        scale, axis_format, value_format = alt.Scale(domain=[-100, 100]), "+d", "+.1f"
    elif measure == "retention":
        axis_title_ = f"Retained after {horizon_days} days (%)"
        size_column, size_title = "customers_at_t0", "Customers at start"
        scale, axis_format, value_format = alt.Scale(domain=[0, 1]), "%", ".1%"
    else:
        raise ValueError(f"measure must be 'nps' or 'retention', not {measure!r}")

    rows = groups.select(
        pl.col("group").alias("recovery_group"),
        pl.col("group").replace_strict(GROUP_LABELS, default=pl.col("group")).alias("label"),
        pl.col(measure).alias("value"),
        pl.col(f"{measure}_ci_low").alias("ci_low"),
        pl.col(f"{measure}_ci_high").alias("ci_high"),
        pl.col(size_column).alias("size"),
    )
    pick = alt.selection_point(name=PICK, fields=["recovery_group"], on="click")
    x = alt.X(
        "label:N",
        title="Recovery group",
        sort=list(GROUP_LABELS.values()),
        axis=alt.Axis(labelAngle=0),
    )
    tooltip = [
        alt.Tooltip("label:N", title="Group"),
        alt.Tooltip("value:Q", title=axis_title_, format=value_format),
        alt.Tooltip("ci_low:Q", title="95% CI low", format=value_format),
        alt.Tooltip("ci_high:Q", title="95% CI high", format=value_format),
        alt.Tooltip("size:Q", title=f"n ({size_title})", format=",d"),
    ]
    base = alt.Chart(rows)
    bars = (
        base.mark_bar()
        .encode(
            x=x,
            y=alt.Y("value:Q", title=axis_title_, scale=scale, axis=alt.Axis(format=axis_format)),
            color=alt.Color(
                "label:N",
                scale=alt.Scale(domain=list(GROUP_COLORS), range=list(GROUP_COLORS.values())),
                legend=None,
            ),
            opacity=alt.condition(pick, alt.value(0.9), alt.value(0.4)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    intervals = base.mark_errorbar(ticks=True).encode(
        x=x, y=alt.Y("ci_low:Q", title=axis_title_), y2="ci_high:Q", tooltip=tooltip
    )
    return alt.layer(bars, intervals).properties(width="container", height=CHART_HEIGHT)


def survival_chart(survival: dict) -> alt.LayerChart:
    """Kaplan–Meier retention curves per group (``compute_survival``), with 95% bands."""
    points = [
        {
            "group": GROUP_LABELS.get(g["group"], str(g["group"])),
            "day": p["day"],
            "survival": p["survival"],
            "ci_low": p["ci_low"],
            "ci_high": p["ci_high"],
            "at_risk": p["at_risk"],
        }
        for g in survival["groups"]
        for p in g["curve"]
    ]
    frame = pl.DataFrame(
        points,
        schema={
            "group": pl.String,
            "day": pl.Int64,
            "survival": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "at_risk": pl.Int64,
        },
    )
    # The legend names the groups drawn, each in its usual colour (a split's own groups in
    # the palette's order).
    drawn = list(dict.fromkeys(frame["group"].to_list()))
    colors = [GROUP_COLORS.get(g, PALETTE[i % len(PALETTE)]) for i, g in enumerate(drawn)]
    color = alt.Color(
        "group:N",
        title=None,
        sort=drawn,
        scale=alt.Scale(domain=drawn, range=colors),
        legend=alt.Legend(orient="top"),
    )
    x = alt.X("day:Q", title="Days since follow-up began")
    base = alt.Chart(frame)
    band = base.mark_area(opacity=0.18, interpolate="step-after").encode(
        x=x, y=alt.Y("ci_low:Q", title="Still a customer (%)"), y2="ci_high:Q", color=color
    )
    line = base.mark_line(interpolate="step-after").encode(
        x=x,
        y=alt.Y("survival:Q", title="Still a customer (%)", axis=alt.Axis(format="%")),
        color=color,
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("day:Q", title="Day"),
            alt.Tooltip("survival:Q", title="Still a customer", format=".1%"),
            alt.Tooltip("ci_low:Q", title="95% CI low", format=".1%"),
            alt.Tooltip("ci_high:Q", title="95% CI high", format=".1%"),
            alt.Tooltip("at_risk:Q", title="n at risk", format=",d"),
        ],
    )
    return alt.layer(band, line).properties(width="container", height=CHART_HEIGHT + 40)


SIZE_COLUMN = "cohort size"


def triangle_chart(cohorts: dict) -> alt.LayerChart | alt.FacetChart:
    """The retention triangle (``compute_cohorts``) as a heatmap: a row per cohort (every
    cohort the result lists, also one with no month ended yet), its size in the first
    column, then a cell per month since, labelled with its share; split by recovery group
    side by side when the cohorts are; clicking a cell picks its cohort (and group)."""
    cells = []
    for c in cohorts["cohorts"]:
        group = GROUP_LABELS.get(c["recovery_group"] or "", "All")
        cells.append(
            {
                "cohort": c["cohort"],
                "group": group,
                "recovery_group": c["recovery_group"],
                "kind": "size",
                "column": SIZE_COLUMN,
                "month": None,
                "share": None,
                "retained": None,
                "customers": c["customers"],
                "label": f"{c['customers']:,}",
            }
        )
        cells += [
            {
                "cohort": c["cohort"],
                "group": group,
                "recovery_group": c["recovery_group"],
                "kind": "cell",
                "column": f"+{m['month']}",
                "month": m["month"],
                "share": m["share"],
                "retained": m["retained"],
                "customers": c["customers"],
                "label": f"{m['share']:.0%}",
            }
            for m in c["months"]
        ]
    frame = pl.DataFrame(
        cells,
        schema={
            "cohort": pl.String,
            "group": pl.String,
            "recovery_group": pl.String,
            "kind": pl.String,
            "column": pl.String,
            "month": pl.Int64,
            "share": pl.Float64,
            "retained": pl.Int64,
            "customers": pl.Int64,
            "label": pl.String,
        },
    )
    months = sorted({m for m in frame["month"].to_list() if m is not None})
    pick = alt.selection_point(name=PICK, fields=["cohort", "recovery_group"], on="click")
    x = alt.X(
        "column:O",
        title="Cohort size, then months after the cohort month",
        sort=[SIZE_COLUMN, *(f"+{m}" for m in months)],
        axis=alt.Axis(orient="top", labelAngle=0),
    )
    y = alt.Y("cohort:O", title="Cohort (month)")
    tooltip = [
        alt.Tooltip("cohort:O", title="Cohort"),
        alt.Tooltip("group:N", title="Recovery group"),
        alt.Tooltip("month:O", title="Months after"),
        alt.Tooltip("share:Q", title="Still customers (%)", format=".1%"),
        alt.Tooltip("retained:Q", title="Still customers", format=",d"),
        alt.Tooltip("customers:Q", title="Cohort size (n)", format=",d"),
    ]
    rect = (
        alt.Chart()
        .transform_filter("datum.kind == 'cell'")
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "share:Q",
                title="Still customers (%)",
                scale=alt.Scale(scheme="cividis", domain=[0.5, 1]),
                legend=alt.Legend(format="%"),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    # cividis runs from dark blue to light yellow: white on the dark half, black on the light
    text = (
        alt.Chart()
        .mark_text(fontSize=11)
        .encode(
            x=x,
            y=y,
            text="label:N",
            color=alt.condition(
                "datum.kind == 'size' || datum.share >= 0.75",
                alt.value("black"),
                alt.value("white"),
            ),
            tooltip=tooltip,
        )
    )
    chart = alt.layer(rect, text, data=frame)
    if frame["group"].n_unique() > 1:
        return chart.properties(width=260, height=CHART_HEIGHT + 60).facet(
            column=alt.Column("group:N", title=None)
        )
    return chart.properties(width="container", height=CHART_HEIGHT + 80)


def png_spec(chart: alt.TopLevelMixin, title: str = "", subtitle: tuple[str, ...] = ()) -> dict:
    """The Vega-Lite spec ``png`` renders: the chart with ``title`` and ``subtitle`` lines
    (its range and filters: a file shared on its own says what it shows) at a fixed width."""
    if title:
        chart = chart.properties(
            title=alt.TitleParams(title, subtitle=list(subtitle) or alt.Undefined, anchor="start")
        )
    spec = chart.to_dict()
    if spec.get("width") == "container":
        spec["width"] = PNG_WIDTH
    for key in ("layer", "hconcat", "vconcat"):
        for part in spec.get(key, []):
            if part.get("width") == "container":
                part["width"] = PNG_WIDTH
    return spec


def png(chart: alt.TopLevelMixin, title: str = "", subtitle: tuple[str, ...] = ()) -> bytes:
    """The chart as a PNG image with ``title`` and ``subtitle`` lines (rendered here, by
    vl-convert, at a fixed width: a file has no container to fill)."""
    import vl_convert

    return vl_convert.vegalite_to_png(png_spec(chart, title, subtitle), scale=2)
