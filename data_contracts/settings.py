"""``turnaround.toml``: the settings every command reads (``--config FILE``), declared once as
typed settings (pydantic), whose checks give the messages.

Read from ``--config FILE``, else ``turnaround.toml`` in the working folder when present.
Every key is optional; a command-line option wins over the file. Credentials are never
in the file, only the names of the variables that hold them. A setting that is unknown, of
the wrong type or out of range is a ``ConfigError`` naming the key (exit 2). What a check
needs to know from the metrics (KPI names, business hours, tag prefixes) it is given
(``SettingChecks``, metrics/settings.py).

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
definitions = "2026-12"        # or "2026-11": the earlier definitions (docs/definitions.md)
maturity_days = 14             # a period is complete this long after its end
currency = "EUR"               # of MRR and compensation (ISO 4217)

[metrics.targets]              # KPI targets shown beside the values
tta_p90_minutes = 60
csat_score = 0.85

[privacy]
pseudonymise_agents = true     # agents shown as "Agent 7f3a9c", never by name

[recovery]
lookback_days = 365            # only failures created this close before t group a customer

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
import datetime as dt
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from data_contracts.contract import CONTRACTS
from data_contracts.options import (
    COUNTS,
    DATE_ORDERS,
    DEFINITIONS,
    ONE_TOUCH_PRESETS,
    time_zone_names,
)

DEFAULT_FILE = "turnaround.toml"

# A check: None when the value is fine, else what it should be ("a number").
Check = Callable[[Any], "str | None"]


class ConfigError(Exception):
    """The config file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SettingChecks:
    """The checks that need what the metrics know (metrics/settings.py gives them)."""

    tag_prefix: Check
    targets: Check
    hours: Check


def _number(low: float | None = None, high: float | None = None, integer: bool = False) -> Check:
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
    wanted = "an IANA time zone name (such as UTC or Europe/Berlin)"
    if _text(value) or value not in time_zone_names():
        return wanted
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return wanted
    return None


def _value_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return 'a table of source values and canonical ones, such as "Awaiting parts" = "hold"'
    return None


def _currency(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value)
    return None if ok else "a three-letter ISO 4217 currency code in capitals, such as USD"


def _choice(*options: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in options else "one of " + ", ".join(repr(o) for o in options)

    return check


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


def _source(name: str) -> Check:
    def check(value: Any) -> str | None:
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


def _credential_table(**checks: Check) -> Check:
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


def _dates(value: Any) -> str | None:
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
    # From the first day the metrics take (metrics.slices.FIRST_DAY) to today.
    wanted = "a date such as 1970-01-01, from 1900-01-01 to today"
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date | str):
        return wanted
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except ValueError:
        return wanted
    return None if dt.date(1900, 1, 1) <= day <= dt.datetime.now(dt.UTC).date() else wanted


def _checked(check: Check | str) -> BeforeValidator:
    """A field validator from a check (or the name of one of SettingChecks): its answer is
    the message's "must be ..." part."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        run = getattr(info.context["checks"], check) if isinstance(check, str) else check
        if (wanted := run(value)) is not None:
            raise PydanticCustomError("setting", "{wanted}", {"wanted": wanted})
        return value

    return BeforeValidator(validate)


Number = int | float  # as written: 60 stays 60
Text = Annotated[str, _checked(_text)]
Zone = Annotated[str, _checked(check_timezone)]
Tags = Annotated[list[str], _checked(_tags)]
Credentials = dict[str, str]


def _at_least(low: float, high: float | None = None, integer: bool = False) -> Any:
    return Annotated[int if integer else Number, _checked(_number(low, high, integer))]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseSettings(_Section):
    url: Text | None = None
    read_wait_seconds: _at_least(0) | None = None  # how long a reader waits out a load


class LoadSettings(_Section):
    quarantine_limit: _at_least(0, 1) | None = None
    wait_seconds: _at_least(0) | None = None
    settle_seconds: _at_least(0) | None = None
    encoding: Annotated[str, _checked(_encoding)] | None = None
    source_timezone: Zone | None = None
    date_order: Annotated[str, _checked(_choice(*DATE_ORDERS))] | None = None
    plausible_from: Annotated[dt.date | str, _checked(_past_date)] | None = None
    plausible_ahead_days: _at_least(0, 36500) | None = None


class IdentitySettings(_Section):
    secrets_file: Text | None = None


class PullSettings(_Section):
    folder: Text | None = None  # where raw pages are kept (default ~/.local/share/...)
    keep_days: _at_least(0) | None = None
    time_limit_seconds: _at_least(1) | None = None
    zendesk: (
        Annotated[
            Credentials,
            _checked(
                _credential_table(
                    base_url=_text,
                    subdomain_env=_variable,
                    email_env=_variable,
                    token_env=_variable,
                )
            ),
        ]
        | None
    ) = None
    delighted: (
        Annotated[Credentials, _checked(_credential_table(base_url=_text, api_key_env=_variable))]
        | None
    ) = None


class RefreshSettings(_Section):
    sources: Annotated[list[str], _checked(_sources_list)] | None = None
    inbox: Text | None = None
    stale_after_hours: _at_least(0) | None = None


class MetricsSettings(_Section):
    horizon_days: _at_least(1, 36500, integer=True) | None = None
    target_minutes: _at_least(0) | None = None
    failure_tags: Tags | None = None
    one_touch: Annotated[str, _checked(_choice(*ONE_TOUCH_PRESETS))] | None = None
    recovery_window_hours: _at_least(0) | None = None
    reporting_timezone: Zone | None = None
    product_area_prefix: Annotated[str, _checked("tag_prefix")] | None = None
    min_group_size: _at_least(1, integer=True) | None = None
    count: Annotated[str, _checked(_choice(*COUNTS))] | None = None
    episode_window_days: _at_least(0, 3650) | None = None
    proactive_tags: Tags | None = None
    close_the_loop_hours: _at_least(0) | None = None
    targets: Annotated[dict[str, Number], _checked("targets")] | None = None
    definitions: Annotated[str, _checked(_choice(*DEFINITIONS))] | None = None
    maturity_days: _at_least(0, 3650) | None = None  # a period is complete this long after it
    currency: Annotated[str, _checked(_currency)] | None = None


class RecoverySettings(_Section):
    lookback_days: _at_least(1, 36500, integer=True) | None = None


class ScheduleSettings(_Section):
    timezone: Zone | None = None
    hours: Annotated[dict[str, str | list[str]], _checked("hours")] | None = None
    holidays: Annotated[list[dt.date | str], _checked(_dates)] | None = None


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


class PrivacySettings(_Section):
    # agents are shown by a stable pseudonym instead of their name, everywhere names show
    pseudonymise_agents: Annotated[bool, _checked(_boolean)] | None = None


class DashboardSettings(_Section):
    address: Text | None = None
    port: _at_least(1, 65535, integer=True) | None = None
    stale_after_hours: _at_least(0) | None = None


def _sources(value: Any) -> Any:
    """[sources.NAME]: any source named in lowercase; what each may hold is ``_source(NAME)``."""
    if not isinstance(value, dict):
        return value  # refused as no table
    for name, table in value.items():
        if not SOURCE_NAME.fullmatch(name):
            raise PydanticCustomError("source_name", "{key}", {"key": name})
        if (wanted := _source(name)(table)) is not None:
            raise PydanticCustomError("setting", "{wanted}", {"wanted": wanted, "key": name})
    return value


class Settings(_Section):
    """Every section of the file, each optional."""

    warehouse: WarehouseSettings | None = None
    load: LoadSettings | None = None
    sources: Annotated[dict[str, dict[str, Any]], BeforeValidator(_sources)] | None = None
    identity: IdentitySettings | None = None
    pull: PullSettings | None = None
    refresh: RefreshSettings | None = None
    metrics: MetricsSettings | None = None
    recovery: RecoverySettings | None = None
    schedule: ScheduleSettings | None = None
    dashboard: DashboardSettings | None = None
    privacy: PrivacySettings | None = None


@dataclass(frozen=True)
class Config:
    """The settings of one command run: the file's values as written, by section and key,
    and the same as typed settings."""

    path: Path | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.values.get(section, {}).get(key, default)

    def path_setting(self, section: str, key: str) -> Path | None:
        """A path setting, relative to the config file's folder when not absolute."""
        value = self.get(section, key)
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() or self.path is None else self.path.parent / path


def read_config(path: Path | None, checks: SettingChecks) -> Config:
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
    try:
        settings = Settings.model_validate(raw, context={"checks": checks})
    except ValidationError as exc:
        raise ConfigError(_first_message(exc, raw, path)) from None
    for key in ("timezone", "hours"):
        if settings.schedule is not None and getattr(settings.schedule, key) is None:
            raise ConfigError(
                f"{path}: schedule.{key} is missing ([schedule] needs both timezone and hours)"
            )
    return Config(path, {section: dict(keys) for section, keys in raw.items()}, settings)


def _first_message(exc: ValidationError, raw: dict, path: Path) -> str:
    """The message of the first setting at fault in the file's order."""

    def place(error: Any) -> tuple[int, int]:
        section, *rest = error["loc"]
        keys = list(raw[section]) if isinstance(raw[section], dict) else []
        key = rest[0] if rest else (error.get("ctx") or {}).get("key")
        return list(raw).index(section), keys.index(key) if key in keys else -1

    error = min(exc.errors(), key=place)
    section, *rest = error["loc"]
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden" and not rest:
        known = ", ".join(f"[{s}]" for s in Settings.model_fields)
        return f"{path}: unknown section [{section}] (known: {known})"
    if kind in ("model_type", "dict_type") and not rest:
        return f"{path}: {section} must be a [{section}] table"
    if kind == "source_name":
        return (
            f"{path}: [sources.{ctx['key']}]: a source is named in lowercase letters, "
            "digits and _ (freshdesk, zendesk_explore, qualtrics, delighted, or a "
            "mapping file's source)"
        )
    key = rest[0] if rest else ctx["key"]
    if kind == "extra_forbidden":
        known = ", ".join(Settings.model_fields[section].annotation.__args__[0].model_fields)
        return f"{path}: unknown setting {section}.{key} (known: {known})"
    value = raw[section][key]
    # a credential may be written into [pull.*] by mistake: never repeated
    given = "" if section == "pull" and key in PULL_SOURCES else f", not {value!r}"
    return f"{path}: {section}.{key} must be {ctx['wanted']}{given}"
