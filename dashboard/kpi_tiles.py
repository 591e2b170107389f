"""What each KPI tile shows: the formatted value and how it stands against its target."""

from __future__ import annotations

from dataclasses import dataclass, replace

from metrics import KPI_CATALOG, format_value

# The executive page's tile rows, in the order a ticket lives through them.
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

ON_TARGET_COLOR = "green"
OFF_TARGET_COLOR = "red"
NO_VERDICT_COLOR = "gray"


@dataclass(frozen=True)
class Tile:
    """Arguments for one ``st.metric`` call."""

    label: str
    value: str
    delta: str | None
    delta_color: str
    delta_description: str | None
    help: str


def target_text(name: str, target: float) -> str:
    """``"target ≤ 60 min"`` for lower-is-better KPIs, ``"target ≥ 80.0%"`` otherwise."""
    sign = "≥" if KPI_CATALOG[name].higher_is_better else "≤"
    return f"target {sign} {format_value(name, target)}"


def is_on_target(name: str, value: float, target: float) -> bool:
    """Whether ``value`` meets ``target`` in the KPI's good direction."""
    return value >= target if KPI_CATALOG[name].higher_is_better else value <= target


def kpi_tile(name: str, value: float | None) -> Tile:
    """The tile of KPI ``name``: its value, and its catalog target coloured good or bad."""
    kpi = KPI_CATALOG[name]
    target = kpi.default_target
    tile = Tile(
        label=kpi.label,
        value=format_value(name, value),
        delta=None,
        delta_color=NO_VERDICT_COLOR,
        delta_description=None,
        help=kpi.description,
    )
    if target is None:
        return tile
    if value is None:
        color, verdict = NO_VERDICT_COLOR, "no data"
    elif is_on_target(name, value, target):
        color, verdict = ON_TARGET_COLOR, "on target"
    else:
        color, verdict = OFF_TARGET_COLOR, "off target"
    return replace(
        tile, delta=target_text(name, target), delta_color=color, delta_description=verdict
    )
