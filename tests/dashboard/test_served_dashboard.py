"""The dashboard as it is served: `turnaround dashboard` in a process of its own, read by
Debian's chromium through Playwright, while a load runs beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.postgres_server import free_port
from tests.processes import TURNAROUND, cli, json_out
from turnaround.generate import generate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        reason = "Debian's chromium is not installed (scripts/system-deps.sh installs it)"
        if os.environ.get("TURNAROUND_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("served")
    generate(root / "first", customers=400, seed=5, fmt="canonical")
    generate(root / "nightly", customers=3000, seed=6, fmt="canonical")
    warehouse = root / "turnaround.duckdb"
    assert cli("load", str(root / "first"), "--warehouse", f"duckdb:///{warehouse}").returncode == 0
    return {"warehouse": warehouse, "nightly": root / "nightly"}


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.fixture
def served(exports, tmp_path):
    """The dashboard serving a warehouse of its own; yields (url, port, warehouse URL)."""
    _require_browser()
    path = tmp_path / "turnaround.duckdb"
    shutil.copy(exports["warehouse"], path)
    warehouse = f"duckdb:///{path}"
    port = free_port()
    log = tmp_path / "dashboard.log"  # a file, not a pipe: a full pipe would stall the server
    server = subprocess.Popen(
        [TURNAROUND, "dashboard", "--warehouse", warehouse, "--port", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    health = f"http://127.0.0.1:{port}/_stcore/health"
    deadline = time.monotonic() + 60
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
        yield f"http://127.0.0.1:{port}", port, warehouse
        served_output = log.read_text()  # what the server said while it served
    finally:
        server.terminate()  # the server itself: `turnaround dashboard` became it
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert "Traceback" not in served_output, served_output


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium.new_page()
        chromium.close()


def _tiles_text(page) -> str:
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    # The run has ended (no "Running" status) and the page is whole.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.body.innerText.includes('Trends')",
        timeout=60_000,
    )
    return page.inner_text("body")


def test_the_dashboard_listens_on_this_machine_only(served):
    _, port, _ = served
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and no other interface


def test_a_load_succeeds_while_the_dashboard_serves_and_reads(served, browser, exports):
    url, _, warehouse = served
    browser.goto(url)
    before = _tiles_text(browser)
    assert "One-touch" in before and "could not be read" not in before

    load = subprocess.Popen(
        [TURNAROUND, "load", str(exports["nightly"]), "--warehouse", warehouse, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    renders = []
    while load.poll() is None or not renders:
        browser.get_by_role("button", name="Refresh data").click()  # read the warehouse again
        text = _tiles_text(browser)
        renders.append(text)
        assert "could not be read" not in text and "busy" not in text, text
    stdout, stderr = load.communicate(timeout=120)
    assert load.returncode == 0, stderr
    assert json_out(subprocess.CompletedProcess([], 0, stdout, stderr))["status"] == "succeeded"

    browser.get_by_role("button", name="Refresh data").click()
    after = _tiles_text(browser)
    assert after != before  # the page shows the nightly data once the load is in
