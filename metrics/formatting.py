"""Human formatting of KPI values for the dashboard and the CLI."""

from __future__ import annotations

from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS

MISSING = "—"


def format_value(name: str, value: float | None) -> str:
    """``value`` of KPI (or paradox delta) ``name`` for people.

    Minutes: "4.5 min", "45 min", then "1 h 05 m" from an hour on and "2 d 03 h" from a day
    on. Ratios: "73.2%". NPS: "+12.5".
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
        return format_minutes(value)
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "ratio":
        return f"{value * 100:+.1f} pp" if is_delta else f"{value * 100:.1f}%"
    return f"{value:+.1f}"


def format_minutes(value: float) -> str:
    """A duration in minutes for people: "4.5 min", "45 min", "1 h 05 m", "2 d 03 h"."""
    if value < 10:
        return f"{value:.1f} min"
    whole = round(value)
    if whole < 60:
        return f"{whole} min"
    if whole < 24 * 60:
        return f"{whole // 60} h {whole % 60:02d} m"
    hours = round(value / 60)
    return f"{hours // 24} d {hours % 24:02d} h"
