"""Overview: recovery KPIs against their targets and the previous period, and their trends."""

import datetime as dt
from dataclasses import replace

import streamlit as st

from dashboard import charts, filters, ui, wording
from dashboard.kpi_tiles import (
    BAD_COLOR,
    GOOD_COLOR,
    KPI_GROUPS,
    NO_TARGET,
    NO_VERDICT_COLOR,
    Tile,
    change_verdict,
    kpi_tile,
    last_complete,
    target_words,
    tile_label,
)
from data_contracts.options import BEFORE_2026_12
from metrics import (
    DIMENSIONS,
    KPI_CATALOG,
    SliceRequest,
    compute_changes,
    compute_kpis,
    compute_slice,
    data_days,
)
from metrics.periods import floor

# Trend charts: (KPIs drawn together, the KPI whose target is the rule line, title).
TRENDS = (
    (("tta_median_minutes", "tta_p90_minutes"), "tta_p90_minutes", "Time to acknowledge"),
    (("tta_within_target_pct",), "tta_within_target_pct", "Acknowledged within target"),
    (("one_touch_rate",), "one_touch_rate", "One-touch resolution"),
    (("recovery_rate",), "recovery_rate", "Recovery rate"),
)
NO_VALUE_UNDER_TICKET_FILTER = ":gray-badge[no value under a ticket filter]"
VERDICT_COLORS = {"holds": GOOD_COLOR, "reversed": BAD_COLOR}
VERDICT_WORDS = {
    "holds": "holds",
    "reversed": "reversed",
    "not_detected": "not detected",
    "not_enough_data": "too few to tell",
}

ctx = ui.context()
sel, params, targets = ctx.selection, ctx.setup.params, ctx.setup.targets
horizon = int(params.horizon_days)

TILE_KPIS = tuple(name for names in KPI_GROUPS.values() for name in names)
TREND_KPIS = tuple(n for names, _, _ in TRENDS for n in names)

st.title("Service recovery: overview")
outside = ui.range_note(ctx)
if outside:  # a range after (or before) the data: no tiles of the last data, no "no change"
    st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel))
    st.info(outside + " Pick dates within it, or a quick range.", icon=":material/event_busy:")
    st.stop()
current = ctx.fetch(compute_kpis, params, sel.request())
if not current["n"].get("ticket_volume") and not current["n"].get("nps"):
    days = ctx.fetch(data_days, params)
    st.info(
        wording.no_data_text(sel, days["first"], days["last"], filtered=bool(sel.where)),
        icon=":material/filter_alt_off:",
    )
# Every KPI per period, measured at the range's end: the trends draw it.
trend_request = sel.trend_request(tuple(dict.fromkeys(TREND_KPIS + TILE_KPIS)))
trend = ctx.fetch(compute_slice, params, trend_request)
compared_with = wording.COMPARED_WITH[sel.compare].format(grain=sel.grain)
changes: dict = {}
if params.definitions in BEFORE_2026_12:  # then: the range against a range as long
    earlier = sel.compared()
    which = "before" if sel.compare == "previous" else "a year earlier"
    caption = f"changes against the {sel.days} days {which}"
    compared_with = f"the range against the {sel.days} days {which}"
    if earlier is None:
        caption = "no change shown: the comparison range begins before 1900"
    else:
        found = ctx.fetch(
            compute_changes,
            params,
            sel.request(TILE_KPIS),
            earlier.request(TILE_KPIS),
        )
        changes = found["changes"]
else:
    last, before = last_complete(trend["rows"])
    now_start = None if last is None else dt.date.fromisoformat(last["period_start"])
    if now_start is not None and sel.compare == "last_year":
        before_start = floor(filters.year_earlier(now_start), sel.grain)
    elif before is not None:
        before_start = dt.date.fromisoformat(before["period_start"])
    else:
        before_start = None
    if now_start is None or before_start is None or before_start < filters.FIRST_DAY:
        caption = f"no change shown: fewer than two complete {sel.grain}s to compare"
    else:
        # Each period as the trend measures it (a period of the trend clipped to its start).
        first = trend_request.start

        def side(start: dt.date) -> SliceRequest:
            return SliceRequest(
                kpis=TILE_KPIS,
                grain=sel.grain,
                where=sel.where,
                start=max(start, first) if start >= floor(first, sel.grain) else start,
                end=sel.end,
            )

        found = ctx.fetch(compute_changes, params, side(now_start), side(before_start))
        changes = found["changes"]
        caption = wording.comparison_text(
            now_start.isoformat(), before_start.isoformat(), sel.grain
        )
        compared_with = (
            f"the {sel.grain} of {now_start:%d %b} against the {sel.grain} of "
            f"{before_start:%d %b %Y}"
        )
    if trend["maturity_days"] is not None and not all(r["complete"] for r in trend["rows"]):
        caption += " · " + wording.provisional_text(trend["maturity_days"])
caption += (
    " · a change is coloured *better* or *worse* only when its 95% interval excludes zero "
    f"and both periods have at least {params.min_group_size:,} units"
)


def _with_words(name: str) -> dict | None:
    found = changes.get(name)
    if found is None:
        return None
    return found | {"words": change_verdict(name, found)[1]}


# The first line: recovery against the comparison period and its target, then the paradox's
# primary verdict (metrics.paradox names it; paradox_lead words it).
lead, secondary = wording.paradox_lead(current["paradox"], horizon)
recovery = current["kpis"].get("recovery_rate")
badge = target_words("recovery_rate", recovery, targets.get("recovery_rate"))
st.markdown(
    wording.recovery_sentence(
        recovery,
        current["n"].get("recovery_rate"),
        badge,
        _with_words("recovery_rate"),
        compared_with,
        lead,
    )
)
st.caption(wording.as_of_text(ctx.as_of) + " · " + wording.range_text(sel) + " · " + caption)
st.caption("Other comparisons: " + " ".join(secondary))


def _verdict_tile() -> Tile:
    """The recovery paradox's primary comparison as a tile: the difference, its interval
    and verdict (coloured only when the interval excludes zero), and no target."""
    primary = current["paradox"][current["paradox"]["primary"]]
    found = primary.get(current["paradox"].get("primary_comparison")) or primary
    value, low, high = found.get("value"), found.get("ci_low"), found.get("ci_high")
    verdict = found.get("verdict")
    sizes = found.get("n") or {}
    counted = " · ".join(
        f"{group.replace('_', '-')} {n:,}" for group, n in sizes.items() if n is not None
    )
    interval = "" if low is None else f"95% CI {low * 100:+.1f} to {high * 100:+.1f} pp"
    return Tile(
        label=f"Recovery paradox, retention {horizon} days",
        value="—" if value is None else f"{value * 100:+.1f} pp",
        delta=interval or None,
        delta_color=VERDICT_COLORS.get(verdict, NO_VERDICT_COLOR),
        delta_description=VERDICT_WORDS.get(verdict, "no verdict"),
        help=f"**Recovery paradox, the primary verdict.** {lead}",
        status=NO_TARGET + (f" n = {counted}" if counted else ""),
    )


# Customer KPIs under a ticket filter have no value: their tiles say so, and why, below.
unnarrowed = current.get("notes", {})
ticket_filters = [name for name, _ in sel.where if DIMENSIONS[name].level == "ticket"]
for group_name, kpi_names in KPI_GROUPS.items():
    st.subheader(group_name)
    extra = 1 if group_name == "Recover" else 0
    columns = st.columns(len(kpi_names) + extra)
    tiles = [
        kpi_tile(
            name,
            current["kpis"].get(name),
            change=changes.get(name),
            target=targets.get(name),
            n=current["n"].get(name),
            min_size=params.min_group_size,
            label=tile_label(name, sel.days, horizon),
            help=wording.tile_help(name, sel.start, sel.end, horizon),
        )
        for name in kpi_names
    ]
    tiles = [
        replace(tile, status=NO_VALUE_UNDER_TICKET_FILTER) if name in unnarrowed else tile
        for name, tile in zip(kpi_names, tiles, strict=True)
    ]
    if extra:
        tiles.append(_verdict_tile())
    for column, tile in zip(columns, tiles, strict=True):
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

if unnarrowed and ticket_filters:
    st.caption(
        wording.ticket_filter_text(
            [tile_label(name, sel.days, horizon) for name in TILE_KPIS if name in unnarrowed],
            ticket_filters,
        )
    )

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
            if not charts.has_values(trend["rows"], list(names)):  # no axes without a line
                st.markdown(f"**{title}**")
                st.info(
                    f"No {title.lower()} in these {sel.grain}s: no tickets with a value "
                    "match the filters.",
                    icon=":material/tune:",
                )
                continue
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
