"""The model is declared once (data_contracts/): what is built from it follows it."""

from __future__ import annotations

import re
import tomllib

import pytest

import data_contracts.settings
from data_contracts import CANONICAL_TABLES, CONTRACTS, SIDE_TABLES
from data_contracts.options import DATE_ORDERS, GRAINS, ONE_TOUCH_PRESETS, SURVIVAL_SPLITS
from data_contracts.settings import ConfigError, Settings
from data_contracts.side_tables import FED_BY_METRICS
from etl.sources.zendesk import transforms
from metrics.dimensions import DIMENSIONS
from metrics.settings import load_config, metric_params
from turnaround.commands.load import DateOrder
from turnaround.commands.read import Grain, OneTouch, SurvivalBy
from warehouse.schema import tables


@pytest.mark.parametrize("frame", sorted(SIDE_TABLES))
def test_a_side_table_is_its_source_its_frame_and_its_bookkeeping(frame):
    side = SIDE_TABLES[frame]
    stored = [c.name for c in tables[side.table].columns]
    assert stored[0] == "source"
    assert {c.name for c in side.columns} | set(side.bookkeeping) | {"source"} == set(stored)
    assert [c.name for c in tables[side.table].primary_key.columns] == list(side.key)


def test_ticket_metrics_feed_ticket_columns_the_source_time_last():
    ticket_columns = {c.name for c in tables["tickets"].columns}
    assert set(FED_BY_METRICS) <= ticket_columns
    assert list(FED_BY_METRICS)[-1] == "metrics_updated_at"


def test_the_zendesk_maps_read_every_declared_side_column():
    for frame, paths in (
        ("ticket_metrics", transforms.TICKET_METRIC_PATHS),
        ("groups", transforms.GROUP_PATHS),
        ("ratings", transforms.RATING_PATHS),
    ):
        assert list(paths) == list(SIDE_TABLES[frame].schema), frame


def test_the_canonical_tables_are_the_contracts_in_merge_order():
    assert tuple(CONTRACTS) == CANONICAL_TABLES
    assert all(name in tables for name in CANONICAL_TABLES)


def test_choices_and_dimension_values_are_the_declared_ones():
    assert [m.value for m in Grain] == list(GRAINS)
    assert [m.value for m in OneTouch] == list(ONE_TOUCH_PRESETS)
    assert [m.value for m in DateOrder] == list(DATE_ORDERS)
    assert [m.value for m in SurvivalBy] == list(SURVIVAL_SPLITS)
    for name in ("channel", "priority", "type"):
        assert DIMENSIONS[name].values == CONTRACTS["tickets"].column(name).allowed


def test_the_documented_config_example_is_valid(tmp_path):
    example = re.search(r"```toml\n(.*?)```", data_contracts.settings.__doc__, re.DOTALL)
    config = tmp_path / "turnaround.toml"
    config.write_text(example.group(1))
    loaded = load_config(config)
    assert set(loaded.values) == set(Settings.model_fields)
    assert loaded.settings.metrics.horizon_days == 90  # typed, as written
    assert loaded.values == tomllib.loads(example.group(1))


def test_a_setting_out_of_range_names_its_key(tmp_path):
    config = tmp_path / "turnaround.toml"
    config.write_text("[dashboard]\nport = 0\n")
    with pytest.raises(ConfigError, match=r"dashboard\.port must be between 1 and 65535, not 0"):
        load_config(config)


def test_the_recovery_look_back_and_definitions_reach_the_metric_parameters(tmp_path):
    config = tmp_path / "turnaround.toml"
    config.write_text(
        '[metrics]\ndefinitions = "2026-11"\ncurrency = "EUR"\nmaturity_days = 10\n'
        "[recovery]\nlookback_days = 180\n"
    )
    params = metric_params(load_config(config))
    assert (params.definitions, params.currency, params.maturity_days) == ("2026-11", "EUR", 10)
    assert params.lookback_days == 180
    assert metric_params(load_config(None)).lookback_days == 365


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[metrics]\ndefinitions = "2025-01"',
            r"metrics\.definitions must be one of '2026-12', '2026-11', not '2025-01'",
        ),
        ('[metrics]\ncurrency = "usd"', r"metrics\.currency must be a three-letter ISO 4217"),
        ("[recovery]\nlookback_days = 0", r"recovery\.lookback_days must be between 1 and"),
    ],
)
def test_a_recovery_setting_outside_its_values_names_its_key(tmp_path, text, message):
    config = tmp_path / "turnaround.toml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(config)
