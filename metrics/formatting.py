"""Human formatting of KPI values for the dashboard and the CLI, and spreadsheet-safe CSV."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import polars as pl

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


# A text cell a spreadsheet would run as a formula (OWASP's "CSV Injection"): one that starts
# with = + - @, a tab or a carriage return, unless it is just a number ("-5", "-0.25"). One
# pattern pair for Python's re and polars' regex engine alike.
FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def _safe_text(text: str) -> str:
    if re.match(FORMULA_START, text) and not re.match(PLAIN_NUMBER, text):
        return "'" + text
    return text


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with a single quote before every text cell, and column name, that a
    spreadsheet would run as a formula; numbers, numeric columns and other text as they were."""
    quoted = []
    for name, dtype in frame.schema.items():
        if not isinstance(dtype, TEXT_TYPES):
            continue
        text = pl.col(name).cast(pl.String)
        is_formula = text.str.contains(FORMULA_START) & ~text.str.contains(PLAIN_NUMBER)
        quoted.append(pl.when(is_formula).then(pl.lit("'") + text).otherwise(text).alias(name))
    return frame.with_columns(quoted).rename(_safe_text)


def csv_bytes(rows: Iterable[dict] | pl.DataFrame) -> bytes:
    """A table as CSV for a download, safe to open in a spreadsheet (``spreadsheet_safe``):
    every CSV file the product writes for a user is made here."""
    frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(list(rows))
    buffer = io.BytesIO()
    spreadsheet_safe(frame).write_csv(buffer)
    return buffer.getvalue()
