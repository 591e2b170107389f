"""KPI tiles: given a KPI value, expect this tile text and colour."""

from dashboard.kpi_tiles import KPI_GROUPS, kpi_tile, target_text
from metrics import KPI_CATALOG, format_value
from metrics.catalog import CONTRACT_KPIS


def test_groups_cover_every_contract_kpi_once():
    # The executive page shows PRODUCT.md's twelve; the analyst KPIs are for slices.
    names = [name for names in KPI_GROUPS.values() for name in names]
    assert sorted(names) == sorted(CONTRACT_KPIS)


def test_tile_value_is_the_formatted_kpi():
    tile = kpi_tile("one_touch_rate", 0.732)
    assert tile.value == format_value("one_touch_rate", 0.732)
    assert tile.label == KPI_CATALOG["one_touch_rate"].label


def _kpi_with_target(higher_is_better: bool) -> str:
    return next(
        name
        for name, kpi in KPI_CATALOG.items()
        if kpi.default_target is not None and kpi.higher_is_better is higher_is_better
    )


def test_lower_is_better_target_reads_at_most():
    name = _kpi_with_target(higher_is_better=False)
    target = KPI_CATALOG[name].default_target
    assert target_text(name, target) == f"target ≤ {format_value(name, target)}"


def test_higher_is_better_target_reads_at_least():
    name = _kpi_with_target(higher_is_better=True)
    target = KPI_CATALOG[name].default_target
    assert target_text(name, target) == f"target ≥ {format_value(name, target)}"


def test_tile_on_and_off_target_by_direction():
    for higher_is_better in (False, True):
        name = _kpi_with_target(higher_is_better)
        target = KPI_CATALOG[name].default_target
        better, worse = (
            (target * 1.1, target * 0.9)
            if higher_is_better
            else (
                target * 0.9,
                target * 1.1,
            )
        )
        on, off, at = kpi_tile(name, better), kpi_tile(name, worse), kpi_tile(name, target)
        assert (on.delta_color, on.delta_description) == ("green", "on target")
        assert (off.delta_color, off.delta_description) == ("red", "off target")
        assert at.delta_color == "green"
        assert on.delta == off.delta == target_text(name, target)


def test_tile_without_value_shows_target_in_gray():
    name = _kpi_with_target(higher_is_better=False)
    tile = kpi_tile(name, None)
    assert tile.value == "—"
    assert (tile.delta_color, tile.delta_description) == ("gray", "no data")


def test_tile_without_target_has_no_delta():
    name = next(name for name, kpi in KPI_CATALOG.items() if kpi.default_target is None)
    tile = kpi_tile(name, 1.0)
    assert tile.delta is None
