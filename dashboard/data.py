"""Cached access to the warehouse and the metrics package, for the dashboard pages.

Pages call these functions and only arrange what they get back. The engine is cached per
warehouse URL (``st.cache_resource``); metric results per URL and parameters
(``st.cache_data``). Problems that loading data can fix are raised as ``WarehouseNotReady``,
which Streamlit does not cache, so the page fills in as soon as a load finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
import streamlit as st

from metrics import MetricParams, compute_kpis, recovery_groups, weekly_trends
from warehouse import Warehouse
from warehouse.engine import WarehouseError, driver_reason, duckdb_path
from warehouse.schema import SchemaError, check_schema

RESULT_TTL_SECONDS = 300
TREND_WEEKS = 26
CANONICAL_TABLES = ("tickets", "nps_responses", "customers")


class WarehouseNotReady(Exception):
    """The warehouse has nothing to show. ``needs_data`` says whether loading data fixes it."""

    def __init__(self, message: str, *, needs_data: bool) -> None:
        super().__init__(message)
        self.message = message
        self.needs_data = needs_data


@dataclass(frozen=True)
class ExecutiveSummary:
    """Everything the executive page shows, for one warehouse and one set of parameters."""

    as_of: str
    kpis: dict[str, float | None]
    paradox: dict[str, dict[str, Any]]
    trends: pl.DataFrame  # one row per week
    groups: pl.DataFrame  # one row per recovery group
    hindsight: dict[str, Any] | None = None  # where point-in-time groups may know too much


def display_url(url: str) -> str:
    """The warehouse URL with any password masked, safe to show on a page."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


@st.cache_resource(show_spinner=False)
def warehouse_engine(url: str) -> sa.Engine:
    """A read-only engine for the warehouse at ``url``, shared by all sessions. On DuckDB its
    connections wait out a load's merge and never keep a load out (warehouse.access)."""
    return Warehouse.at(url).reader()


def _ready_engine(url: str) -> sa.Engine:
    try:
        engine = warehouse_engine(url)
        with engine.connect() as conn:
            missing = [name for name in CANONICAL_TABLES if not sa.inspect(conn).has_table(name)]
            if not missing:
                check_schema(conn, f"The warehouse at {display_url(url)}")
    except WarehouseError as exc:
        raise WarehouseNotReady(str(exc), needs_data=_is_missing_file(url)) from None
    except SchemaError as exc:
        raise WarehouseNotReady(str(exc), needs_data=False) from None
    except sa.exc.DBAPIError as exc:
        raise WarehouseNotReady(_unreadable(url, exc), needs_data=False) from None
    if missing:
        raise WarehouseNotReady(
            f"The warehouse at {display_url(url)} has no {', '.join(missing)} table yet.",
            needs_data=True,
        )
    return engine


def _is_missing_file(url: str) -> bool:
    try:
        path = duckdb_path(url)
    except sa.exc.ArgumentError:
        return False
    return path is not None and not path.exists()


def _unreadable(url: str, exc: sa.exc.DBAPIError) -> str:
    # The driver's own first line says why (a server down, a file another program holds).
    return f"The warehouse at {display_url(url)} could not be read: {driver_reason(exc)}"


@st.cache_data(ttl=RESULT_TTL_SECONDS, show_spinner="Computing recovery KPIs...")
def executive_summary(url: str, horizon_days: int, target_minutes: int) -> ExecutiveSummary:
    """KPIs, weekly trends and recovery groups of the warehouse at ``url``.

    Raises ``WarehouseNotReady`` when the warehouse is missing, has no tables or no rows,
    or cannot be read.
    """
    engine = _ready_engine(url)
    params = MetricParams(horizon_days=horizon_days, target_minutes=target_minutes)
    try:
        report = compute_kpis(engine, params)
        if report["as_of"] is None:
            raise WarehouseNotReady(
                f"The warehouse at {display_url(url)} has no tickets, NPS responses or "
                "customers yet.",
                needs_data=True,
            )
        return ExecutiveSummary(
            as_of=report["as_of"],
            kpis=report["kpis"],
            paradox=report["paradox"],
            trends=weekly_trends(engine, params, weeks=TREND_WEEKS),
            groups=recovery_groups(engine, params),
            hindsight=report.get("hindsight"),
        )
    except WarehouseError as exc:  # a load kept the warehouse longer than a reader waits
        raise WarehouseNotReady(str(exc), needs_data=False) from None
    except sa.exc.DBAPIError as exc:
        raise WarehouseNotReady(_unreadable(url, exc), needs_data=False) from None
