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


def test_the_overview_leads_with_the_primary_verdict_and_names_the_others_secondary():
    from dashboard.wording import MULTIPLE_COMPARISONS, paradox_lead

    holds = {"value": 0.05, "ci_low": 0.01, "ci_high": 0.09, "verdict": "holds"}
    spans = {"value": -0.02, "ci_low": -0.1, "ci_high": 0.06, "verdict": "not_detected"}
    paradox = {
        "nps_delta": {"value": 3.0, "ci_low": -2.0, "ci_high": 8.0, "verdict": "not_detected"},
        "retention_delta": spans | {"matched": holds},
        "csat_delta": spans,
        "primary": "retention_delta",
        "primary_comparison": "matched",
    }
    lead, secondary = paradox_lead(paradox, 90)
    assert lead == (
        "Like for like (tenure, segment and plan): Recovered customers' 90-day retention is "
        "5.0 percentage points higher than never-failed customers' (95% CI 1.0 to 9.0): "
        "the recovery paradox holds on retention."
    )
    assert secondary[0].startswith("Recovered customers' NPS is 3.0 points higher")
    assert secondary[1] == (
        "CSAT after a recovered failure is 2.0 percentage points lower than on ordinary "
        "tickets (95% CI -10.0 to 6.0): the recovery paradox is not detected on satisfaction."
    )
    assert secondary[-1] == MULTIPLE_COMPARISONS
    assert "one in twenty" in MULTIPLE_COMPARISONS
