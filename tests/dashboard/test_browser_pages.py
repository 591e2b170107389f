"""The served dashboard in a real browser (Debian's chromium through Playwright): every page
opens, a filter changes the numbers as the CLI says, a chart click drills through to the
tickets behind it, downloads hold what the CLI counts, and a shared link opens the same view.
A screenshot of each page is saved under tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest

from metrics import KPI_CATALOG, format_value
from metrics.periods import floor, shift
from tests.dashboard.serving import chromium, require_browser, serving
from tests.processes import cli, json_out

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PAGES = {
    "": "Service recovery: overview",
    "recovery": "Service recovery: does it pay?",
    "cohorts": "Cohorts and slices",
    "tickets": "Tickets",
    "health": "Data health",
}
RANGE = ("2026-10-02", "2026-10-31")  # the default: the last 30 days of the demo's data
WAIT_MS = 300_000  # a safety net: a loaded 2-core machine serves slowly, never this slowly


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Generated demo data loaded by the CLI, served by `turnaround dashboard`."""
    require_browser()
    root = tmp_path_factory.mktemp("browser")
    out = root / "exports"
    generated = cli("generate", "--out", str(out), "--customers", "500", "--seed", "8")
    assert generated.returncode == 0, generated.stderr
    warehouse = f"duckdb:///{root / 'turnaround.duckdb'}"
    assert cli("load", str(out), "--warehouse", warehouse).returncode == 0
    with serving(warehouse, root / "dashboard.log") as (url, _):
        yield url, warehouse


@pytest.fixture
def browser(tmp_path):
    with chromium(viewport={"width": 1400, "height": 1800}, accept_downloads=True) as context:
        yield context


def _settled(page, text: str) -> str:
    """The page's text once its run has ended, as the app itself records it on its root
    element (after the run's last element has arrived), and ``text`` is on it."""
    page.wait_for_function(
        "(text) => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
        " && document.body.innerText.includes(text)",
        arg=text,
        timeout=WAIT_MS,
    )
    return page.inner_text("body")


def _metrics(warehouse: str, *args: str) -> dict:
    done = cli(
        "metrics", "--warehouse", warehouse, "--json", "--from", RANGE[0], "--to", RANGE[1], *args
    )
    assert done.returncode == 0, done.stderr
    return json_out(done)


def _tile(page, name: str) -> str:
    label = KPI_CATALOG[name].label  # the tile's label adds its window
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    return metric.get_by_test_id("stMetricValue").inner_text()


def _ticket_count(text: str) -> int:
    found = re.search(r"([\d,]+) tickets · page", text)
    assert found, text[:500]
    return int(found.group(1).replace(",", ""))


def test_every_page_opens_without_an_error_and_is_saved(site, browser):
    url, _ = site
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    for path, title in PAGES.items():
        page.goto(f"{url}/{path}")
        text = _settled(page, title)
        assert page.get_by_test_id("stException").count() == 0, text[:500]
        assert "Traceback" not in text
        assert "Deploy" not in text  # no developer chrome for viewers
        assert page.get_by_test_id("stAppDeployButton").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"{path or 'overview'}.png"), full_page=True)
        assert (ARTIFACTS / f"{path or 'overview'}.png").stat().st_size > 10_000


def test_a_filter_changes_the_tiles_as_the_cli_says_and_is_kept_in_the_url(site, browser):
    url, warehouse = site
    page = browser.new_page()
    page.goto(url)
    _settled(page, "Trends")
    everyone = _metrics(warehouse)
    assert _tile(page, "one_touch_rate") == format_value(
        "one_touch_rate", everyone["kpis"]["one_touch_rate"]
    )
    channel = page.get_by_test_id("stMultiSelect").filter(has_text="Channel")
    channel.click()
    page.get_by_role("option", name="chat", exact=True).click()
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"channel=chat"), timeout=WAIT_MS)
    _settled(page, "Trends")
    chat = _metrics(warehouse, "--where", "channel=chat")
    for name in ("one_touch_rate", "tta_median_minutes", "handoff_rate"):
        page.wait_for_function(
            "([label, value]) => [...document.querySelectorAll('[data-testid=stMetric]')]"
            ".some(m => m.innerText.includes(label) && m.innerText.includes(value))",
            arg=[KPI_CATALOG[name].label, format_value(name, chat["kpis"][name])],
            timeout=WAIT_MS,
        )
        assert _tile(page, name) == format_value(name, chat["kpis"][name])

    shared = page.url  # a copied link, opened by someone else, shows the same view
    other = browser.new_page()
    other.goto(shared)
    _settled(other, "Trends")
    assert _tile(other, "one_touch_rate") == format_value(
        "one_touch_rate", chat["kpis"]["one_touch_rate"]
    )
    page.reload()  # and so does a reload
    _settled(page, "Trends")
    assert _tile(page, "tta_median_minutes") == format_value(
        "tta_median_minutes", chat["kpis"]["tta_median_minutes"]
    )


def test_a_bar_drills_through_to_its_tickets_and_the_csv_holds_them(site, browser):
    url, warehouse = site
    page = browser.new_page()
    page.goto(f"{url}/recovery")
    _settled(page, "What recovery buys")
    chart = page.get_by_test_id("stVegaLiteChart").nth(1)  # retention by recovery group
    # Vega's SVG names each bar by its tooltip fields ("Group: Unrecovered; ...").
    bar = chart.locator('path[aria-roledescription="bar"][aria-label*="Unrecovered"]')
    bar.first.wait_for(timeout=WAIT_MS)  # Vega draws after the run has ended
    assert bar.count() == 1
    bar.first.click()
    page.wait_for_url(re.compile(r"/tickets\?.*recovery_group=unrecovered"), timeout=WAIT_MS)
    text = _settled(page, "tickets · page")

    expected = _metrics(
        warehouse, "--where", "recovery_group=unrecovered", "--kpi", "ticket_volume"
    )["kpis"]["ticket_volume"]
    assert _ticket_count(text) == expected > 0
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name=re.compile(r"CSV \(")).click()
    assert download.value.suggested_filename == "tickets.csv"
    rows = pl.read_csv(download.value.path(), infer_schema_length=None)
    assert rows.height == expected  # one row per ticket behind the number
    assert rows.select(["source", "ticket_id"]).is_unique().all()
    created = rows["created_at"].str.slice(0, 10)
    assert created.min() >= RANGE[0] and created.max() <= RANGE[1]

    shared = page.url  # the drilled view, from a link
    other = browser.new_page()
    other.goto(shared)
    assert _ticket_count(_settled(other, "tickets · page")) == expected
    group = other.get_by_test_id("stMultiSelect").filter(has_text="Recovery group")
    assert "unrecovered" in group.inner_text()


def test_a_chart_downloads_as_png(site, browser):
    url, _ = site
    page = browser.new_page()
    page.goto(url)
    _settled(page, "Trends")
    with page.expect_download(timeout=WAIT_MS) as download:
        # Ours, not the chart toolbar's own "Download as PNG" (shown on hover).
        page.get_by_role("button", name="PNG", exact=True).first.click()
    assert download.value.suggested_filename.endswith(".png")
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_table_row_drills_through_to_exactly_its_tickets(site, browser):
    """Tickets by channel per week: the first row is the first channel's first week, which
    the range cuts (it starts on a Friday); its drill-through lists its n tickets."""
    url, warehouse = site
    page = browser.new_page()
    page.goto(f"{url}/cohorts?kpi=Tickets&by=Channel")
    _settled(page, "Retention triangle")
    reported = _metrics(warehouse, "--kpi", "ticket_volume", "--by", "channel", "--grain", "week")
    first = reported["rows"][0]
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for(timeout=WAIT_MS)
    box = grid.bounding_box()
    header = row = 35  # the grid's row height; a row's selection box is at its left edge
    page.mouse.click(box["x"] + 14, box["y"] + header + row / 2)
    page.wait_for_url(re.compile(r"/tickets\?"), timeout=WAIT_MS)
    text = _settled(page, "tickets · page")
    query = parse_qs(urlparse(page.url).query)
    assert query["channel"] == [first["channel"]]
    assert query["dates"] == [RANGE[0], "2026-10-04"]  # the week, within the range
    assert _ticket_count(text) == first["n"]["ticket_volume"] == first["kpis"]["ticket_volume"]


def test_tables_offer_only_the_csv_that_is_safe_for_spreadsheets(site, browser):
    """A table's own toolbar writes cells as they are (a formula group name included): it
    offers no CSV download; the CSV button under the table, which quotes formulas, does."""
    url, _ = site
    page = browser.new_page()
    page.goto(f"{url}/health")
    _settled(page, "Recent loads")
    grid = page.get_by_test_id("stDataFrame").first
    grid.hover()
    buttons = page.get_by_test_id("stElementToolbarButton").locator("button")
    buttons.first.wait_for(timeout=WAIT_MS)
    labels = [buttons.nth(i).get_attribute("aria-label") for i in range(buttons.count())]
    assert "Search" in labels  # the toolbar is there
    assert "Download as CSV" not in labels
    assert page.get_by_role("button", name="CSV", exact=True).count() >= 1


def test_the_overview_leads_with_recovery_and_the_verdict_and_every_tile_has_its_target(
    site, browser
):
    url, warehouse = site
    page = browser.new_page()
    page.goto(url)
    text = _settled(page, "Trends")
    reported = _metrics(warehouse)
    # The first line: the recovery rate of the range with its n and target, then the
    # paradox's primary verdict, as the CLI words it (like for like, 90-day retention).
    rate, n = reported["kpis"]["recovery_rate"], reported["n"]["recovery_rate"]
    assert f"Recovery rate {rate:.1%} of {n:,} solved failures (no target set)" in text
    assert "Like for like (tenure, segment and plan): " in text
    assert "90-day retention" in text
    # The verdict's tile, and the recovery rate's.
    tiles = page.get_by_test_id("stMetric")
    verdict = tiles.filter(has_text="Recovery paradox, retention 90 days")
    assert verdict.count() == 1
    matched = reported["paradox"]["retention_delta"]["matched"]
    shown = verdict.get_by_test_id("stMetricValue").inner_text()
    assert shown == f"{matched['value'] * 100:+.1f} pp"
    assert tiles.filter(has_text="Retention, 90 days: recovered").count() == 1
    # Every tile's target or "no target set": of 14 tiles the two with catalog targets, and
    # 12 without (the sentence says it once more for the recovery rate).
    body = page.inner_text("body")
    assert tiles.count() == 14
    assert len(re.findall(r"(?:on|off) target [≤≥]", body)) == 2
    assert body.count("no target set") == 12 + 1


def test_a_quick_range_sets_the_dates_and_is_kept_in_the_url(site, browser):
    url, warehouse = site
    page = browser.new_page()
    page.goto(url)
    _settled(page, "Trends")
    page.get_by_test_id("stSelectbox").filter(has_text="Quick range").click()
    page.get_by_role("option", name="last 7 days", exact=True).click()
    page.wait_for_url(re.compile(r"preset=last"), timeout=WAIT_MS)
    text = _settled(page, "25 Oct 2026 to 31 Oct 2026 (7 days)")
    query = parse_qs(urlparse(page.url).query)
    assert query["dates"] == ["2026-10-25", "2026-10-31"]
    assert "One-touch resolution · 7 days" in text


def test_a_trend_point_before_the_range_opens_its_own_period_with_its_n(site, browser):
    """The Overview's one-touch trend reaches 26 weeks back from the range's end; its fifth
    week lies months before the 30-day range. Clicking it moves the range to that week (not
    a reversed range) and lists exactly the tickets its n counts, measured where the trend
    measured them (the end of the range's last day)."""
    url, warehouse = site
    first = shift(floor(dt.date.fromisoformat(RANGE[1]), "week"), "week", -25)
    week = shift(first, "week", 4)
    args = ("--kpi", "one_touch_rate", "--grain", "week", "--from", first.isoformat())
    rows = json_out(cli("metrics", "--warehouse", warehouse, "--to", RANGE[1], *args, "--json"))
    point = next(r for r in rows["rows"] if r["period_start"] == week.isoformat())
    n = point["n"]["one_touch_rate"]
    assert n > 0 and week < dt.date.fromisoformat(RANGE[0])
    page = browser.new_page()
    page.goto(url)
    _settled(page, "Trends")
    chart = page.get_by_test_id("stVegaLiteChart").nth(2)  # one-touch resolution
    mark = chart.locator(
        f'path[aria-roledescription="point"][aria-label*="Period starting: {week.isoformat()}"]'
    )
    mark.first.wait_for(timeout=WAIT_MS)  # Vega draws after the run has ended
    mark.first.click()
    page.wait_for_url(re.compile(r"/tickets\?"), timeout=WAIT_MS)
    text = _settled(page, "tickets · page")
    found = re.search(r"Counted in One-touch resolution: .*?, n ([\d,]+)", text)
    assert found, (page.url, text[:800])
    assert int(found.group(1).replace(",", "")) == _ticket_count(text) == n, page.url
    query = parse_qs(urlparse(page.url).query)
    last = week + dt.timedelta(days=6)
    assert query["dates"] == [week.isoformat(), last.isoformat()]  # the week, in order
    assert query["units"] == ["one_touch_rate"]  # the KPI by its name
    assert "error" not in text.lower()


def test_a_shared_link_opens_the_tickets_in_its_order_and_keeps_it(site, browser):
    """The sort, its order and the page are in the link by id: a link sorting by TTA,
    smallest first, opens in that order (the CSV is written in the table's order) and the
    URL still says so once the page has run."""
    url, _ = site
    page = browser.new_page()
    page.goto(f"{url}/tickets?sort=tta_minutes&order=asc")
    _settled(page, "tickets · page")
    query = parse_qs(urlparse(page.url).query)
    assert query["sort"] == ["tta_minutes"] and query["order"] == ["asc"]
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name=re.compile(r"CSV \(")).click()
    tta = pl.read_csv(download.value.path(), infer_schema_length=None)["tta_minutes"]
    answered = tta.drop_nulls().to_list()
    assert len(answered) > 10 and answered == sorted(answered)  # smallest first, numerically

    # An old link that names the KPI and dimension by label opens them and is rewritten.
    page.goto(f"{url}/cohorts?kpi=Tickets&by=Plan")
    _settled(page, "Retention triangle")
    query = parse_qs(urlparse(page.url).query)
    assert query["kpi"] == ["ticket_volume"] and query["by"] == ["plan"]


def test_a_cell_of_two_dimensions_drills_through_to_its_tickets(site, browser):
    """One-touch resolution by channel and group: clicking a cell opens the Tickets page
    with both values set as filters, listing the tickets the CLI counts for them."""
    url, warehouse = site
    page = browser.new_page()
    page.goto(f"{url}/cohorts?kpi=One-touch+resolution&by=Channel&across=Group")
    _settled(page, "Two dimensions at once")
    reported = _metrics(warehouse, "--kpi", "one_touch_rate", "--by", "channel", "--by", "group")
    cell = next(
        r for r in reported["rows"] if r["channel"] and r["group"] and r["n"]["one_touch_rate"]
    )
    chart = page.get_by_test_id("stVegaLiteChart").nth(1)  # the slice, then the two dimensions
    # Vega's SVG names each cell by its tooltip fields ("Channel: api; Group: ...").
    rect = chart.locator(
        f'path[aria-roledescription^="rect"][aria-label*="Channel: {cell["channel"]};"]'
        f'[aria-label*="Group: {cell["group"]};"]'
    )
    rect.first.wait_for(timeout=WAIT_MS)  # Vega draws after the run has ended
    assert rect.count() == 1
    rect.first.click()
    page.wait_for_url(re.compile(r"/tickets\?"), timeout=WAIT_MS)
    text = _settled(page, "tickets · page")
    query = parse_qs(urlparse(page.url).query)
    assert query["channel"] == [cell["channel"]] and query["group"] == [cell["group"]]
    expected = _metrics(
        warehouse,
        "--kpi",
        "ticket_volume",
        "--where",
        f"channel={cell['channel']}",
        "--where",
        f"group={cell['group']}",
    )["kpis"]["ticket_volume"]
    assert _ticket_count(text) == expected > 0
