"""Customer identity: raw emails are never stored, only a keyed hash of the normalised email.

The key lives outside the warehouse: ``$TURNAROUND_HASH_KEY``, else a secrets file
(``$TURNAROUND_SECRETS_FILE``, the config's ``identity.secrets_file``, else
``~/.config/turnaround/secrets.toml``), created on the first load that needs it. The
warehouse keeps only the key's fingerprint, so a load with another key is refused instead of
splitting every customer in two.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import stat
import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

log = logging.getLogger("turnaround.identity")

HASH_KEY_ENV = "TURNAROUND_HASH_KEY"
SECRETS_FILE_ENV = "TURNAROUND_SECRETS_FILE"
EMAIL_ID_PREFIX = "email:"
_FINGERPRINT_MESSAGE = b"turnaround email hash key fingerprint"

# One pattern for Python's re and polars' regex engine alike: what an email id looks like.
EMAIL_REGEX = r"[^\s\"'<>(),;:@]+@[^\s\"'<>(),;:@]+\.[A-Za-z]{2,}"
EMAIL_PATTERN = re.compile(EMAIL_REGEX)
# What redaction removes: any word with an @ after something, so a cut-off address in a
# truncated line ("pat@exa") goes too; a quoted local part ("pat lee"@example.com, as JSON
# and CSV escape its quotes too) followed by a whole domain; and an @ written as a URL
# writes it (pat%40example.com, up to the next & or /) or as an HTML character reference
# (pat&#64;example.com). Addresses spelt out for people ("pat (at) example.com") are left:
# the words match ordinary text.
# A quarantined record stays readable JSON or CSV: a quoted local part holds no colon or
# comma (else the end of one value and the start of the next, "a": "@pat", would pass for
# one), and a match takes a backslash only with the character it escapes (else it would
# end inside a JSON escape, \").
_WORD = r"\s\"'<>(),;:@"  # what ends a word of an address


def _run(ends: str, least: str) -> str:
    """Characters but ``ends``, a backslash only with the one after it, ``least`` or more."""
    return rf"(?:[^{ends}\\]|\\[^{ends}]){least}"


_DOMAIN = _run(_WORD, "*")
_QUOTED_LOCAL = r'(?:\\"[^"\r\n:,]{1,64}?\\"|""[^"\r\n:,]{1,64}?""|"[^"\\\r\n:,]{1,64}?")'
_WHOLE_DOMAIN = rf"[^{_WORD}]+\.[A-Za-z]{{2,}}{_DOMAIN}"
REDACT_REGEX = (
    rf"{_QUOTED_LOCAL}@{_WHOLE_DOMAIN}"
    rf"|[^{_WORD}]+@{_DOMAIN}"
    rf"|[^{_WORD}&=?/#]+%40(?:{_run(_WORD + '&=?/#%', '+')}|$)"
    rf"|[^{_WORD}&]+&#(?:0*64|[xX]0*40);{_DOMAIN}"
)
REDACT_PATTERN = re.compile(REDACT_REGEX)
REDACTED = "<email>"
PERSON_REDACTED = "<redacted>"  # a field that names a person, in a quarantined row


class HashKeyError(Exception):
    """The email hash key is missing, unreadable, or not the one this warehouse was built with."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_customer_id(email: str, hash_key: str) -> str:
    """The canonical customer id for a source that only knows the customer's email."""
    digest = hmac.new(hash_key.encode(), normalise_email(email).encode(), hashlib.sha256)
    return EMAIL_ID_PREFIX + digest.hexdigest()[:32]


def agent_pseudonym(source: str, agent_id: str, hash_key: str) -> str:
    """A stable pseudonym for a source's agent ("Agent 7f3a9c"): the keyed hash of the id, so
    it is the same in every load and cannot be turned back into the id without the key. Six
    hex digits: two of 100 agents share one about once in 3,000 warehouses."""
    message = f"agent\x1f{source}\x1f{agent_id}".encode()
    return "Agent " + hmac.new(hash_key.encode(), message, hashlib.sha256).hexdigest()[:6]


def looks_like_email(value: str) -> bool:
    return EMAIL_PATTERN.fullmatch(value.strip()) is not None


def customer_key(value: str, hash_key: str) -> str:
    """A customer id as given, or, where it is an email, the keyed hash of that email."""
    return email_customer_id(value, hash_key) if looks_like_email(value) else value


def redact_emails(text: str) -> str:
    """``text`` with every email address (whole or cut off) replaced, for quarantined rows,
    reasons and comments."""
    return REDACT_PATTERN.sub(REDACTED, text)


def redact_person_fields(raw: str, fields: Collection[str], columns: Sequence[str] = ()) -> str:
    """A quarantined record (``raw``) with the values of the fields that name a person
    (``fields``, as its reader declares them) replaced by PERSON_REDACTED, the rest as read.

    ``columns``: the names of a CSV record's fields, in order (a CSV reader's header); without
    them, ``raw`` is JSON text (an API record, whole or cut short), its ``"field": value``
    pairs found at any depth.
    """
    if not fields:
        return raw
    if columns:
        return _redact_csv_fields(raw, frozenset(fields), tuple(columns))
    pattern = _json_fields_pattern(tuple(sorted(fields)))
    return pattern.sub(lambda m: f'{m.group(1)}"{PERSON_REDACTED}"', raw)


@functools.cache
def _json_fields_pattern(fields: tuple[str, ...]) -> re.Pattern[str]:
    """A JSON key of ``fields`` and its string (up to a cut-off end) or number value."""
    keys = "|".join(re.escape(json.dumps(f)) for f in fields)
    value = r'"(?:[^"\\]|\\.)*(?:"|\\?$)|-?[0-9][0-9.eE+-]*'
    return re.compile(rf"((?:{keys})\s*:\s*)(?:{value})")


def _redact_csv_fields(record: str, fields: frozenset[str], columns: tuple[str, ...]) -> str:
    """A CSV record with the person fields of its header redacted. A record with a field too
    many or too few cannot say which field is which: each person field's neighbours as far
    as that difference goes are redacted too."""
    try:
        values = next(csv.reader(io.StringIO(record)), [])
    except csv.Error:  # not even split into fields: nothing of it can be kept
        return PERSON_REDACTED
    slack = abs(len(values) - len(columns))
    changed = False
    for position, name in enumerate(columns):
        if name not in fields:
            continue
        for at in range(max(position - slack, 0), min(position + slack + 1, len(values))):
            if values[at].strip() and values[at] != PERSON_REDACTED:
                values[at], changed = PERSON_REDACTED, True
    if not changed:
        return record  # as read, to the byte
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if record.startswith('"') else csv.QUOTE_MINIMAL  # Explore's style
    csv.writer(buffer, lineterminator="", quoting=quoting).writerow(values)
    return buffer.getvalue()


def hash_email_ids(column: pl.Expr, hash_key: str) -> pl.Expr:
    """A polars text column of customer ids with every email-shaped id hashed."""
    is_email = column.str.strip_chars().str.contains(f"^{EMAIL_REGEX}$")
    hashed = column.map_elements(lambda v: email_customer_id(v, hash_key), return_dtype=pl.String)
    return pl.when(is_email).then(hashed).otherwise(column)


def redact_column(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all(REDACT_REGEX, REDACTED)


# --- the key ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HashKey:
    value: str = field(repr=False)  # never in a log line or a traceback
    origin: str  # where it came from, for messages: the variable's name or the file's path
    created: bool = False  # True when this call wrote a new secrets file

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.value)


def key_fingerprint(key: str) -> str:
    """What the warehouse keeps of the key: enough to tell two keys apart, useless to hash."""
    digest = hmac.new(key.encode(), _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()
    return "hmac-sha256:" + digest[:16]


def default_secrets_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "turnaround" / "secrets.toml"


def secrets_file(configured: Path | None = None) -> Path:
    """The secrets file: ``$TURNAROUND_SECRETS_FILE``, else the configured one, else the default."""
    named = os.environ.get(SECRETS_FILE_ENV)
    return Path(named) if named else (configured or default_secrets_file())


def read_secrets_file(path: Path) -> str | None:
    """The hash key a secrets file holds; None where the file does not exist. A file that
    group or others may read or write is used, with a warning (docs/loading.md)."""
    if not path.exists():
        return None
    try:
        stored = tomllib.loads(path.read_text(encoding="utf-8")).get("hash_key")
        warn_if_open(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HashKeyError(f"cannot read the secrets file {path}: {exc}") from None
    if not isinstance(stored, str) or not stored.strip():
        raise HashKeyError(f'the secrets file {path} has no hash_key = "..." line')
    return stored.strip()


_warned: set[tuple[Path, int]] = set()  # (secrets file, mode) warned of in this process


def warn_if_open(path: Path) -> None:
    """Log one warning where group or others may read or change the secrets file: once per
    file and mode in a process, however often a command reads the key."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o066 or (path.absolute(), mode) in _warned:
        return
    _warned.add((path.absolute(), mode))
    can = " and ".join(w for w, bits in (("read", 0o044), ("change", 0o022)) if mode & bits)
    log.warning(
        "the secrets file %s has mode %04o: other users can %s the email hash key in it; make "
        "it private with chmod 600 %s",
        path,
        mode,
        can,
        path,
    )


def find_hash_key(configured_file: Path | None = None) -> HashKey | None:
    """The key from the environment or the secrets file; None where neither has one."""
    value = os.environ.get(HASH_KEY_ENV, "").strip()
    if value:
        return HashKey(value, HASH_KEY_ENV)
    path = secrets_file(configured_file)
    stored = read_secrets_file(path)
    return None if stored is None else HashKey(stored, str(path))


def load_hash_key(configured_file: Path | None = None) -> HashKey:
    """The key, creating a secrets file with a new random key where there is none yet."""
    found = find_hash_key(configured_file)
    if found is not None:
        return found
    path = secrets_file(configured_file)
    key = secrets.token_hex(32)
    write_secrets_file(path, key)
    return HashKey(key, str(path), created=True)


def write_secrets_file(path: Path, key: str) -> None:
    """Write a secrets file readable by its owner only; refuse to overwrite another key."""
    stored = read_secrets_file(path)
    if stored == key:
        return
    if stored is not None:
        raise HashKeyError(f"{path} already holds a different hash key; it was not overwritten")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = (
        "# Turnaround's secrets. Keep this file private and backed up: customer ids made\n"
        "# from emails are keyed hashes, and without this key new exports cannot be matched\n"
        "# to the customers already loaded.\n"
        f'hash_key = "{key}"\n'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
