"""``turnaround.toml``: the settings every command reads (``--config FILE``).

Read from ``--config FILE``, else ``turnaround.toml`` in the working folder when present.
Every key is optional; a command-line option wins over the file. Credentials are never
in the file, only the names of the variables that hold them. A setting that is unknown, of
the wrong type or out of range is a ``ConfigError`` naming the key (exit 2).

```toml
[warehouse]
url = "duckdb:///var/lib/turnaround/turnaround.duckdb"
read_wait_seconds = 60     # how long a reader waits out a load's merge

[load]
quarantine_limit = 0.10    # a file with a larger share of bad rows is refused whole
wait_seconds = 300         # how long a load waits for another load (and for readers)
settle_seconds = 5         # an inbox file changed more recently than this waits
encoding = "utf-8"
source_timezone = "Europe/Berlin"  # of timestamps without an offset, for every source
date_order = "day-first"   # or "month-first": 01/02/2025 in a file that does not show it
plausible_from = "1970-01-01"  # an event time before this day is quarantined...
plausible_ahead_days = 1   # ...and one more than this many days after the load's start

[sources.freshdesk]        # per source: freshdesk, zendesk_explore, qualtrics, delighted,
                           # or a mapping file's source
timezone = "America/New_York"
date_order = "month-first"

[sources.freshdesk.statuses]   # custom statuses -> new|open|pending|hold|solved|closed
"Waiting on Engineering" = "hold"

[sources.qualtrics]
nps_question = "Q5"        # where no Q5_NPS_GROUP column marks it
comment_question = "Q6"

[identity]
secrets_file = "/etc/turnaround/secrets.toml"   # holds the email hash key

[pull]                     # turnaround pull zendesk|delighted, turnaround refresh
folder = "/var/lib/turnaround/pulls"   # raw pages, one folder per run (owner only)
keep_days = 14             # raw page folders older than this are deleted
time_limit_seconds = 900   # retries of one request give up after this

[pull.zendesk]             # credentials come from these environment variables only
subdomain_env = "ZENDESK_SUBDOMAIN"
email_env = "ZENDESK_EMAIL"
token_env = "ZENDESK_API_TOKEN"

[pull.delighted]
api_key_env = "DELIGHTED_API_KEY"

[refresh]                  # turnaround refresh: what a scheduler runs
sources = ["zendesk", "delighted"]
inbox = "/srv/turnaround/inbox"
stale_after_hours = 36     # a source whose newest data is older fails the refresh

[metrics]
horizon_days = 90              # retention horizon H
target_minutes = 60            # acknowledgement target
failure_tags = ["complaint", "outage", "bug"]
one_touch = "explore"          # or "dbt_zendesk" (exactly one agent reply)
recovery_window_hours = 24     # "recovered within window"
reporting_timezone = "UTC"     # calendar days, weeks, months of --grain and cohorts
product_area_prefix = "area_"  # tags naming a product area
min_group_size = 30            # a smaller sliced group is flagged small
count = "tickets"              # recovery KPIs count tickets, "episodes" or "customers"
episode_window_days = 7        # failures this close to the one before are one episode
proactive_tags = ["proactive"] # failures the company reported before the customer did
close_the_loop_hours = 48      # a detractor answered within this is closed in time

[metrics.targets]              # KPI targets shown beside the values
tta_p90_minutes = 60
csat_score = 0.85

[schedule]                     # business hours, where sources give no business TTA
timezone = "Europe/Berlin"
holidays = ["2026-12-25", "2026-12-26"]

[schedule.hours]               # closed on days not listed
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = ["09:00-12:00", "13:00-16:00"]

[dashboard]
address = "127.0.0.1"
port = 8501
stale_after_hours = 36         # a banner when the last successful load is older
```
"""

from __future__ import annotations

import codecs
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_contracts.options import COUNTS, DATE_ORDERS, ONE_TOUCH_PRESETS

DEFAULT_FILE = "turnaround.toml"


class ConfigError(Exception):
    """The config file cannot be used; the message names the file and the key."""


def _number(low: float | None = None, high: float | None = None, integer: bool = False):
    def check(value: Any) -> str | None:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return "a whole number" if integer else "a number"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        return None

    return check


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "non-empty text"


def _encoding(value: Any) -> str | None:
    if _text(value):
        return "the name of a text encoding"
    try:
        codecs.lookup(value)
    except LookupError:
        return "the name of a text encoding Python knows (utf-8, cp1252, latin-1...)"
    return None


def _tags(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
    return None if ok else "a list of tags as text"


def check_timezone(value: Any) -> str | None:
    from metrics.business_hours import ScheduleError, zone

    if _text(value):
        return "an IANA time zone name (such as UTC or Europe/Berlin)"
    try:
        zone(value)
    except ScheduleError:
        return "an IANA time zone name (such as UTC or Europe/Berlin)"
    return None


def _value_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return 'a table of source values and canonical ones, such as "Awaiting parts" = "hold"'
    return None


# What a [sources.NAME] table may hold; value maps are checked against the contract below.
SOURCE_MAPS = {"statuses": "status", "channels": "channel", "types": "type"}
SOURCE_OPTIONS = ("nps_question", "comment_question")  # Qualtrics' question ids


# What each source's [sources.NAME] table may hold beyond timezone and date_order: the value
# maps and options its reader reads. Any other NAME (a mapping file's source) takes only
# timezone and date_order.
SOURCE_KEYS = {
    "freshdesk": ("statuses", "channels", "types"),
    "zendesk_explore": ("channels",),
    "qualtrics": SOURCE_OPTIONS,
}
SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _source(name: str):
    def check(value: Any) -> str | None:
        from data_contracts import CONTRACTS

        extra = SOURCE_KEYS.get(name, ())
        listed = ", ".join(("timezone", "date_order", *extra))
        if not isinstance(value, dict):
            return f"a table of {listed}"
        known = {
            "timezone": check_timezone,
            "date_order": _choice(*DATE_ORDERS),
            **{key: _text for key in extra if key in SOURCE_OPTIONS},
        }
        for key, setting in value.items():
            if key in SOURCE_MAPS and key in extra:
                wanted = _value_map(setting)
                allowed = CONTRACTS["tickets"].column(SOURCE_MAPS[key]).allowed or ()
                if wanted is None and (bad := [v for v in setting.values() if v not in allowed]):
                    wanted = f"a table of values among {', '.join(allowed)}; {bad[0]!r} is not one"
            elif key in known:
                wanted = known[key](setting)
            else:
                return f"a table of {listed} (what its reader reads); {key!r} is not one of them"
            if wanted is not None:
                return f"a table whose {key} is {wanted}, not {setting!r}"
        return None

    return check


PULL_SOURCES = ("zendesk", "delighted")  # [pull.NAME]: credential settings, never echoed


def _credential_table(**checks):
    """A sub-table whose keys each have a check (``[pull.zendesk]``); its messages name the
    key at fault, never the value, which may be a credential put there by mistake."""

    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"a table of {', '.join(checks)} (credentials come from the environment only)"
        for key, setting in value.items():
            if key not in checks:
                shown = repr(key) if re.fullmatch(r"[a-z_]{1,40}", str(key)) else "a key"
                return (
                    f"a table of {', '.join(checks)}; {shown} is not one of them "
                    "(credentials come from the environment only, never from this file)"
                )
            if (wanted := checks[key](setting)) is not None:
                return f"a table whose {key} is {wanted}"
        return None

    return check


def _variable(value: Any) -> str | None:
    # An environment variable's name as people write them, upper case: an API token or key
    # (mixed or lower case) put here by mistake is refused, and then never printed.
    ok = isinstance(value, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]{0,63}", value)
    return None if ok else "the name of an environment variable (such as ZENDESK_API_TOKEN)"


def _sources_list(value: Any) -> str | None:
    ok = isinstance(value, list) and value and all(v in PULL_SOURCES for v in value)
    return None if ok else 'a list of sources to pull, such as ["zendesk", "delighted"]'


def _choice(*options: str):
    def check(value: Any) -> str | None:
        return None if value in options else "one of " + ", ".join(repr(o) for o in options)

    return check


def _tag_prefix(value: Any) -> str | None:
    from warehouse.dialect import SAFE_NAME

    ok = isinstance(value, str) and re.fullmatch(SAFE_NAME, value)
    return None if ok else "a tag prefix of letters, digits and _ : . + - / (such as area_)"


def _targets(value: Any) -> str | None:
    from metrics.catalog import KPI_CATALOG

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
    from metrics.business_hours import WEEKDAYS, ScheduleError, parse_openings

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


def _dates(value: Any) -> str | None:
    import datetime as dt

    if not isinstance(value, list):
        return 'a list of dates such as ["2026-12-25"]'
    for item in value:
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            continue
        try:
            dt.date.fromisoformat(item)
        except (TypeError, ValueError):
            return f'a list of dates such as ["2026-12-25"]; {item!r} is not one'
    return None


def _past_date(value: Any) -> str | None:
    import datetime as dt

    # From the first day the metrics take (metrics.slices.FIRST_DAY) to today.
    wanted = "a date such as 1970-01-01, from 1900-01-01 to today"
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        return wanted
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except ValueError:
        return wanted
    return None if dt.date(1900, 1, 1) <= day <= dt.datetime.now(dt.UTC).date() else wanted


# section -> key -> check (None when the value is fine, else what it should be)
SETTINGS = {
    "warehouse": {"url": _text, "read_wait_seconds": _number(0)},
    "load": {
        "quarantine_limit": _number(0, 1),
        "wait_seconds": _number(0),
        "settle_seconds": _number(0),
        "encoding": _encoding,
        "source_timezone": check_timezone,
        "date_order": _choice(*DATE_ORDERS),
        "plausible_from": _past_date,
        "plausible_ahead_days": _number(0, 36500),
    },
    # [sources.NAME]: any source name; what each may hold is checked by _source(NAME).
    "sources": {},
    "identity": {"secrets_file": _text},
    "pull": {
        "folder": _text,  # where raw pages are kept (default ~/.local/share/turnaround/pulls)
        "keep_days": _number(0),
        "time_limit_seconds": _number(1),
        "zendesk": _credential_table(
            base_url=_text, subdomain_env=_variable, email_env=_variable, token_env=_variable
        ),
        "delighted": _credential_table(base_url=_text, api_key_env=_variable),
    },
    "refresh": {"sources": _sources_list, "inbox": _text, "stale_after_hours": _number(0)},
    "metrics": {
        "horizon_days": _number(1, 36500, integer=True),
        "target_minutes": _number(0),
        "failure_tags": _tags,
        "one_touch": _choice(*ONE_TOUCH_PRESETS),
        "recovery_window_hours": _number(0),
        "reporting_timezone": check_timezone,
        "product_area_prefix": _tag_prefix,
        "min_group_size": _number(1, integer=True),
        "count": _choice(*COUNTS),
        "episode_window_days": _number(0, 3650),
        "proactive_tags": _tags,
        "close_the_loop_hours": _number(0),
        "targets": _targets,
    },
    "schedule": {"timezone": check_timezone, "hours": _hours, "holidays": _dates},
    "dashboard": {
        "address": _text,
        "port": _number(1, 65535, integer=True),
        "stale_after_hours": _number(0),
    },
}


@dataclass(frozen=True)
class Config:
    """The settings of one command run: the file's values, by section and key."""

    path: Path | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.values.get(section, {}).get(key, default)

    def path_setting(self, section: str, key: str) -> Path | None:
        """A path setting, relative to the config file's folder when not absolute."""
        value = self.get(section, key)
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() or self.path is None else self.path.parent / path


def load_config(path: Path | None = None) -> Config:
    """The config from ``path``, else from ``turnaround.toml`` here, else empty."""
    if path is None:
        default = Path(DEFAULT_FILE)
        if not default.is_file():
            return Config()
        path = default
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return Config(path, _checked(raw, path))


def _checked(raw: dict, path: Path) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for section, keys in raw.items():
        if section not in SETTINGS:
            known = ", ".join(f"[{s}]" for s in SETTINGS)
            raise ConfigError(f"{path}: unknown section [{section}] (known: {known})")
        if not isinstance(keys, dict):
            raise ConfigError(f"{path}: {section} must be a [{section}] table")
        for key, value in keys.items():
            check = SETTINGS[section].get(key)
            if section == "sources" and SOURCE_NAME.fullmatch(key):
                check = _source(key)
            if check is None:
                if section == "sources":
                    raise ConfigError(
                        f"{path}: [sources.{key}]: a source is named in lowercase letters, "
                        "digits and _ (freshdesk, zendesk_explore, qualtrics, delighted, or a "
                        "mapping file's source)"
                    )
                known = ", ".join(SETTINGS[section])
                raise ConfigError(f"{path}: unknown setting {section}.{key} (known: {known})")
            wanted = check(value)
            if wanted is not None:
                # a credential may be written into [pull.*] by mistake: never repeated
                given = "" if section == "pull" and key in PULL_SOURCES else f", not {value!r}"
                raise ConfigError(f"{path}: {section}.{key} must be {wanted}{given}")
        values[section] = dict(keys)
    schedule = values.get("schedule")
    if schedule is not None:
        for key in ("timezone", "hours"):
            if key not in schedule:
                raise ConfigError(
                    f"{path}: schedule.{key} is missing ([schedule] needs both timezone and hours)"
                )
    return values


def source_settings(config: Config) -> dict:
    """The config's [sources.NAME] tables as the loader's SourceSettings, by source name."""
    from etl.frames import SourceSettings

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


def metric_params(config: Config, **overrides: Any):
    """The metric parameters of ``config`` ([metrics] and [schedule]), then ``overrides``
    that are not None (a command's options). A schedule or time zone that cannot be used
    is a ``ConfigError`` naming it."""
    from metrics import MetricParams
    from metrics.business_hours import Schedule, ScheduleError, zone

    values = {
        key: config.get("metrics", key)
        for key in (
            "horizon_days",
            "target_minutes",
            "one_touch",
            "recovery_window_hours",
            "reporting_timezone",
            "product_area_prefix",
            "min_group_size",
            "count",
            "episode_window_days",
            "close_the_loop_hours",
        )
        if config.get("metrics", key) is not None
    }
    for key in ("failure_tags", "proactive_tags"):
        if config.get("metrics", key) is not None:
            values[key] = tuple(config.get("metrics", key))
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
    from metrics import KPI_CATALOG

    targets = {n: k.default_target for n, k in KPI_CATALOG.items() if k.default_target is not None}
    return targets | dict(config.get("metrics", "targets", {}) or {})
