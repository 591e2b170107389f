"""The config file as the metrics read it: the settings' checks that need what the metrics
know (KPI names, business hours, tag prefixes), and the metric parameters and KPI targets a
config gives. The settings themselves are declared in data_contracts/settings.py.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from data_contracts.settings import (
    Config,
    ConfigError,
    MetricsSettings,
    PrivacySettings,
    RecoverySettings,
    SettingChecks,
    read_config,
)
from metrics.business_hours import WEEKDAYS, Schedule, ScheduleError, parse_openings, zone
from metrics.catalog import KPI_CATALOG
from metrics.params import MetricParams
from warehouse.dialect import SAFE_NAME


def _tag_prefix(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(SAFE_NAME, value)
    return None if ok else "a tag prefix of letters, digits and _ : . + - / (such as area_)"


def _targets(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "a table of KPI names and target numbers"
    for name, target in value.items():
        if name not in KPI_CATALOG:
            return (
                f"a table of KPI targets; {name!r} is not a KPI (known: {', '.join(KPI_CATALOG)})"
            )
        if isinstance(target, bool) or not isinstance(target, int | float):
            return f"a table of KPI targets; {name} = {target!r} is not a number"
    return None


def _hours(value: Any) -> str | None:
    if not isinstance(value, dict):
        return 'a table of weekdays and hours, such as mon = "09:00-17:00"'
    for day, hours in value.items():
        if day not in WEEKDAYS:
            return f"a table of weekdays ({', '.join(WEEKDAYS)}); {day!r} is not one"
        try:
            parse_openings(hours)
        except ScheduleError as exc:
            return f"hours per weekday; {day}: {exc}"
    return None


# The settings that are metric parameters, by section and the name they share.
METRIC_SETTINGS: tuple[tuple[str, str], ...] = tuple(
    (section, f.name)
    for section, model in (
        ("metrics", MetricsSettings),
        ("recovery", RecoverySettings),
        ("privacy", PrivacySettings),
    )
    for f in fields(MetricParams)
    if f.name in model.model_fields
)

CHECKS = SettingChecks(tag_prefix=_tag_prefix, targets=_targets, hours=_hours)


def load_config(path: Path | None = None) -> Config:
    """The config from ``path``, else from ``turnaround.toml`` here, else empty; a setting
    that cannot be used is a ``ConfigError`` naming it."""
    return read_config(path, CHECKS)


def metric_params(config: Config, **overrides: Any) -> MetricParams:
    """The metric parameters of ``config`` ([metrics], [recovery], [privacy] and [schedule]),
    then ``overrides`` that are not None (a command's options). A schedule or time zone that
    cannot be used is a ``ConfigError`` naming it."""
    values = {}
    for section, key in METRIC_SETTINGS:
        value = config.get(section, key)
        if value is not None:  # a list of tags becomes the parameter's tuple
            values[key] = tuple(value) if isinstance(value, list) else value
    if "schedule" in config.values:
        schedule = config.values["schedule"]
        try:
            values["schedule"] = Schedule.from_settings(
                schedule["timezone"],
                schedule["hours"],
                [str(day) for day in schedule.get("holidays", [])],
            )
        except ScheduleError as exc:
            raise ConfigError(f"{config.path}: schedule: {exc}") from None
    if overrides.get("reporting_timezone") is not None:
        try:
            zone(overrides["reporting_timezone"])
        except ScheduleError as exc:
            raise ConfigError(f"--timezone: {exc}") from None
    values |= {key: value for key, value in overrides.items() if value is not None}
    return MetricParams(**values)


def kpi_targets(config: Config) -> dict[str, float]:
    """Each KPI's target: the config's [metrics.targets], else the catalog's default."""
    targets = {n: k.default_target for n, k in KPI_CATALOG.items() if k.default_target is not None}
    return targets | dict(config.get("metrics", "targets", {}) or {})
