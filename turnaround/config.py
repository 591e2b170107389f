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

[identity]
secrets_file = "/etc/turnaround/secrets.toml"   # holds the email hash key

[metrics]
horizon_days = 90
target_minutes = 60
failure_tags = ["complaint", "outage", "bug"]

[dashboard]
address = "127.0.0.1"
port = 8501
```
"""

from __future__ import annotations

import codecs
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


# section -> key -> check (None when the value is fine, else what it should be)
SETTINGS = {
    "warehouse": {"url": _text, "read_wait_seconds": _number(0)},
    "load": {
        "quarantine_limit": _number(0, 1),
        "wait_seconds": _number(0),
        "settle_seconds": _number(0),
        "encoding": _encoding,
    },
    "identity": {"secrets_file": _text},
    "metrics": {
        "horizon_days": _number(1, integer=True),
        "target_minutes": _number(0),
        "failure_tags": _tags,
    },
    "dashboard": {"address": _text, "port": _number(1, 65535, integer=True)},
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
            if check is None:
                known = ", ".join(SETTINGS[section])
                raise ConfigError(f"{path}: unknown setting {section}.{key} (known: {known})")
            wanted = check(value)
            if wanted is not None:
                raise ConfigError(f"{path}: {section}.{key} must be {wanted}, not {value!r}")
        values[section] = dict(keys)
    return values
