"""An API client that is a good citizen: httpx for the requests, tenacity for the retries.

- ``429 Too Many Requests``: waits what ``Retry-After`` says (capped), then tries again.
- ``5xx`` and connection errors (refused, reset, dropped mid-body, timed out): capped
  exponential backoff with jitter, within a total time limit for the request (no wait
  goes past it: the request fails then instead).
- ``401``/``403``: no retry; ``ApiAuthError`` names the settings that hold the credentials.
- Zendesk's rate-limit headers (``ratelimit-remaining`` / ``x-rate-limit-remaining`` at 0):
  the next request waits for ``ratelimit-reset`` (or ``Retry-After``) seconds.

Credentials travel in the ``Authorization`` header only: never in a URL, a log line or an
error message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import tenacity

log = logging.getLogger("turnaround.pull")

MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 600.0
DEFAULT_TIME_LIMIT_SECONDS = 900.0
REMAINING_HEADERS = ("ratelimit-remaining", "x-rate-limit-remaining")
RESET_HEADERS = ("ratelimit-reset", "retry-after")


class ApiError(Exception):
    """The API could not be used; the message says why (never a credential)."""


class ApiAuthError(ApiError):
    """The API refused the credentials (401/403): retrying cannot help."""


class _Retryable(Exception):
    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


@dataclass
class ApiClient:
    """GETs JSON from one API with retries; ``auth_hint`` names the settings to fix on 401."""

    base_url: str
    auth: tuple[str, str] = field(repr=False)  # never in a repr, a log line or a traceback
    auth_hint: str = ""
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            auth=self.auth,
            timeout=self.timeout,
            headers={"Accept": "application/json", "User-Agent": "turnaround"},
            follow_redirects=False,
        )
        self._pause_until = 0.0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _shown(self, path_or_url: str) -> str:
        return _host_and_path(self.base_url, path_or_url)

    def get_json(self, path_or_url: str, params: dict | None = None) -> tuple[dict, bytes]:
        """The JSON body of a GET (and its raw bytes, to keep), retried as the module says."""

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.wait is not None:
                return min(exc.wait, MAX_RETRY_AFTER_SECONDS)
            backoff = tenacity.wait_random_exponential(multiplier=0.5, max=MAX_BACKOFF_SECONDS)
            return backoff(state)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=wait,
            # gives up rather than sleep past the limit: at most the limit, plus the last try
            stop=tenacity.stop_before_delay(self.time_limit),
            sleep=self.sleep,
            reraise=True,
            before_sleep=lambda state: log.warning(
                "GET %s: %s; trying again in %.1f s",
                self._shown(path_or_url),
                state.outcome.exception(),
                state.next_action.sleep if state.next_action else 0.0,
            ),
        )
        try:
            return retrying(self._get_once, path_or_url, params)
        except _Retryable as exc:
            raise ApiError(
                f"GET {self._shown(path_or_url)} still failed after {self.time_limit:.0f} s of "
                f"retries: {exc}"
            ) from None

    def _get_once(self, path_or_url: str, params: dict | None) -> tuple[dict, bytes]:
        pause = self._pause_until - time.monotonic()
        if pause > 0:
            log.info("rate limit reached: waiting %.1f s", pause)
            self.sleep(pause)
        try:
            response = self._client.get(path_or_url, params=params)
            body = response.read()
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
            raise ApiError(f"cannot ask {self.base_url}: {exc}") from None  # retrying won't help
        except httpx.TransportError as exc:  # refused, reset, dropped mid-body, timed out
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        self._note_rate_limit(response)
        status = response.status_code
        if status in (401, 403):
            raise ApiAuthError(
                f"the API refused the credentials (HTTP {status}) for {self._shown(path_or_url)}: "
                f"check {self.auth_hint}"
            )
        if status == 429:
            raise _Retryable("HTTP 429 Too Many Requests", _seconds(response, "retry-after") or 1.0)
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if 300 <= status < 400:  # an http:// address, a moved account: not a page
            target = urlsplit(response.headers.get("location", "")).netloc or "elsewhere"
            raise ApiError(
                f"GET {self._shown(path_or_url)} was redirected (HTTP {status}) to {target}: "
                "check the API's address (--base-url, or the subdomain)"
            )
        if status >= 400:
            raise ApiError(f"GET {self._shown(path_or_url)} answered HTTP {status}")
        try:
            return response.json(), body
        except ValueError:
            raise _Retryable("the answer was not JSON (cut off?)") from None

    def _note_rate_limit(self, response: httpx.Response) -> None:
        remaining = next(
            (response.headers[h] for h in REMAINING_HEADERS if h in response.headers), None
        )
        if remaining is not None and remaining.strip() == "0":
            wait = next((s for h in RESET_HEADERS if (s := _seconds(response, h))), 1.0)
            self._pause_until = time.monotonic() + min(wait, MAX_RETRY_AFTER_SECONDS)


def _seconds(response: httpx.Response, header: str) -> float | None:
    value = response.headers.get(header)
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _host_and_path(base_url: str, path_or_url: str) -> str:
    """A request as a message shows it: its host and path, without its query (cursors are
    long; the base URL holds no credentials, it is checked)."""
    parts = urlsplit(path_or_url if "://" in path_or_url else base_url.rstrip("/") + path_or_url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
