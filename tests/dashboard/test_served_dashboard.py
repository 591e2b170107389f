"""The dashboard as it is served: `turnaround dashboard` in a process of its own, read by
Debian's chromium through Playwright, while a load runs beside it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dashboard.serving import chromium, require_browser, serving
from tests.processes import SAFETY_SECONDS, TURNAROUND, cli, json_out
from turnaround.generate import generate

pytestmark = pytest.mark.browser


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
    require_browser()
    path = tmp_path / "turnaround.duckdb"
    shutil.copy(exports["warehouse"], path)
    warehouse = f"duckdb:///{path}"
    with serving(warehouse, tmp_path / "dashboard.log") as (url, port):
        yield url, port, warehouse


@pytest.fixture
def browser():
    with chromium() as context:
        yield context.new_page()


def _tiles_text(page) -> str:
    page.wait_for_selector('[data-testid="stMetric"]', timeout=SAFETY_SECONDS * 1000)
    # The run has ended (no "Running" status) and the page is whole.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.body.innerText.includes('Trends')",
        timeout=SAFETY_SECONDS * 1000,
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
    stdout, stderr = load.communicate(timeout=SAFETY_SECONDS)
    assert load.returncode == 0, stderr
    assert json_out(subprocess.CompletedProcess([], 0, stdout, stderr))["status"] == "succeeded"

    browser.get_by_role("button", name="Refresh data").click()
    after = _tiles_text(browser)
    assert after != before  # the page shows the nightly data once the load is in
