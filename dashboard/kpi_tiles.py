"""What each KPI tile shows: the value, its change against the comparison period (coloured
only when beyond noise), its target or that none is set, and the n behind it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metrics import KPI_CATALOG, format_value
from metrics.formatting import format_minutes

# The Overview's tile rows, in the order a ticket lives through them.
KPI_GROUPS: dict[str, tuple[str, ...]] = {
    "Acknowledge": ("tta_median_minutes", "tta_p90_minutes", "tta_within_target_pct"),
    "Resolve": ("one_touch_rate", "handoff_rate"),
    "Recover": ("recovery_rate",),  # beside it, the recovery paradox's primary verdict
    "Retain": (
        "recovered_retention",
        "never_failed_retention",
        "unrecovered_retention",
        "attrition_rate_12m",
    ),
    "Loyalty": ("nps", "nps_recovered", "nps_never_failed"),
}

# Shorter labels where four tiles share a row (the catalog's label is in the tooltip); each
# label says its window: "{days}" the selected range's days, "{horizon}" the retention horizon.
SHORT_LABELS = {
    "recovered_retention": "Retention, {horizon} days: recovered",
    "never_failed_retention": "Retention, {horizon} days: never failed",
    "unrecovered_retention": "Retention, {horizon} days: unrecovered",
    "attrition_rate_12m": "Attrition, 12 months",
    "nps_recovered": "NPS: recovered · {days} days",
    "nps_never_failed": "NPS: never failed · {days} days",
}
NO_TARGET = ":gray-badge[no target set]"  # what a tile without a target says
NO_CLEAR_CHANGE = "no clear change"
TOO_FEW = "too few to tell"

# Colour-blind-safe pair (blue good, orange bad), always with words and an icon beside.
GOOD_COLOR = "blue"
BAD_COLOR = "orange"
NO_VERDICT_COLOR = "gray"


@dataclass(frozen=True)
class Tile:
    """Arguments for one ``st.metric`` call, and the status line under it."""

    label: str
    value: str
    delta: str | None  # the change against the previous period
    delta_color: str
    delta_description: str | None
    help: str
    status: str  # markdown: target badge, n, small-group mark


def last_complete(rows: list[dict]) -> tuple[dict | None, dict | None]:
    """The row of the last complete period of a per-period slice without dimensions
    (``compute_slice`` rows, oldest first) and the row of the period before it: the two a
    tile's change compares. None where there is no such period."""
    done = [i for i, row in enumerate(rows) if row.get("complete")]
    if not done:
        return None, None
    last = done[-1]
    return rows[last], rows[last - 1] if last > 0 else None


def target_text(name: str, target: float) -> str:
    """``"target ≤ 1 h 00 m"`` for lower-is-better KPIs, ``"target ≥ 80.0%"`` otherwise."""
    sign = "≥" if KPI_CATALOG[name].higher_is_better else "≤"
    return f"target {sign} {format_value(name, target)}"


def is_on_target(name: str, value: float, target: float) -> bool:
    """Whether ``value`` meets ``target`` in the KPI's good direction."""
    return value >= target if KPI_CATALOG[name].higher_is_better else value <= target


def change_text(name: str, now: float | None, before: float | None) -> str | None:
    """The change from ``before`` to ``now`` in the KPI's unit: "+3.2 pp", "-1 h 05 m"."""
    if now is None or before is None:
        return None
    diff = now - before
    unit = KPI_CATALOG[name].unit
    if unit == "ratio":
        return f"{diff * 100:+.1f} pp"
    if unit == "minutes":
        return ("-" if diff < 0 else "+") + format_minutes(abs(diff))
    if unit == "count":
        return f"{diff:+,.0f}"
    return f"{diff:+.1f}"


def target_words(name: str, value: float | None, target: float | None) -> str:
    """How a value stands against its target: "on target ≥ 85.0%", "off target ≤ 1 h 00 m",
    "target ≥ 85.0%" (no value), or "no target set"."""
    if target is None:
        return "no target set"
    if value is None:
        return target_text(name, target)
    return ("on " if is_on_target(name, value, target) else "off ") + target_text(name, target)


def status_text(
    name: str, value: float | None, target: float | None, n: int | None, min_size: int
) -> str:
    """The tile's status line: its target as a badge (on or off, or "no target set"), and n."""
    words = target_words(name, value, target)
    if target is None:
        parts = [NO_TARGET]
    elif value is None:
        parts = [f":gray-badge[{words}]"]
    elif is_on_target(name, value, target):
        parts = [f":blue-badge[:material/check: {words}]"]
    else:
        parts = [f":orange-badge[:material/close: {words}]"]
    if n is not None:
        small = 0 < n < min_size  # with no data at all the dash says enough
        parts.append(f"n = {n:,}" + (" · :orange[small group]" if small else ""))
    return " ".join(parts)


def tile_label(name: str, days: int | None = None, horizon_days: int | None = None) -> str:
    """The tile's label with its window: "Retention, 90 days: recovered", "NPS · 31 days"
    (the catalog's label where neither is given)."""
    label = KPI_CATALOG[name].label
    if days is None or horizon_days is None:
        return label
    shown = SHORT_LABELS.get(name, label + " · {days} days")
    return shown.format(days=f"{days:,}", horizon=f"{horizon_days:,}")


def interval_text(name: str, low: float | None, high: float | None) -> str | None:
    """A change's 95% interval in the KPI's unit: "95% CI -1.2 pp to +1.4 pp"."""
    if low is None or high is None:
        return None
    return f"95% CI {change_text(name, low, 0.0)} to {change_text(name, high, 0.0)}"


def change_verdict(name: str, change: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """(colour, words) of a change (an entry of ``compute_changes(...)["changes"]``): blue
    "better" or orange "worse" in the KPI's good direction only when it is ``clear`` (beyond
    noise, both periods large enough); otherwise grey, "no clear change" or, below the
    minimum group size, "too few to tell"."""
    if change is None or change.get("change") is None:
        return NO_VERDICT_COLOR, None
    if change.get("clear"):
        better = (change["change"] > 0) == KPI_CATALOG[name].higher_is_better
        return (GOOD_COLOR, "better") if better else (BAD_COLOR, "worse")
    low, high = change.get("ci_low"), change.get("ci_high")
    beyond = low is not None and high is not None and (low > 0 or high < 0)
    return NO_VERDICT_COLOR, TOO_FEW if beyond else NO_CLEAR_CHANGE


def kpi_tile(
    name: str,
    value: float | None,
    *,
    change: Mapping[str, Any] | None = None,
    target: float | None = None,
    n: int | None = None,
    min_size: int = 30,
    label: str | None = None,
    help: str | None = None,
) -> Tile:
    """The tile of KPI ``name``: its value, its change (``change``: an entry of
    ``compute_changes(...)["changes"]``) coloured only beyond noise, its target or "no
    target set", and n. ``label`` and ``help`` replace the catalog's label and description."""
    kpi = KPI_CATALOG[name]
    shown = None if change is None else change_text(name, change.get("now"), change.get("before"))
    color, verdict = change_verdict(name, change)
    tooltip = help or f"**{kpi.label}.** {kpi.description}"
    interval = None if change is None else interval_text(name, change["ci_low"], change["ci_high"])
    if shown is not None:
        tooltip += f" Change: {shown}" + (f" ({interval})" if interval else ", no interval") + "."
    return Tile(
        label=label or kpi.label,
        value=format_value(name, value),
        delta=shown,
        delta_color=color,
        delta_description=verdict,
        help=tooltip,
        status=status_text(name, value, target, n, min_size),
    )
