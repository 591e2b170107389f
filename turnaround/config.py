"""The config as the load commands read it: per-source settings and the plausible range.

The settings themselves, and the file they are read from, are declared in
data_contracts/settings.py; the metric parameters a config gives, in metrics/settings.py.
"""

from __future__ import annotations

from typing import Any

from data_contracts.settings import SOURCE_MAPS, SOURCE_OPTIONS, Config


def source_settings(config: Config) -> dict:
    """The config's [sources.NAME] tables as the loader's SourceSettings, by source name."""
    from etl.pipeline.frames import SourceSettings

    return {
        name: SourceSettings(
            timezone=table.get("timezone"),
            date_order=table.get("date_order"),
            values={key: dict(table[key]) for key in SOURCE_MAPS if key in table},
            options={key: table[key] for key in SOURCE_OPTIONS if key in table},
        )
        for name, table in config.values.get("sources", {}).items()
    }


def plausible_range(config: Config) -> dict[str, Any]:
    """The config's [load] plausible range as LoadOptions' keyword arguments (only those
    set: the others keep the loader's defaults)."""
    import datetime as dt

    found: dict[str, Any] = {}
    earliest = config.get("load", "plausible_from")
    if earliest is not None:
        day = earliest if isinstance(earliest, dt.date) else dt.date.fromisoformat(earliest)
        found["plausible_from"] = day
    if config.get("load", "plausible_ahead_days") is not None:
        found["plausible_ahead_days"] = float(config.get("load", "plausible_ahead_days"))
    return found
