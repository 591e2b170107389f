"""One pull: read how far the last pull of this account got, fetch from there (outside the
warehouse's write lock: the dashboard keeps answering), keep the pages, and load them in
one run whose transaction also stores the new positions. A pull killed at any point leaves
the positions where they were, so the next one fetches the same pages again and the
newest-version rule loads each row once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from data_contracts.times import utc_now
from etl.pipeline.load import as_warehouse, load_paths, new_batch_id
from etl.pipeline.load_options import LoadError, LoadOptions
from etl.pipeline.report import RunReport
from etl.pipeline.run_record import record_failure
from etl.sources import delighted as delighted_json
from etl.sources import zendesk as zendesk_json
from etl.sources.delighted import pull as delighted
from etl.sources.pull import raw
from etl.sources.pull.http import DEFAULT_TIME_LIMIT_SECONDS, ApiClient, ApiError
from etl.sources.zendesk import pull as zendesk
from warehouse.access import Warehouse, WarehouseError
from warehouse.schema import meta_value, warehouse_meta

log = logging.getLogger("turnaround.pull")

META_PREFIX = "pull:"


class PullSetupError(Exception):
    """The pull is not set up: a credential variable is unset, a setting is wrong."""


@dataclass(frozen=True)
class PullSettings:
    """Where and how to pull: credentials by the names of the variables that hold them."""

    source: str  # zendesk or delighted
    base_url: str | None = None  # --base-url, or the config's
    variables: dict[str, str] = field(default_factory=dict)  # role -> environment variable
    folder: Path | None = None  # raw pages: ROOT/SOURCE/RUN
    keep_days: float = raw.DEFAULT_KEEP_DAYS
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS


DEFAULT_VARIABLES = {
    "zendesk": {
        "subdomain": "ZENDESK_SUBDOMAIN",
        "email": "ZENDESK_EMAIL",
        "token": "ZENDESK_API_TOKEN",
    },
    "delighted": {"api_key": "DELIGHTED_API_KEY"},
}
FETCHERS = {"zendesk": zendesk.fetch, "delighted": delighted.fetch}
# The streams whose first pull starts at --since (users always start at the beginning).
SINCE_STREAMS = {"zendesk": ("tickets", "satisfaction_ratings"), "delighted": ("survey_responses",)}
FORMATS = {"zendesk": zendesk_json.FORMATS[0], "delighted": delighted_json.FORMATS[0]}


def client_for(settings: PullSettings, sleep: Callable[[float], None] | None = None) -> ApiClient:
    """The API client, its credentials read from the environment (never from a file or the
    command line); PullSetupError naming the variable that is missing."""
    base, auth, hint = api_setup(settings)
    extra = {"sleep": sleep} if sleep else {}
    return ApiClient(base, auth, hint, settings.time_limit, **extra)


def api_setup(settings: PullSettings) -> tuple[str, tuple[str, str], str]:
    """The API's base URL, the credentials from the environment and the names of the
    variables that hold them (for a 401's message); PullSetupError naming what is wrong."""
    names = {**DEFAULT_VARIABLES[settings.source], **settings.variables}

    def value(role: str, needed: bool = True) -> str | None:
        found = os.environ.get(names[role], "").strip()
        if not found and needed:
            raise PullSetupError(
                f"set the environment variable {names[role]} to the {settings.source} "
                f"{role.replace('_', ' ')} (or name another in the config's "
                f"[pull.{settings.source}] {role}_env)"
            )
        return found or None

    if settings.source == "zendesk":
        subdomain = value("subdomain", needed=settings.base_url is None)
        if settings.base_url is None and not _SUBDOMAIN.fullmatch(subdomain or ""):
            raise PullSetupError(  # its value unprinted: a credential may be there by mistake
                f"{names['subdomain']} must be the Zendesk account's subdomain (acme for "
                "acme.zendesk.com), not a host or an address; for another address use --base-url"
            )
        base = _checked_base_url(settings.base_url or f"https://{subdomain}.zendesk.com")
        email, token = value("email"), value("token")
        return base, (f"{email}/token", token), f"{names['email']} and {names['token']}"
    key = value("api_key")
    base = _checked_base_url(settings.base_url or "https://api.delighted.com")
    return base, (key, ""), names["api_key"]


def account_of(client: ApiClient, source: str) -> str:
    """The account a position belongs to: the API's host and port (a pull from another
    account or a test server never continues from this one's cursors)."""
    parts = urlsplit(client.base_url)
    port = f":{parts.port}" if parts.port else ""
    return f"{source}:{parts.hostname}{port}"


_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ADDRESS = "the API's address (--base-url, or [pull.SOURCE] base_url)"


def _checked_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password or "@" in parts.netloc:  # never echoed: a secret
        raise PullSetupError(
            f"{_ADDRESS} must not hold a user or password: credentials come from the environment"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PullSetupError(
            f"{_ADDRESS} must be an http(s) address such as https://host, not {url!r}"
        )
    return url


def pull(
    target: Warehouse | sa.Engine | str,
    settings: PullSettings,
    options: LoadOptions = LoadOptions(),  # noqa: B008 - frozen
    since: dt.datetime | None = None,
    progress=None,
    sleep: Callable[[float], None] | None = None,
) -> RunReport:
    """Pull ``settings.source`` into ``target``; LoadError (its report recorded) on failure."""
    warehouse = as_warehouse(target)
    command = f"turnaround pull {settings.source}"
    started = utc_now()
    report = RunReport(batch_id=new_batch_id(started), started_at=started)
    client = client_for(settings, sleep)  # PullSetupError: a usage error, nothing recorded
    try:
        account = account_of(client, settings.source)
        positions = read_positions(warehouse, account)
        going_on = [s for s in SINCE_STREAMS[settings.source] if s in positions]
        if since is not None and going_on:
            log.warning(
                "%s: --since is for a stream's first pull; %s go on from where the last pull "
                "left them",
                command,
                " and ".join(going_on),
            )
        root = settings.folder or raw.default_root()
        raw.prune(root, settings.keep_days, FETCHERS)
        folder = raw.run_folder(root, settings.source, report.batch_id)
        report.files = [str(folder)]
        log.info("%s: fetching into %s", command, folder)
        with client:
            fetched = FETCHERS[settings.source](client, positions, folder, since, progress)
    except (ApiError, OSError, sa.exc.SQLAlchemyError, WarehouseError) as exc:
        reason = str(exc) if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        report.fail("failed", f"{settings.source}: {reason}")
        record_failure(warehouse, report, options.wait_seconds)
        raise LoadError(report.message, report) from None
    log.info("%s: %s page(s), %s record(s)", command, f"{fetched.pages:,}", f"{fetched.records:,}")
    moved = ((META_PREFIX + account, json.dumps(fetched.positions, sort_keys=True)),)
    if not fetched.files:  # nothing new: the positions stay, the run says so
        report.status, report.ended_at = "skipped", utc_now()
        report.message = f"{settings.source}: nothing new since the last pull"
        record_failure(warehouse, report, options.wait_seconds)
        return report
    run = dataclasses.replace(
        options,
        meta_updates=moved,
        command=command,
        batch_id=report.batch_id,
        mapping_format=FORMATS[settings.source],  # the API's own pages: no detection
    )
    return load_paths(warehouse, fetched.files, run)


def read_positions(warehouse: Warehouse, account: str) -> dict[str, str]:
    """Each stream's position after the last pull of ``account`` (empty: the first pull)."""
    if not warehouse.file_exists():
        return {}
    with warehouse.reader().connect() as conn:
        if not sa.inspect(conn).has_table(warehouse_meta.name):
            return {}
        value = meta_value(conn, META_PREFIX + account)
    return json.loads(value) if value else {}
