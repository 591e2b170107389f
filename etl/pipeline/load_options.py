"""What a load run can be told (its options), and the ways it can fail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.plausible import AHEAD_DAYS, EARLIEST, TimeRange
from etl.pipeline.formats import Format
from etl.pipeline.frames import SourceSettings
from etl.pipeline.report import RunReport

DEFAULT_QUARANTINE_LIMIT = 0.10
DEFAULT_WAIT_SECONDS = 300.0
# A pull's pages (one run folder) are judged as one export of at least this many records:
# the API cuts it into pages, and a nightly pull may hold three records, one of them bad
# (docs/loading.md). A replay of the folder is judged the same way.
PULL_LIMIT_RECORDS = 100


@dataclass(frozen=True)
class LoadOptions:
    quarantine_limit: float = DEFAULT_QUARANTINE_LIMIT  # share of a file's rows; over: refused
    wait_seconds: float = DEFAULT_WAIT_SECONDS  # for another load, and for readers to finish
    encoding: str = "utf-8"
    force: bool = False  # read files even when their content was loaded before
    # A link among the files is read where it points (a path the user named); False (the
    # inbox): no file is opened through a link, and a link found at open time is refused.
    follow_links: bool = True
    secrets_file: Path | None = None  # the configured secrets file (etl.identity)
    command: str = "turnaround load"
    # Timestamps without an offset and 01/02/2025 dates: for every source (the command's
    # options), else per source (the config's [sources.NAME]), else the config's [load].
    source_timezone: str | None = None
    date_order: str | None = None
    sources: dict[str, SourceSettings] = field(default_factory=dict)
    source_default: SourceSettings = field(default_factory=SourceSettings)
    # Every file is read with this format (a mapping file's, ``--mapping``), not detected.
    mapping_format: Format | None = None
    # warehouse_meta values written in the run's own transaction (a synced source's sync
    # times: they move on exactly when the rows read up to them are in).
    meta_updates: tuple[tuple[str, str], ...] = ()
    # The run's id when a caller chose it first (a pull names its raw-page folder by it).
    batch_id: str | None = None
    # Event times before this day, or more than these days after the run's start, are
    # quarantined (data_contracts.plausible; the config's load.plausible_*).
    plausible_from: dt.date = EARLIEST
    plausible_ahead_days: float = AHEAD_DAYS

    def plausible(self, started_at: dt.datetime) -> TimeRange:
        """The plausible range of event times for a run started at ``started_at``."""
        return TimeRange.after(started_at, self.plausible_from, self.plausible_ahead_days)


class LoadError(Exception):
    """The run failed; nothing was loaded. The message says why; ``report`` is the run."""

    def __init__(self, message: str, report: RunReport | None = None):
        super().__init__(message)
        self.report = report


class LoadRefused(LoadError):
    """Another writer held the warehouse for longer than the run would wait."""


class FileRefused(LoadError):
    """A file was refused whole for its content (more bad rows than the quarantine limit)."""


class FileChanged(LoadError):
    """A file changed while the run read it: what was read is not the file any more."""
