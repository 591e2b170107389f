"""What ``turnaround pull delighted`` fetches: survey responses updated since the last pull
(``GET /v1/survey_responses.json``, ``updated_since`` and ``updated_until``, pages of 100,
the person expanded so their email can make the customer id when no ``customer_id``
property is set)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl.pull.http import ApiClient, ApiError
from etl.pull.raw import write_page
from etl.pull.zendesk import Fetched, Progress

SOURCE = "delighted"
PATH = "/v1/survey_responses.json"
PER_PAGE = 100


def fetch(
    client: ApiClient,
    positions: dict[str, str],
    folder: Path,
    since: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Fetched:
    """Responses updated after the last pull's newest (``positions["survey_responses"]``,
    Unix seconds), else after ``since``, else all."""
    fetched = Fetched(positions=dict(positions))
    newest = positions.get("survey_responses")
    after = int(newest) if newest else (int(since.timestamp()) if since else None)
    # The window ends when the pull starts: a response edited while the pages are read falls
    # after it, and the next pull (asking from the newest time seen here) gets it.
    until = int(now().timestamp())
    page, seen = 1, set()
    while True:
        params = {"per_page": PER_PAGE, "page": page, "expand[]": "person", "updated_until": until}
        if after is not None:
            params["updated_since"] = after
        doc, body = client.get_json(PATH, params)
        responses = doc if isinstance(doc, list) else []
        ids = {str(r.get("id")) for r in responses if isinstance(r, dict)}
        if responses and ids <= seen:  # a server that ignores ``page`` would never end
            raise ApiError(f"{PATH}: page {page} repeats responses already fetched; stopped")
        seen |= ids
        if responses:
            fetched.pages += 1
            fetched.records += len(responses)
            fetched.files.append(write_page(folder, f"{fetched.pages:05d}-responses.json", body))
            times = [_time_of(r) for r in responses]
            times = [t for t in times if t is not None]
            if times and (newest is None or max(times) > int(newest)):
                newest = str(max(times))
            if progress:
                progress("survey_responses", fetched.pages, fetched.records)
        if len(responses) < PER_PAGE:
            break
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
