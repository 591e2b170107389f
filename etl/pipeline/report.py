"""Run accounting: what happened to every row read, per file and table, and per run.

For every (file, table): rows_read = loaded + replaced + quarantined + duplicates + held
(+ skipped, which is non-zero only for streams Turnaround does not use).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field

from data_contracts.times import utc_now
from etl.identity import redact_emails
from warehouse.schema import COUNT_COLUMNS

# Where each row read ended up.
OUTCOMES = COUNT_COLUMNS[1:]
# A URL in a message (a warehouse, a synced source, an example of one): its user@host is no
# email address. In its user[:password]@ a user name may be an email address, and a password
# runs to the last @ (it may hold a slash or an @ that should have been escaped).
URL_PATTERN = re.compile(r"\b[A-Za-z][\w+.-]*://[^\s'\"<>()]+")
URL_USERINFO = re.compile(r"^(?P<user>[^:/]*)(?::(?P<password>.*))?@")


@dataclass
class FileTableStats:
    """One row per file and target table of a run (table etl_run_files)."""

    source_file: str
    target_table: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_replaced: int = 0
    rows_quarantined: int = 0
    rows_duplicates: int = 0
    rows_held: int = 0
    rows_skipped: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_read == sum(getattr(self, name) for name in OUTCOMES)


@dataclass
class CheckRow:
    """One contract check of one file and table in a run (table etl_run_checks)."""

    source_file: str
    target_table: str
    check_name: str
    description: str
    success: bool
    failing_count: int
    example_reason: str | None = None


@dataclass
class RunReport:
    """One run (table etl_runs), its per-file accounting and its contract results.

    ``status``: running, then succeeded, failed (nothing loaded), refused (another load held
    the warehouse: nothing read) or skipped (every file was already loaded).
    """

    batch_id: str
    started_at: dt.datetime
    files: list[str] = field(default_factory=list)
    stats: dict[tuple[str, str], FileTableStats] = field(default_factory=dict)
    status: str = "running"
    ended_at: dt.datetime | None = None
    rows_released: int = 0
    rows_remapped: int = 0
    message: str | None = None
    skipped_files: list[dict] = field(default_factory=list)  # file, sha256, loaded_in, loaded_as
    checks: list[CheckRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a file could not feed, deletions

    def entry(self, source_file: str, table: str, fmt: str) -> FileTableStats:
        key = (source_file, table)
        if key not in self.stats:
            self.stats[key] = FileTableStats(source_file, table, fmt)
        return self.stats[key]

    def totals(self) -> dict[str, int]:
        return {name: sum(getattr(s, name) for s in self.stats.values()) for name in COUNT_COLUMNS}

    def run_row(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "files": len(self.files),
            **self.totals(),
            "rows_released": self.rows_released,
            "rows_remapped": self.rows_remapped,
            "message": self.message,
        }

    def file_rows(self) -> list[dict]:
        return [{"batch_id": self.batch_id, **asdict(s)} for s in self.stats.values()]

    def check_rows(self) -> list[dict]:
        return [{"batch_id": self.batch_id, **asdict(c)} for c in self.checks]

    def as_json(self) -> dict:
        """The run as ``turnaround load --json`` prints it."""
        return {
            **self.run_row(),
            "files": self.file_rows(),
            "file_count": len(self.files),
            "skipped_files": self.skipped_files,
            "checks": self.check_rows(),
            "notes": self.notes,
        }

    def fail(self, status: str, message: str) -> None:
        """End the run without loading anything: its accounting is dropped. The message may
        quote a value from a file: emails in it are redacted."""
        self.stats.clear()
        self.checks.clear()
        self.notes.clear()
        self.rows_released = self.rows_remapped = 0
        self.status, self.ended_at, self.message = status, utc_now(), redacted(message)


def redacted(message: str) -> str:
    """``message`` with email addresses redacted, and URLs as written but for a password
    (``***``) and any email address in them."""
    parts, at = [], 0
    for url in URL_PATTERN.finditer(message):
        parts += [redact_emails(message[at : url.start()]), _shown_url(url.group())]
        at = url.end()
    return "".join(parts) + redact_emails(message[at:])


def _shown_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    userinfo = ""
    if found := URL_USERINFO.match(rest):
        user = redact_emails(found["user"]) if "@" in found["user"] else found["user"]
        userinfo = f"{user}{':***' if found['password'] is not None else ''}@"
        rest = rest[found.end() :]
    host, slash, path = rest.partition("/")
    return f"{scheme}://{userinfo}{host}{slash}{redact_emails(path)}"
