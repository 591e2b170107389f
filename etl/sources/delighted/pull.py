"""What ``turnaround pull delighted`` fetches: survey responses updated since the last pull
(``GET /v1/survey_responses.json``, ``updated_since`` and ``updated_until``, in
``updated_at`` order, pages of 100,
the person expanded so their email can make the customer id when no ``customer_id``
property is set)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.sources.pull.http import ApiClient, ApiError
from etl.sources.zendesk.pull import Fetched, Progress

SOURCE = "delighted"
PATH = "/v1/survey_responses.json"
PER_PAGE = 100
ORDER = "asc:updated_at"  # Delighted's order by updated_at (the default is by created_at)


def fetch(
    client: ApiClient,
    positions: dict[str, str],
    folder: Path,
    since_date: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """Responses updated after the last pull's newest (``positions["survey_responses"]``,
    Unix seconds), else after ``since_date``, else all."""
    fetched = Fetched(positions=dict(positions))
    newest = positions.get("survey_responses")
    since = int(newest) if newest else (int(since_date.timestamp()) if since_date else None)
    # The window ends when the pull starts: a response edited while the pages are read falls
    # after it, and the next pull (asking from the newest time seen here) gets it.
    until = int(now().timestamp())
    # Pages in updated_at order, each asked from the last time the one before showed (less a
    # second, whether Delighted's updated_since counts its own second or not), not by page
    # number: a response edited while the pull pages leaves the window, and with page numbers
    # every later response would move up one place and one would never be fetched. Only a
    # full page of one second's responses is followed by page number.
    page, seen = 1, set()
    while True:
        params = {
            "per_page": PER_PAGE,
            "page": page,
            "order": ORDER,
            "expand[]": "person",
            "updated_until": until,
        }
        if since is not None:
            params["updated_since"] = since
        doc, body = client.get_json(PATH, params)
        responses = [r for r in doc if isinstance(r, dict)] if isinstance(doc, list) else []
        versions = {(str(r.get("id")), _time_of(r)) for r in responses}
        if responses and page > 1 and versions <= seen:  # a server that ignores ``page``
            raise ApiError(f"{PATH}: page {page} repeats responses already fetched; stopped")
        seen |= versions
        times = [t for r in responses if (t := _time_of(r)) is not None]
        if responses:
            fetched.keep(folder, "survey_responses", body, len(responses), progress, "responses")
            if times and (newest is None or max(times) > int(newest)):
                newest = str(max(times))
        if len(responses) < PER_PAGE:
            break
        following = max(times) - 1 if times else None
        if following is not None and (since is None or following > since):
            since, page = following, 1
        else:  # the whole page is one second (or has no times): the next page of it
            page += 1
    if newest is not None:
        fetched.positions["survey_responses"] = newest
    return fetched


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _time_of(response) -> int | None:
    if not isinstance(response, dict):
        return None
    value = response.get("updated_at") or response.get("created_at")
    return int(value) if isinstance(value, int | float) else None
