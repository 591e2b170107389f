"""The sentences the dashboard shows: data freshness, paradox verdicts, how to load data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from data_contracts.times import parse_utc, to_naive_utc

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
MULTIPLE_COMPARISONS = (
    "Several comparisons are shown; one in twenty will look like an effect by chance."
)

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
