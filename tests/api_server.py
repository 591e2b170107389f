"""A local HTTP server that plays Zendesk's and Delighted's APIs for the pull tests: pages in
the APIs' real response shapes (built from the real pages in tests/fixtures/real/), and
failures on demand (429 with Retry-After, 500, 401, a connection dropped mid-body, a page
that waits until the test lets it go). It listens on a free port of 127.0.0.1 and stops
with the test; nothing reaches the internet."""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.conftest import FIXTURES

ZENDESK_EMAIL, ZENDESK_TOKEN = "agent@example.com", "zd-token-do-not-print-7f3a"
DELIGHTED_KEY = "dl-key-do-not-print-91c2"
REAL = FIXTURES / "real"


def _ticket_metric(ticket: dict) -> dict:
    """A metric_set for a ticket of the real page, as the export side-loads it (the
    sandbox tickets are unsolved: reply times only)."""
    number = int(ticket["id"])
    return {
        "id": 9000 + number,
        "ticket_id": ticket["id"],
        "replies": number % 3,
        "reopens": 0,
        "assignee_stations": 1,
        "group_stations": 1,
        "solved_at": None,
        "reply_time_in_minutes": {"calendar": 10 + number, "business": None},
        "first_resolution_time_in_minutes": {"calendar": None, "business": None},
        "created_at": ticket["created_at"],
        "updated_at": ticket["updated_at"],
    }


def zendesk_pages() -> dict:
    """The real 91 tickets and 100 users as the cursor-based incremental exports page them."""
    tickets = json.loads((REAL / "zendesk_api_tickets_page_offset.json").read_text())["tickets"]
    users = json.loads((REAL / "zendesk_api_users_page.json").read_text())["users"]

    def page(key, items, after, end, metrics=False):
        body = {key: items, "after_cursor": after, "before_cursor": None, "end_of_stream": end}
        body["after_url"] = None if end else f"/api/v2/incremental/{key}/cursor.json?cursor={after}"
        if metrics:
            body["metric_sets"] = [_ticket_metric(t) for t in items]
        return body

    return {
        "tickets": {
            None: page("tickets", tickets[:50], "t1", False, True),
            "t1": page("tickets", tickets[50:], "t2", True, True),
            "t2": page("tickets", [], "t2", True, True),
        },
        "users": {None: page("users", users, "u1", True), "u1": page("users", [], "u1", True)},
    }


def satisfaction_rating(ticket_id: int, score: str, updated: str, epoch: int) -> dict:
    """A rating as GET /api/v2/satisfaction_ratings.json lists it (Zendesk's documented
    fields); ``_epoch`` is the server's own filter key, not sent."""
    return {
        "id": 35436 + ticket_id,
        "url": f"https://example.zendesk.com/api/v2/satisfaction_ratings/{35436 + ticket_id}.json",
        "assignee_id": 135,
        "group_id": 44,
        "requester_id": 7881,
        "ticket_id": ticket_id,
        "score": score,
        "created_at": updated,
        "updated_at": updated,
        "comment": None,
        "_epoch": epoch,
    }


def delighted_responses() -> list[dict]:
    """NPS responses as GET /v1/survey_responses.json returns them with the person expanded."""
    return [
        {
            "id": str(500 + i),
            "person": {"id": str(700 + i), "email": f"person{i}@example.com", "name": None},
            "survey_type": "nps",
            "score": i % 11,
            "comment": None if i % 2 else f"reply to person{i}@example.com please",
            "permalink": f"https://app.delighted.com/r/{i}",
            "created_at": 1717000000 + 60 * i,
            "updated_at": 1717000000 + 60 * i,
            "person_properties": {"customer_id": f"CRM-{i}"} if i % 3 == 0 else None,
            "notes": [],
            "tags": [],
            "additional_answers": [],
        }
        for i in range(1, 131)
    ]


@dataclass
class Scenario:
    """What the server answers: failures to inject, counted per request path."""

    # (path, nth request to it, 1-based) -> "429" | "500" | "401" | "drop" | "hold" | "edit"
    failures: dict[tuple[str, int], str] = field(default_factory=dict)
    retry_after: float = 1.0
    remaining: str = "100"  # the ratelimit-remaining header of every good answer
    reset: str = "1"
    held: threading.Event = field(default_factory=threading.Event)  # a "hold" has been asked
    released: threading.Event = field(default_factory=threading.Event)  # ends a "hold"
    calls: defaultdict = field(default_factory=lambda: defaultdict(int))
    seen_auth: list[str] = field(default_factory=list)
    queries: list[tuple[str, dict]] = field(default_factory=list)  # path, its parameters
    ratings: list[dict] = field(default_factory=list)
    zendesk: dict = field(default_factory=zendesk_pages)
    responses: list[dict] = field(default_factory=delighted_responses)
    edit: Callable[[Scenario], None] = lambda scenario: None  # what an "edit" changes


def _handler(scenario: Scenario):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            url = urlsplit(self.path)
            scenario.calls[url.path] += 1
            failure = scenario.failures.get((url.path, scenario.calls[url.path]))
            scenario.seen_auth.append(self.headers.get("Authorization", ""))
            scenario.queries.append((url.path, {k: v[0] for k, v in parse_qs(url.query).items()}))
            if failure == "hold":  # until the test lets it go (or the server stops)
                scenario.held.set()
                scenario.released.wait()
            if failure == "edit":  # the account changes between two pages of one pull
                scenario.edit(scenario)
            if failure == "401" or not self._authorised(url.path):
                return self._send(401, {"error": "Couldn't authenticate you"})
            if failure == "429":
                return self._send(
                    429, {"error": "Rate limited"}, {"Retry-After": str(scenario.retry_after)}
                )
            if failure == "500":
                return self._send(500, {"error": "InternalError"})
            body = self._body(url.path, parse_qs(url.query))
            if body is None:
                return self._send(404, {"error": "RecordNotFound"})
            data = json.dumps(body).encode()
            if failure == "drop":  # the connection ends half-way through the body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.close()
                return
            limits = {"ratelimit-remaining": scenario.remaining, "ratelimit-reset": scenario.reset}
            self._send(200, body, {**limits, "ratelimit-limit": "700"})

        def _authorised(self, path: str) -> bool:
            given = self.headers.get("Authorization", "")
            if path.startswith("/v1/"):
                secret = f"{DELIGHTED_KEY}:"
            else:
                secret = f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}"
            return given == "Basic " + base64.b64encode(secret.encode()).decode()

        def _body(self, path: str, query: dict):
            first = {k: v[0] for k, v in query.items()}
            for stream in ("tickets", "users"):
                if path == f"/api/v2/incremental/{stream}/cursor.json":
                    return scenario.zendesk[stream].get(first.get("cursor"))
            if path == "/api/v2/groups.json":
                return {
                    "groups": [
                        {
                            "id": 6130852536346,
                            "name": "Support",
                            "updated_at": "2023-09-09T23:51:58Z",
                        }
                    ],
                    "next_page": None,
                    "count": 1,
                }
            if path == "/api/v2/satisfaction_ratings.json":  # cursor pagination, as asked
                start = int(first.get("start_time", 0))
                chosen = [r for r in scenario.ratings if r["_epoch"] >= start]
                size, after = int(first.get("page[size]", 100)), int(first.get("page[after]", 0))
                shown = [{k: v for k, v in r.items() if k != "_epoch"} for r in chosen]
                more = after + size < len(shown)
                following = f"{self._base()}{path}?start_time={start}&page[size]={size}"
                return {
                    "satisfaction_ratings": shown[after : after + size],
                    "meta": {"has_more": more, "after_cursor": str(after + size)},
                    "links": {"next": f"{following}&page[after]={after + size}" if more else None},
                }
            if path == "/v1/survey_responses.json":
                since = int(first.get("updated_since", 0))
                per_page, page = int(first.get("per_page", 20)), int(first.get("page", 1))
                until = int(first.get("updated_until", 2**40))
                chosen = [r for r in scenario.responses if since <= r["updated_at"] <= until]
                order = first.get("order", "asc")  # asc, desc, asc:updated_at, desc:updated_at
                key = "updated_at" if order.endswith(":updated_at") else "created_at"
                chosen.sort(key=lambda r: (r[key], r["id"]), reverse=order.startswith("desc"))
                return chosen[(page - 1) * per_page : page * per_page]
            return None

        def _base(self) -> str:
            host, port = self.server.server_address[:2]
            return f"http://{host}:{port}"

        def _send(self, status: int, body, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client the test killed, or a connection dropped on purpose


@contextmanager
def api_server(scenario: Scenario) -> Iterator[str]:
    """The server's base URL while the block runs."""
    server = _QuietServer(("127.0.0.1", 0), _handler(scenario))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        scenario.released.set()
        server.shutdown()
        server.server_close()
