"""What ``turnaround pull zendesk`` fetches, stream by stream, from where the last pull
stopped.

- tickets: the cursor-based incremental ticket export
  (``/api/v2/incremental/tickets/cursor.json``) with ``include=metric_sets``, so each
  ticket's metrics come on its page;
- users: the cursor-based incremental user export (their ``external_id`` and email make the
  customer id);
- groups: every group (``/api/v2/groups.json``; a handful of rows);
- satisfaction ratings: ``/api/v2/satisfaction_ratings.json`` from the newest rating time
  the last pull saw.

Each page is kept as the API sent it; the loader reads the pages like any Zendesk export.
The position reached in each stream (the export's ``after_cursor``, or a time) is returned,
to be stored with the rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from etl.sources.pull.http import ApiClient, ApiError
from etl.sources.pull.raw import write_page

SOURCE = "zendesk"
INCREMENTAL = {
    "tickets": ("/api/v2/incremental/tickets/cursor.json", {"include": "metric_sets"}),
    "users": ("/api/v2/incremental/users/cursor.json", {}),
}
PAGE_SIZE = 100
RECORD_KEYS = ("tickets", "metric_sets", "users", "groups", "satisfaction_ratings")

Progress = Callable[[str, int, int], None]  # stream, pages so far, records so far


@dataclass
class Fetched:
    """What one pull fetched: the page files, the position reached per stream."""

    files: list[Path] = field(default_factory=list)
    positions: dict[str, str] = field(default_factory=dict)  # stream -> cursor or time
    pages: int = 0
    records: int = 0

    def keep(
        self,
        folder: Path,
        stream: str,
        body: bytes,
        records: int,
        progress: Progress | None,
        name: str | None = None,
    ) -> None:
        """One page of ``stream`` kept as the API sent it (``NNNNN-NAME.json``), counted."""
        self.pages += 1
        self.records += records
        self.files.append(write_page(folder, f"{self.pages:05d}-{name or stream}.json", body))
        if progress:
            progress(stream, self.pages, self.records)


def fetch(
    client: ApiClient,
    positions: dict[str, str],
    folder: Path,
    since: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """Every Zendesk stream from ``positions`` (stream -> the last pull's position; a
    stream without one starts at ``since``, else at the beginning)."""
    fetched = Fetched(positions=dict(positions))
    start = int(since.timestamp()) if since else 0

    def keep(stream: str, doc: dict, body: bytes) -> None:
        records = sum(len(doc.get(k) or []) for k in RECORD_KEYS)
        fetched.keep(folder, stream, body, records, progress)

    for stream, (path, extra) in INCREMENTAL.items():
        cursor = positions.get(stream)
        # users from the beginning whatever --since says: every requester's identity is
        # needed to give their tickets a customer, however long ago they last changed
        first = start if stream == "tickets" else 0
        params = {**extra, **({"cursor": cursor} if cursor else {"start_time": first})}
        while True:
            doc, body = client.get_json(path, params)
            keep(stream, doc, body)
            after = doc.get("after_cursor")
            if after:
                fetched.positions[stream] = after
            if doc.get("end_of_stream", True) or not after:
                break
            if after == params.get("cursor"):  # a cursor that does not move would never end
                raise ApiError(f"{path}: the export gave the same cursor again; stopped")
            params = {**extra, "cursor": after}
    for doc, body in _list_pages(client, "/api/v2/groups.json", {}):
        keep("groups", doc, body)
    newest = positions.get("satisfaction_ratings")
    rated_from = int(_parse(newest).timestamp()) if newest else start
    for doc, body in _list_pages(
        client, "/api/v2/satisfaction_ratings.json", {"start_time": rated_from}
    ):
        keep("satisfaction_ratings", doc, body)
        times = [r.get("updated_at") for r in doc.get("satisfaction_ratings") or []]
        times = [t for t in times if isinstance(t, str)]
        if times:
            latest = max(times, key=_parse)
            if newest is None or _parse(latest) > _parse(newest):
                newest = latest
    if newest:
        fetched.positions["satisfaction_ratings"] = newest
    return fetched


def _list_pages(client: ApiClient, path: str, params: dict):
    """The pages of a list endpoint, asked with cursor pagination (``page[size]``; Zendesk
    caps offset pagination at 100 pages) and following ``links.next`` while
    ``meta.has_more``, or an offset page's ``next_page``, on this client's own base URL (a
    proxy or test server stays in the loop). A next page already asked for stops the pull."""
    params = {**params, "page[size]": PAGE_SIZE}
    asked = set()
    while True:
        asked.add((path, tuple(sorted(params.items()))))
        doc, body = client.get_json(path, params)
        yield doc, body
        meta, links = doc.get("meta") or {}, doc.get("links") or {}
        following = links.get("next") if meta.get("has_more") else doc.get("next_page")
        if not following:
            return
        parts = urlsplit(following)
        path, params = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        if (path, tuple(sorted(params.items()))) in asked:
            raise ApiError(f"{path}: the next page is one already fetched; stopped")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
