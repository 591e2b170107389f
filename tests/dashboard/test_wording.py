"""Given a paradox delta or a timestamp, expect this sentence."""

import datetime as dt

from dashboard.wording import as_of_text, load_instructions, paradox_sentence


def test_as_of_text_formats_utc_z_timestamp():
    assert as_of_text("2026-10-31T23:59:59Z") == "Data as of 31 Oct 2026, 23:59 UTC"


def test_as_of_text_converts_offsets_to_utc():
    assert as_of_text("2026-11-01T01:30:00+02:00") == "Data as of 31 Oct 2026, 23:30 UTC"


def test_as_of_text_reads_naive_datetime_as_utc():
    assert as_of_text(dt.datetime(2026, 3, 5, 7, 8)) == "Data as of 05 Mar 2026, 07:08 UTC"


def test_nps_paradox_holds():
    delta = {"value": 14.2, "ci_low": 9.8, "ci_high": 18.6, "verdict": "holds"}
    assert paradox_sentence("nps_delta", delta, horizon_days=90) == (
        "Recovered customers' NPS is 14.2 points higher than never-failed customers' "
        "(95% CI 9.8 to 18.6): the recovery paradox holds on loyalty."
    )


def test_retention_paradox_not_detected_in_percentage_points():
    delta = {"value": 0.031, "ci_low": -0.012, "ci_high": 0.074, "verdict": "not_detected"}
    assert paradox_sentence("retention_delta", delta, horizon_days=90) == (
        "Recovered customers' 90-day retention is 3.1 percentage points higher than "
        "never-failed customers' (95% CI -1.2 to 7.4): the recovery paradox is not detected "
        "on retention."
    )


def test_nps_paradox_reversed():
    delta = {"value": -6.0, "ci_low": -9.5, "ci_high": -2.5, "verdict": "reversed"}
    assert paradox_sentence("nps_delta", delta, horizon_days=90) == (
        "Recovered customers' NPS is 6.0 points lower than never-failed customers' "
        "(95% CI -9.5 to -2.5): the recovery paradox is reversed on loyalty."
    )


def test_retention_sentence_names_the_horizon():
    delta = {"value": 0.0, "ci_low": -0.05, "ci_high": 0.05, "verdict": "not_detected"}
    assert paradox_sentence("retention_delta", delta, horizon_days=30).startswith(
        "Recovered customers' 30-day retention is level with never-failed customers'"
    )


def test_paradox_with_groups_below_the_minimum_size():
    delta = {
        "value": 20.0,
        "ci_low": -5.0,
        "ci_high": 41.0,
        "verdict": "not_enough_data",
        "n": {"recovered": 12, "never_failed": 340},
    }
    assert paradox_sentence("nps_delta", delta, horizon_days=90) == (
        "Recovered customers' NPS is 20.0 points higher than never-failed customers' "
        "(95% CI -5.0 to 41.0), but the groups are too small (12 recovered and 340 "
        "never-failed) for a verdict."
    )


def test_paradox_without_data():
    delta = {"value": None, "ci_low": None, "ci_high": None, "verdict": None}
    assert paradox_sentence("nps_delta", delta, horizon_days=90) == (
        "Not enough data yet to compare recovered and never-failed customers' NPS."
    )


def test_paradox_without_interval():
    delta = {"value": 20.0, "ci_low": None, "ci_high": None, "verdict": None}
    assert paradox_sentence("nps_delta", delta, horizon_days=90) == (
        "Recovered customers' NPS is 20.0 points higher than never-failed customers', "
        "but there is too little data yet for a 95% confidence interval."
    )


def test_load_instructions_name_the_commands_and_the_warehouse():
    text = load_instructions("duckdb:///data/turnaround.duckdb")
    for command in (
        "turnaround generate --out demo_data",
        "turnaround load demo_data/*",
        "turnaround demo",
        "duckdb:///data/turnaround.duckdb",
    ):
        assert command in text
