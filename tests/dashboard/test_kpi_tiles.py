"""KPI tiles: given a KPI value, its previous value, target and n, expect this tile."""

import pytest

from dashboard.kpi_tiles import (
    BAD_COLOR,
    GOOD_COLOR,
    KPI_GROUPS,
    change_text,
    kpi_tile,
    last_complete,
    status_text,
    target_text,
)
from metrics import KPI_CATALOG, format_value
from metrics.catalog import CONTRACT_KPIS


def test_groups_cover_every_contract_kpi_once():
    # The Overview shows the contract's twelve (docs/contract.md, JSON output); the analyst
    # KPIs are for slices.
    names = [name for names in KPI_GROUPS.values() for name in names]
    assert sorted(names) == sorted(CONTRACT_KPIS)


def test_tile_value_is_the_formatted_kpi_and_its_tooltip_the_catalog_description():
    tile = kpi_tile("one_touch_rate", 0.732)
    assert tile.value == format_value("one_touch_rate", 0.732) == "73.2%"
    assert tile.label == KPI_CATALOG["one_touch_rate"].label
    assert KPI_CATALOG["one_touch_rate"].description in tile.help
    assert kpi_tile("never_failed_retention", 0.9).label == "Retention: never failed"


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


def test_change_is_coloured_and_worded_by_the_kpis_good_direction():
    faster = kpi_tile("tta_median_minutes", 30.0, previous=40.0)  # lower is better
    assert (faster.delta_color, faster.delta_description) == (GOOD_COLOR, "better")
    fewer = kpi_tile("one_touch_rate", 0.5, previous=0.6)  # higher is better
    assert (fewer.delta_color, fewer.delta_description) == (BAD_COLOR, "worse")
    level = kpi_tile("nps", 10.0, previous=10.0)
    assert (level.delta, level.delta_description) == ("+0.0", "no change")
    assert kpi_tile("nps", 10.0).delta is None  # nothing to compare with


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
    assert status_text("nps", 5.0, None, 40, 30) == "n = 40"
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
    tile = kpi_tile(
        "tta_p90_minutes",
        20 * 60,
        compared=(last["kpis"]["tta_p90_minutes"], before["kpis"]["tta_p90_minutes"]),
    )
    # -1 h (46 h to 45 h), better; not the -26 h an immature week would show.
    assert tile.value == format_value("tta_p90_minutes", 20 * 60)
    assert (tile.delta, tile.delta_description) == ("-1 h 00 m", "better")
    assert last_complete(rows[2:]) == (None, None)  # no complete period: no change
    assert last_complete(rows[1:]) == (rows[1], None)  # none before the last complete one
