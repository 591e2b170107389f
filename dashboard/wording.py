"""The sentences the dashboard shows: data freshness, paradox verdicts, how to load data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from data_contracts.times import parse_utc, to_naive_utc
from metrics.catalog import KPI_CATALOG, MULTIPLE_COMPARISONS

# How each paradox delta is worded: what is compared, its unit, and the scale from the
# metrics package's value (NPS points as is; retention fractions to percentage points).
_DELTA_WORDING: dict[str, dict[str, Any]] = {
    "nps_delta": {"measure": "NPS", "unit": "points", "scale": 1.0, "dimension": "loyalty"},
    "retention_delta": {
        "measure": "{horizon_days}-day retention",
        "unit": "percentage points",
        "scale": 100.0,
        "dimension": "retention",
    },
    "csat_delta": {
        "measure": "CSAT",
        "unit": "percentage points",
        "scale": 100.0,
        "dimension": "satisfaction",
        "subject": "CSAT after a recovered failure",
        "object": "on ordinary tickets",
        "groups": "recovered failures' and ordinary tickets' CSAT",
    },
}
SUBJECT, OBJECT = "Recovered customers' {measure}", "never-failed customers'"
GROUPS = "recovered and never-failed customers' {measure}"

_VERDICT_CLAUSES = {
    "holds": "the recovery paradox holds on {dimension}",
    "not_detected": "the recovery paradox is not detected on {dimension}",
    "reversed": "the recovery paradox is reversed on {dimension}",
}

LOAD_COMMANDS = (
    "turnaround generate --out demo_data",
    "turnaround load demo_data/*",
)
DEMO_COMMAND = "turnaround demo"


def as_of_text(as_of: str | dt.datetime) -> str:
    """``"Data as of 31 Oct 2026, 23:59 UTC"`` from an ISO 8601 timestamp (naive means UTC)."""
    moment = to_naive_utc(as_of) if isinstance(as_of, dt.datetime) else parse_utc(as_of)
    return f"Data as of {moment:%d %b %Y, %H:%M} UTC"


def paradox_sentence(delta_name: str, delta: Mapping[str, Any], horizon_days: int) -> str:
    """One sentence comparing recovered with never-failed customers, and the verdict.

    ``delta`` is one entry of ``compute_kpis(...)["paradox"]``: value, ci_low, ci_high,
    verdict (holds, not_detected, reversed, or None when a group has no data).
    """
    wording = _DELTA_WORDING[delta_name]
    measure = wording["measure"].format(horizon_days=horizon_days)
    subject = wording.get("subject", SUBJECT).format(measure=measure)
    other = wording.get("object", OBJECT)
    value = delta.get("value")
    if value is None:
        groups = wording.get("groups", GROUPS).format(measure=measure)
        return f"Not enough data yet to compare {groups}."
    scaled = value * wording["scale"]
    shown = f"{abs(scaled):.1f}"
    if shown == "0.0":
        comparison = f"{subject} is level with {other}"
    else:
        direction = "higher" if scaled > 0 else "lower"
        comparison = f"{subject} is {shown} {wording['unit']} {direction} than {other}"
    low, high, verdict = delta.get("ci_low"), delta.get("ci_high"), delta.get("verdict")
    if low is None or high is None:
        return f"{comparison}, but there is too little data yet for a 95% confidence interval."
    interval = f"95% CI {low * wording['scale']:.1f} to {high * wording['scale']:.1f}"
    if verdict not in _VERDICT_CLAUSES:  # not_enough_data: a group below the minimum size
        sizes = delta.get("n") or {}
        counted = " and ".join(
            f"{n:,} {group.replace('_', '-')}" for group, n in sizes.items() if n is not None
        )
        behind = f" ({counted})" if counted else ""
        return f"{comparison} ({interval}), but the groups are too small{behind} for a verdict."
    clause = _VERDICT_CLAUSES[verdict].format(dimension=wording["dimension"])
    return f"{comparison} ({interval}): {clause}."


def paradox_lead(paradox: Mapping[str, Any], horizon_days: int) -> tuple[str, list[str]]:
    """The primary verdict's sentence (``paradox["primary"]``, its ``primary_comparison``)
    and the secondary comparisons' sentences, the multiple-comparison caveat last."""
    primary = paradox["primary"]
    delta = paradox[primary]
    comparison = paradox.get("primary_comparison")
    lead = paradox_sentence(primary, delta.get(comparison) or delta, horizon_days)
    if comparison == "matched":
        lead = f"Like for like (tenure, segment and plan): {lead}"
    others = [
        paradox_sentence(name, other, horizon_days)
        for name, other in paradox.items()
        if isinstance(other, Mapping) and name != primary
    ]
    return lead, [*others, MULTIPLE_COMPARISONS]


def load_instructions(url: str) -> str:
    """Markdown telling the user how to fill the warehouse the dashboard reads."""
    commands = "\n".join(LOAD_COMMANDS)
    return (
        "**No data to show yet.** Load support tickets, NPS responses and customers into "
        "the warehouse, from demo exports or your own:\n\n"
        f"```bash\n{commands}\n```\n\n"
        f"Or run `{DEMO_COMMAND}` to generate demo data, load it and open this dashboard "
        "in one step.\n\n"
        f"This dashboard reads the warehouse at `{url}`; set `TURNAROUND_WAREHOUSE` "
        "to read another."
    )


def range_text(selection) -> str:
    """``"1 Oct 2026 to 31 Oct 2026 (31 days)"``: the date range a page shows."""
    return (
        f"{selection.start:%d %b %Y} to {selection.end:%d %b %Y} "
        f"({selection.days:,} day{'s' if selection.days != 1 else ''})"
    )


def filters_text(selection) -> str:
    """The sidebar's filters in words: "Channel: chat, email · Plan: pro", or "no filters"."""
    from metrics.dimensions import DIMENSIONS

    parts = [f"{DIMENSIONS[name].label}: {', '.join(values)}" for name, values in selection.where]
    return " · ".join(parts) if parts else "no filters"


def no_data_text(selection, first: str | None, last: str | None, filtered: bool = False) -> str:
    """Why a range shows no numbers: "No tickets or NPS responses from 1 Jan 2027 to 31 Jan
    2027; the data runs from 1 Jan 2025 to 31 Oct 2026." (``filtered``: none match the
    sidebar's filters there)."""
    matching = " match the filters" if filtered else ""
    text = (
        f"No tickets or NPS responses{matching} from {selection.start:%d %b %Y} to "
        f"{selection.end:%d %b %Y}"
    )
    if first is None or last is None:
        return text + "; the warehouse has none yet."
    runs = f"{dt.date.fromisoformat(first):%d %b %Y} to {dt.date.fromisoformat(last):%d %b %Y}"
    return f"{text}; the data runs from {runs}."


def ticket_filter_text(names: list[str], dimensions: list[str]) -> str:
    """Why customer KPIs show a dash under a ticket filter: "Retention ... show —: a
    customer KPI cannot be narrowed by a ticket-level filter (channel) ..."."""
    shown = " or ".join(dimensions)
    return (
        f"{', '.join(names)}: — because a customer KPI cannot be narrowed by a ticket-level "
        f"filter ({shown}): a customer may have tickets with several values. Filter by a "
        f"customer dimension (segment, plan, region...) or clear {shown} to see them."
    )


def money_text(value: float | None, currency: str) -> str:
    """An amount for a tile, rounded for reading: ``"USD 1,234"``, ``"USD 348k"``,
    ``"USD 1.2M"`` (``"USD -5,250"`` below zero); ``"—"`` for None."""
    if value is None:
        return "—"
    size = abs(value)
    if round(size / 1e3) >= 1000:
        shown = f"{size / 1e6:,.1f}M"
    elif size >= 9999.5:
        shown = f"{size / 1e3:.0f}k"
    else:
        shown = f"{size:,.0f}"
    sign = "-" if value < 0 and shown != "0" else ""
    return f"{currency} {sign}{shown}"


def return_text(value: float | None) -> str:
    """A return as a multiple of the cost, ``"1.4×"``; ``"—"`` for None."""
    return "—" if value is None else f"{value:.1f}×"


def value_of_recovery_text(value: Mapping[str, Any]) -> str:
    """What the value of recovery compares, in one sentence with its groups' sizes and the
    cost split (``value`` is ``compute_recovery(...)["economics"]["value_of_recovery"]``)."""
    currency = value["currency"]
    start, end = parse_utc(value["window_start"]), parse_utc(value["window_end"])
    window = f"{start:%d %b %Y} to {end:%d %b %Y}"
    sizes = (
        f"{value['recovered_customers']:,} recovered and {value['unrecovered_customers']:,} "
        "unrecovered customers"
    )
    if value["gain"] is None:
        kept = f"No value of recovery over {window}: it needs both groups ({sizes})."
    else:
        kept = (
            f"From {window}, recovered customers paid "
            f"{money_text(value['revenue_from_recovered'], currency)}; on the unrecovered "
            f"customers' retention path they would have paid "
            f"{money_text(value['revenue_at_unrecovered_path'], currency)} ({sizes}"
            + ("; small groups, read with care" if value["small"] else "")
            + ")."
        )
        if value.get("gain_ci_low") is not None:
            low, high = value["gain_ci_low"], value["gain_ci_high"]
            kept += (
                f" The value's 95% interval runs from {money_text(low, currency)} to "
                f"{money_text(high, currency)}"
                + (": it could be nothing." if low <= 0 <= high else ".")
            )
    paid = value["cost_by_group"]
    since = parse_utc(value["cost_window_start"])
    cost = (
        f" Cost: all compensation on the failed customers' failures since {since:%d %b %Y} "
        f"(recovered {money_text(paid['recovered'], currency)}, unrecovered "
        f"{money_text(paid['unrecovered'], currency)}, in recovery "
        f"{money_text(paid['in_recovery'], currency)})."
    )
    return kept + cost


def compensation_effect_text(effect: Mapping[str, Any], horizon_days: int) -> str:
    """Compensated against not-compensated failed customers' retention, in one sentence
    (``effect`` is ``compute_recovery(...)["economics"]["compensation_effect"]``)."""
    given, not_given = effect["compensated"], effect["not_compensated"]
    if effect["difference"] is None:
        return (
            f"Compensation's own effect: not measurable yet ({given['customers']:,} compensated, "
            f"{not_given['customers']:,} not compensated failed customers)."
        )
    low, high = effect["ci_low"] * 100, effect["ci_high"] * 100
    shown = (
        "no effect shown"
        if low <= 0 <= high
        else f"compensated customers stayed {'more' if low > 0 else 'less'}"
    )
    return (
        f"Compensation's own effect: {horizon_days}-day retention {given['retention']:.1%} of "
        f"{given['customers']:,} compensated failed customers against "
        f"{not_given['retention']:.1%} of {not_given['customers']:,} not compensated: "
        f"{effect['difference'] * 100:+.1f} percentage points (95% CI {low:.1f} to {high:.1f}; "
        f"{shown}, a crude comparison)."
    )


def change_text(period_start: str, grain: str) -> str:
    """``"changes: the week of 05 Oct 2026, the last complete, against the week before"``."""
    day = dt.date.fromisoformat(period_start)
    return f"changes: the {grain} of {day:%d %b %Y}, the last complete, against the {grain} before"


def provisional_text(maturity_days: float) -> str:
    """Why the latest periods are marked: ``"a period is complete 3 days after its end;
    values of later ones are provisional"``."""
    days = f"{maturity_days:g} day" + ("" if maturity_days == 1 else "s")
    return f"a period is complete {days} after its end; values of later ones are provisional"


# Each Overview tile's tooltip in plain words: what it counts over the selected range
# ({start} to {end}) or at its end ({end}; retention from {t0}, attrition from {year_ago}).
_RANGE = "tickets created from {start} to {end}"
_NPS = (
    "Net Promoter Score (% promoters, 9-10, minus % detractors, 0-6) of the responses given "
    "from {start} to {end}"
)
TILE_HELP = {
    "tta_median_minutes": "Median time from a ticket's creation to the first agent reply, "
    f"over {_RANGE}.",
    "tta_p90_minutes": "Time from a ticket's creation to the first agent reply that 90% of "
    f"{_RANGE} stayed within.",
    "tta_within_target_pct": f"Of {_RANGE}, the share answered within the acknowledgement "
    "target (an unanswered open ticket older than the target counts as missed).",
    "one_touch_rate": f"Of the solved or closed {_RANGE}, the share solved with at most one "
    "agent reply.",
    "handoff_rate": f"Of the solved or closed {_RANGE}, the share that passed through more "
    "than one agent or group.",
    "recovery_rate": "Of the service failures (incidents, problems, failure tags) among the "
    f"solved or closed {_RANGE}, the share put right: not reopened (under the 2026-11 "
    "definitions, also not rated bad).",
    "recovered_retention": "Of the customers who were customers on {t0} and recovered by "
    "then (their last failure put right), the share still customers on {end}.",
    "never_failed_retention": "Of the customers who were customers on {t0} and had had no "
    "service failure by then, the share still customers on {end}.",
    "unrecovered_retention": "Of the customers who were customers on {t0} with a failure not "
    "put right by then, the share still customers on {end}.",
    "attrition_rate_12m": "Of the customers who were customers on {year_ago}, the share that "
    "left by {end}.",
    "nps": _NPS + ".",
    "nps_recovered": _NPS + ", by customers recovered on {end}, given after their last "
    "failure was put right.",
    "nps_never_failed": _NPS + ", by customers with no service failure by {end}.",
}


def tile_help(name: str, start: dt.date, end: dt.date, horizon_days: int) -> str:
    """The tooltip of KPI ``name``'s tile over the range ``start`` to ``end`` (local days)."""
    label = KPI_CATALOG[name].label
    days = {
        "start": f"{start:%d %b %Y}",
        "end": f"{end:%d %b %Y}",
        "t0": f"{end - dt.timedelta(days=horizon_days):%d %b %Y}",
        "year_ago": f"{end - dt.timedelta(days=365):%d %b %Y}",
    }
    text = TILE_HELP.get(name)
    return f"**{label}.** " + (text.format(**days) if text else KPI_CATALOG[name].description)


# How the tiles' comparison is named, by the shared filters' comparison choice.
COMPARED_WITH = {"previous": "the {grain} before", "last_year": "the same {grain} a year earlier"}


def comparison_text(now_start: str, before_start: str, grain: str) -> str:
    """``"changes: the week of 19 Oct 2026, the last complete, against the week of 12 Oct
    2026"``: which periods the tiles' changes compare."""
    now, before = dt.date.fromisoformat(now_start), dt.date.fromisoformat(before_start)
    return (
        f"changes: the {grain} of {now:%d %b %Y}, the last complete, against the {grain} of "
        f"{before:%d %b %Y}"
    )


def recovery_sentence(
    value: float | None,
    n: int | None,
    target_badge: str,
    change: Mapping[str, Any] | None,
    compared: str,
    verdict: str,
) -> str:
    """The Overview's first line: the recovery rate, its change against the comparison period
    (worded "better"/"worse" only beyond noise) and its target, then the paradox's primary
    verdict (``paradox_lead``'s sentence)."""
    if value is None:
        rate = "No recovery rate over this range (no solved failures)"
    else:
        rate = f"Recovery rate {value:.1%} of {n or 0:,} solved failures ({target_badge})"
    if change is None or change.get("change") is None:
        moved = "no change to show"
    else:
        words = change.get("words") or "no clear change"
        low, high = change.get("ci_low"), change.get("ci_high")
        ci = "" if low is None else f"; 95% CI {low * 100:+.1f} to {high * 100:+.1f} pp"
        moved = (
            f"{compared}: {change['now']:.1%} against {change['before']:.1%}, "
            f"{change['change'] * 100:+.1f} pp, {words}{ci}"
        )
    return f"{rate}; {moved}. {verdict}"
