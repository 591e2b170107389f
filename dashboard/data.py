"""Cached access to the warehouse and the metrics package, for the dashboard pages.

Pages call ``fetch`` with a public function of ``metrics`` (or ``metrics.health``) and only
arrange what they get back. The engine is cached per warehouse URL (``st.cache_resource``).
Results are cached per warehouse, data version, function and arguments (``st.cache_data``):
the data version is the load history's newest run, read on every page run from the small
``etl_runs`` table, so a finished load gives new results at once instead of after a ttl.
Problems that loading data or waiting can fix are raised as ``WarehouseNotReady``, which
Streamlit does not cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import streamlit as st

from data_contracts import CANONICAL_TABLES
from data_contracts.settings import Config
from metrics import MetricParams
from metrics.settings import kpi_targets, load_config, metric_params
from warehouse import Warehouse, resolve_url
from warehouse.engine import WarehouseError, driver_reason, duckdb_path
from warehouse.schema import SchemaError, check_schema, etl_runs

RESULT_TTL_SECONDS = 3600
CONFIG_ENV_VAR = "TURNAROUND_CONFIG"
DEFAULT_STALE_AFTER_HOURS = 36.0


class WarehouseNotReady(Exception):
    """The warehouse has nothing to show. ``needs_data`` says whether loading data fixes it."""

    def __init__(self, message: str, *, needs_data: bool) -> None:
        super().__init__(message)
        self.message = message
        self.needs_data = needs_data


@dataclass(frozen=True)
class Setup:
    """What every page reads with: the warehouse, the config's metric parameters, targets."""

    url: str
    params: MetricParams
    targets: dict[str, float]
    stale_after_hours: float
    config_path: Path | None


def display_url(url: str) -> str:
    """The warehouse URL with any password masked, safe to show on a page."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def setup() -> Setup:
    """The warehouse URL and the config the dashboard was started with (``turnaround
    dashboard --config``, else turnaround.toml in the working folder). ConfigError when the
    config cannot be used."""
    given = os.environ.get(CONFIG_ENV_VAR)
    config: Config = load_config(Path(given) if given else None)
    return Setup(
        url=resolve_url(None),
        params=metric_params(config),
        targets=kpi_targets(config),
        stale_after_hours=float(
            config.get("dashboard", "stale_after_hours", DEFAULT_STALE_AFTER_HOURS)
        ),
        config_path=config.path,
    )


@st.cache_resource(show_spinner=False)
def warehouse_engine(url: str) -> sa.Engine:
    """A read-only engine for the warehouse at ``url``, shared by all sessions. On DuckDB its
    connections wait out a load's merge and never keep a load out (warehouse.access)."""
    return Warehouse.at(url).reader()


def _is_missing_file(url: str) -> bool:
    try:
        path = duckdb_path(url)
    except sa.exc.ArgumentError:
        return False
    return path is not None and not path.exists()


def _unreadable(url: str, exc: sa.exc.DBAPIError) -> str:
    # The driver's own first line says why (a server down, a file another program holds).
    return f"The warehouse at {display_url(url)} could not be read: {driver_reason(exc)}"


def _guarded(url: str, work: Callable[[], Any]) -> Any:
    try:
        return work()
    except WarehouseError as exc:  # missing, or a load kept it longer than a reader waits
        raise WarehouseNotReady(str(exc), needs_data=_is_missing_file(url)) from None
    except SchemaError as exc:
        raise WarehouseNotReady(str(exc), needs_data=False) from None
    except sa.exc.DBAPIError as exc:
        raise WarehouseNotReady(_unreadable(url, exc), needs_data=False) from None


def data_version(url: str) -> str:
    """The warehouse's data version: its newest load run (or a fixed text when it records
    none). Checks that the warehouse is there and has the canonical tables."""

    def read() -> str:
        engine = warehouse_engine(url)
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            missing = [name for name in CANONICAL_TABLES if not inspector.has_table(name)]
            if missing:
                raise WarehouseNotReady(
                    f"The warehouse at {display_url(url)} has no {', '.join(missing)} table yet.",
                    needs_data=True,
                )
            check_schema(conn, f"The warehouse at {display_url(url)}")
            r = etl_runs.c
            runs, newest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(sa.func.coalesce(r.ended_at, r.started_at)))
            ).one()
        return f"{runs}:{newest}"

    return _guarded(url, read)


@st.cache_data(ttl=RESULT_TTL_SECONDS, max_entries=512, show_spinner="Reading the warehouse…")
def _cached(name: str, url: str, version: str, key: str, _work: Callable[[], Any]) -> Any:
    """``_work()``, cached by what it is (``name``, ``key``) and the data it reads."""
    return _work()


def fetch(
    setup_: Setup, version: str, function: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """``function(engine, *args, **kwargs)`` on the warehouse, cached per data version and
    arguments (their repr: parameters and requests are frozen dataclasses)."""
    url = setup_.url
    name = f"{function.__module__}.{function.__qualname__}"
    key = repr((args, sorted(kwargs.items())))

    def work() -> Any:
        return _guarded(url, lambda: function(warehouse_engine(url), *args, **kwargs))

    return _cached(name, url, version, key, work)


def read(setup_: Setup, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(engine, *args, **kwargs)`` on the warehouse, not cached."""
    url = setup_.url
    return _guarded(url, lambda: function(warehouse_engine(url), *args, **kwargs))


def clear() -> None:
    """Forget every cached result (the Refresh button)."""
    _cached.clear()
