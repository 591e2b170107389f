"""`turnaround dashboard` in a process of its own, and Debian's chromium through Playwright,
for the tests that use the dashboard as it is served."""

from __future__ import annotations

import os
import subprocess
import time
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
START_SECONDS = 120  # a busy 2-core machine starts Streamlit slowly


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
    server = subprocess.Popen(  # a file, not a pipe: a full pipe would stall the server
        [TURNAROUND, "dashboard", "--warehouse", warehouse, "--port", str(port), *options],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    health = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError(f"the dashboard did not start: {log.read_text()}") from None
            time.sleep(0.3)
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
    assert "Traceback" not in served_output, served_output


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
