"""KPI tiles: given a KPI value, its previous value, target and n, expect this tile."""

import pytest

from dashboard.kpi_tiles import (
    BAD_COLOR,
    GOOD_COLOR,
    KPI_GROUPS,
    NO_VERDICT_COLOR,
    change_text,
    kpi_tile,
    last_complete,
    status_text,
    target_text,
    tile_label,
)
from metrics import KPI_CATALOG, format_value
from metrics.catalog import CONTRACT_KPIS
from metrics.intervals import beyond_noise, rate_change


def test_groups_cover_every_contract_kpi_once_and_the_recovery_rate():
    # The Overview shows the contract's twelve (docs/contract.md, JSON output) and the
    # recovery rate; the other analyst KPIs are for slices.
    names = [name for names in KPI_GROUPS.values() for name in names]
    assert sorted(names) == sorted([*CONTRACT_KPIS, "recovery_rate"])


def test_tile_value_is_the_formatted_kpi_and_its_tooltip_the_catalog_description():
    tile = kpi_tile("one_touch_rate", 0.732)
    assert tile.value == format_value("one_touch_rate", 0.732) == "73.2%"
    assert tile.label == KPI_CATALOG["one_touch_rate"].label
    assert KPI_CATALOG["one_touch_rate"].description in tile.help


def test_every_label_says_its_window():
    assert tile_label("never_failed_retention", 31, 90) == "Retention, 90 days: never failed"
    assert tile_label("attrition_rate_12m", 31, 90) == "Attrition, 12 months"
    assert tile_label("nps", 31, 90) == "NPS · 31 days"
    assert tile_label("nps_recovered", 7, 90) == "NPS: recovered · 7 days"
    assert tile_label("one_touch_rate", 31, 90) == "One-touch resolution · 31 days"


def test_a_change_whose_interval_spans_zero_is_grey_and_one_beyond_noise_is_coloured():
    # One-touch 49.42% of 10,926 against 49.31% of 10,930 (5,400 and 5,390 tickets): +0.1 pp,
    # Newcombe's 95% interval about -1.2 to +1.4 pp spans zero: grey, "no clear change".
    noise = compute_like(5400, 10926, 5390, 10930, min_size=30)
    tile = kpi_tile("one_touch_rate", 0.4942, change=noise)
    assert (tile.delta, tile.delta_color, tile.delta_description) == (
        "+0.1 pp",
        NO_VERDICT_COLOR,
        "no clear change",
    )
    # 160 of 200 against 100 of 200: +30 pp, interval +20.8 to +38.5 pp: blue, better
    # (Wilson 80% of 200: [73.9, 85.0]; 50%: [43.1, 56.9]; 30 - 9.2 and 30 + 8.5).
    signal = compute_like(160, 200, 100, 200, min_size=30)
    tile = kpi_tile("one_touch_rate", 0.8, change=signal)
    assert (tile.delta, tile.delta_color, tile.delta_description) == (
        "+30.0 pp",
        GOOD_COLOR,
        "better",
    )
    assert "95% CI +20.8 pp to +38.5 pp" in tile.help
    # The same change on a handoff rate (lower is better): orange, worse.
    assert kpi_tile("handoff_rate", 0.8, change=signal).delta_color == BAD_COLOR


def test_a_change_on_too_few_units_is_not_coloured():
    # 2 of 2 against 0 of 3: +100 pp, Newcombe's interval about +19.8 to +100 pp excludes
    # zero, but 2 and 3 tickets are below the minimum group size of 30.
    few = compute_like(2, 2, 0, 3, min_size=30)
    assert few["ci_low"] > 0 and not few["clear"]
    tile = kpi_tile("one_touch_rate", 1.0, change=few)
    assert (tile.delta_color, tile.delta_description) == (NO_VERDICT_COLOR, "too few to tell")


def compute_like(x1: int, n1: int, x2: int, n2: int, min_size: int) -> dict:
    """A compute_changes entry of a rate from its counts (its interval: metrics.intervals)."""
    low, high = rate_change((x1 / n1, n1), (x2 / n2, n2))
    return {
        "now": x1 / n1,
        "before": x2 / n2,
        "change": x1 / n1 - x2 / n2,
        "ci_low": low,
        "ci_high": high,
        "units": {"now": n1, "before": n2},
        "clear": beyond_noise((low, high)) and min(n1, n2) >= min_size,
    }


@pytest.mark.parametrize(
    ("name", "now", "before", "shown"),
    [
        ("one_touch_rate", 0.75, 0.70, "+5.0 pp"),
        ("tta_median_minutes", 30.0, 95.0, "-1 h 05 m"),
        ("tta_median_minutes", 50.0, 45.0, "+5.0 min"),
        ("nps", -3.0, 2.5, "-5.5"),
        ("ticket_volume", 1200.0, 200.0, "+1,000"),
        ("nps", None, 2.5, None),
    ],
)
def test_change_is_in_the_kpis_unit(name, now, before, shown):
    assert change_text(name, now, before) == shown


def test_no_change_without_a_comparison():
    tile = kpi_tile("nps", 10.0)
    assert (tile.delta, tile.delta_description, tile.delta_color) == (None, None, NO_VERDICT_COLOR)


def test_target_reads_at_most_or_at_least():
    assert target_text("tta_p90_minutes", 60) == "target ≤ 1 h 00 m"
    assert target_text("tta_within_target_pct", 0.9) == "target ≥ 90.0%"


def test_status_shows_the_target_on_or_off_and_n_with_small_groups_marked():
    on = status_text("tta_p90_minutes", 45.0, 60.0, 120, 30)
    assert on == ":blue-badge[:material/check: on target ≤ 1 h 00 m] n = 120"
    off = status_text("tta_within_target_pct", 0.5, 0.9, 12, 30)
    assert off == (
        ":orange-badge[:material/close: off target ≥ 90.0%] n = 12 · :orange[small group]"
    )
    assert status_text("nps", None, 30.0, None, 30) == ":gray-badge[target ≥ +30.0]"
    assert status_text("nps", 5.0, None, 40, 30) == ":gray-badge[no target set] n = 40"
    at_target = kpi_tile("tta_p90_minutes", 60.0, target=60.0, n=50)
    assert "on target" in at_target.status


def _week(start: str, complete: bool, p90: float) -> dict:
    return {"period_start": start, "complete": complete, "kpis": {"tta_p90_minutes": p90}}


def test_a_change_is_between_the_last_complete_period_and_the_one_before():
    # TTA p90 46 h, 45 h in complete weeks; the immature as_of week shows 20 h.
    rows = [
        _week("2026-10-05", True, 46 * 60),
        _week("2026-10-12", True, 45 * 60),
        _week("2026-10-19", False, 20 * 60),
    ]
    last, before = last_complete(rows)
    assert (last["period_start"], before["period_start"]) == ("2026-10-12", "2026-10-05")
    change = {
        "now": last["kpis"]["tta_p90_minutes"],
        "before": before["kpis"]["tta_p90_minutes"],
        "change": -60.0,
        "ci_low": -90.0,
        "ci_high": -30.0,
        "clear": True,
    }
    tile = kpi_tile("tta_p90_minutes", 20 * 60, change=change)
    # -1 h (46 h to 45 h), better; not the -26 h an immature week would show.
    assert tile.value == format_value("tta_p90_minutes", 20 * 60)
    assert (tile.delta, tile.delta_description) == ("-1 h 00 m", "better")
    assert last_complete(rows[2:]) == (None, None)  # no complete period: no change
    assert last_complete(rows[1:]) == (rows[1], None)  # none before the last complete one
