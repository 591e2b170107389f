"""`turnaround dashboard` in a process of its own, and Debian's chromium through Playwright,
for the tests that use the dashboard as it is served."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.postgres_server import free_port
from tests.processes import TURNAROUND

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_SECONDS = 600  # a safety net: a busy 2-core machine starts Streamlit slowly
# What Streamlit prints once its server listens.
READY_LINE = "You can now view your Streamlit app in your browser."


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        reason = "Debian's chromium is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("TURNAROUND_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def serving(warehouse: str, log: Path, *options: str) -> Iterator[tuple[str, int]]:
    """The dashboard serving ``warehouse`` on a free port: yields (its URL, the port). On
    leaving, stops it and fails when it printed a traceback."""
    port = free_port()
    server = subprocess.Popen(
        [TURNAROUND, "dashboard", "--warehouse", warehouse, "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # A thread copies everything the server prints into the log as it comes (so a full pipe
    # never stalls it) and tells when Streamlit says it serves, or when the output ended.
    said_so, ended = threading.Event(), threading.Event()

    def copy(sink) -> None:
        with sink:
            for line in server.stdout:
                sink.write(line)
                sink.flush()
                if READY_LINE in line:
                    said_so.set()
        ended.set()
        said_so.set()

    threading.Thread(target=copy, args=(log.open("w"),), daemon=True).start()
    if not said_so.wait(START_SECONDS) or ended.is_set():
        server.kill()
        ended.wait(30)
        raise AssertionError(f"the dashboard did not start: {log.read_text()}")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=60) as answer:
        assert answer.read() == b"ok", log.read_text()
    try:
        yield f"http://127.0.0.1:{port}", port
        served_output = log.read_text()  # what the server said while it served
    finally:
        server.terminate()  # the server itself: `turnaround dashboard` became it
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert "Traceback" not in without_disconnect_races(served_output), served_output


# Streamlit's websocket endpoint, on Starlette, sometimes logs a traceback when a browser
# goes away while its socket is being opened or closed: the socket is read after the client
# left, and the close that follows is refused. Nothing of Turnaround runs in it, the page
# already answered, and it can happen on any browser close; see Starlette's issue 2766.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:: .*)?$")
_DISCONNECTED = "starlette.websockets.WebSocketDisconnected"
_CHAINED = ("During handling of the above exception", "The above exception was the direct")


def without_disconnect_races(output: str) -> str:
    """``output`` without the logged errors that are Streamlit's websocket disconnect race:
    an "Exception in ASGI application" whose every frame is an installed package's and
    whose every exception is Starlette's WebSocketDisconnected. Anything else stays."""
    lines = output.splitlines()
    kept: list[str] = []
    at = 0
    while at < len(lines):
        if lines[at].strip() != "Exception in ASGI application":
            kept.append(lines[at])
            at += 1
            continue
        end = _end_of_logged_error(lines, at + 1)
        block = lines[at:end]
        if _is_disconnect_race(block):
            at = end
        else:
            kept.extend(block)
            at = end
    return "\n".join(kept)


def _end_of_logged_error(lines: list[str], at: int) -> int:
    """The index after the last line of the (possibly chained) traceback starting at ``at``."""
    while at < len(lines):
        line = lines[at]
        at += 1
        if line.startswith((" ", "Traceback")) or not line.strip() or line.startswith(_CHAINED):
            continue
        if _EXCEPTION_LINE.match(line):  # an exception's last line: is another one chained?
            following = at
            while following < len(lines) and not lines[following].strip():
                following += 1
            if following < len(lines) and lines[following].startswith(_CHAINED):
                at = following
                continue
            return at
    return at


def _is_disconnect_race(block: list[str]) -> bool:
    frames = [line for line in block if line.lstrip().startswith('File "')]
    exceptions = [
        line
        for line in block[1:]
        if line.strip()
        and not line.startswith((" ", "Traceback"))
        and not line.startswith(_CHAINED)
    ]
    return (
        bool(frames)
        and all("/site-packages/" in frame for frame in frames)
        and bool(exceptions)
        and all(
            line.startswith("starlette.websockets.WebSocketDisconnected") for line in exceptions
        )
    )


@contextmanager
def chromium(**context_options) -> Iterator:
    """A browser context of Debian's chromium (new pages: ``context.new_page()``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(**context_options)
        finally:
            browser.close()
