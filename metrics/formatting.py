"""Human formatting of KPI values for the dashboard and the CLI."""

from __future__ import annotations

from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS

MISSING = "—"


def format_value(name: str, value: float | None) -> str:
    """``value`` of KPI (or paradox delta) ``name`` for people.

    Minutes: "4.5 min", "90 min", then "2.5 h" from two hours on, so a 60-minute target
    reads "60 min". Ratios: "73.2%". NPS: "+12.5".
    Paradox deltas are signed: "+3.2 pp" (retention), "-4.0" (NPS). None: "—".
    """
    if name in KPI_CATALOG:
        unit, is_delta = KPI_CATALOG[name].unit, False
    elif name in PARADOX_DELTAS:
        unit, is_delta = PARADOX_DELTAS[name].unit, True
    else:
        raise KeyError(f"unknown KPI {name!r}; known: {', '.join([*KPI_CATALOG, *PARADOX_DELTAS])}")
    if value is None:
        return MISSING
    if unit == "minutes":
        if value >= 120:
            return f"{value / 60:.1f} h"
        return f"{value:.1f} min" if value < 10 else f"{value:.0f} min"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value * 100:+.1f} pp" if is_delta else f"{value * 100:.1f}%"
    return f"{value:+.1f}"
