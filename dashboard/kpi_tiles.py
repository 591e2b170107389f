"""What each KPI tile shows: the value, its change against the previous period (between
complete periods only), how it stands against its target, and the n behind it."""

from __future__ import annotations

from dataclasses import dataclass

from metrics import KPI_CATALOG, format_value
from metrics.formatting import format_minutes

# The Overview's tile rows, in the order a ticket lives through them.
KPI_GROUPS: dict[str, tuple[str, ...]] = {
    "Acknowledge": ("tta_median_minutes", "tta_p90_minutes", "tta_within_target_pct"),
    "Resolve": ("one_touch_rate", "handoff_rate"),
    "Retain": (
        "recovered_retention",
        "never_failed_retention",
        "unrecovered_retention",
        "attrition_rate_12m",
    ),
    "Loyalty": ("nps", "nps_recovered", "nps_never_failed"),
}

# Shorter labels where four tiles share a row (the catalog's label is in the tooltip).
SHORT_LABELS = {
    "recovered_retention": "Retention: recovered",
    "never_failed_retention": "Retention: never failed",
    "unrecovered_retention": "Retention: unrecovered",
    "attrition_rate_12m": "Attrition, 12 months",
    "nps_recovered": "NPS: recovered",
    "nps_never_failed": "NPS: never failed",
}

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


def status_text(
    name: str, value: float | None, target: float | None, n: int | None, min_size: int
) -> str:
    """The tile's status line: its target as a badge (on or off), and n."""
    parts = []
    if target is not None:
        if value is None:
            parts.append(f":gray-badge[{target_text(name, target)}]")
        elif is_on_target(name, value, target):
            parts.append(f":blue-badge[:material/check: on {target_text(name, target)}]")
        else:
            parts.append(f":orange-badge[:material/close: off {target_text(name, target)}]")
    if n is not None:
        small = 0 < n < min_size  # with no data at all the dash says enough
        parts.append(f"n = {n:,}" + (" · :orange[small group]" if small else ""))
    return " ".join(parts)


def kpi_tile(
    name: str,
    value: float | None,
    *,
    previous: float | None = None,
    target: float | None = None,
    n: int | None = None,
    min_size: int = 30,
    compared: tuple[float | None, float | None] | None = None,
) -> Tile:
    """The tile of KPI ``name``: its value, a change coloured and worded better or worse,
    and its target and n. The change is from ``previous`` to ``value``, or, given
    ``compared`` (now, before), between those two (the last complete period and the one
    before it: the page says which)."""
    kpi = KPI_CATALOG[name]
    now, before = compared if compared is not None else (value, previous)
    change = change_text(name, now, before)
    color, verdict = NO_VERDICT_COLOR, None
    if change is not None and now != before:
        better = (now > before) == kpi.higher_is_better
        color = GOOD_COLOR if better else BAD_COLOR
        verdict = "better" if better else "worse"
    elif change is not None:
        verdict = "no change"
    return Tile(
        label=SHORT_LABELS.get(name, kpi.label),
        value=format_value(name, value),
        delta=change,
        delta_color=color,
        delta_description=verdict,
        help=f"**{kpi.label}.** {kpi.description}",
        status=status_text(name, value, target, n, min_size),
    )
