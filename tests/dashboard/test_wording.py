"""Given a paradox delta or a timestamp, expect this sentence."""

import datetime as dt

from dashboard.wording import (
    as_of_text,
    compensation_effect_text,
    load_instructions,
    money_text,
    paradox_sentence,
    return_text,
    value_of_recovery_text,
)


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


def test_money_is_rounded_for_reading_with_its_currency():
    assert money_text(172.48, "USD") == "USD 172"
    assert money_text(9_999.4, "EUR") == "EUR 9,999"
    assert money_text(347_904.2, "USD") == "USD 348k"
    assert money_text(-5_250.0, "USD") == "USD -5,250"
    assert money_text(999_700.0, "GBP") == "GBP 1.0M"
    assert money_text(-0.2, "USD") == "USD 0"
    assert money_text(None, "USD") == "—"
    assert return_text(1.4360) == "1.4×" and return_text(None) == "—"


VALUE = {
    "window_start": "2024-03-03T00:00:00Z",
    "window_end": "2024-06-01T00:00:00Z",
    "cost_window_start": "2023-03-04T00:00:00Z",
    "currency": "USD",
    "recovered_customers": 2,
    "unrecovered_customers": 2,
    "small": True,
    "revenue_from_recovered": 689.94,
    "revenue_at_unrecovered_path": 517.45,
    "gain": 172.48,
    "cost": 65.0,
    "cost_by_group": {"recovered": 40.0, "unrecovered": 5.0, "in_recovery": 20.0},
    "return": 1.65,
}


def test_value_of_recovery_says_what_is_compared_and_what_it_cost():
    assert value_of_recovery_text(VALUE) == (
        "From 03 Mar 2024 to 01 Jun 2024, recovered customers paid USD 690; on the "
        "unrecovered customers' retention path they would have paid USD 517 (2 recovered and "
        "2 unrecovered customers; small groups, read with care). Cost: all compensation on the "
        "failed customers' failures since 04 Mar 2023 (recovered USD 40, unrecovered USD 5, in "
        "recovery USD 20)."
    )


def test_value_of_recovery_gives_its_interval_and_says_when_it_could_be_nothing():
    spans_zero = value_of_recovery_text(VALUE | {"gain_ci_low": -410.0, "gain_ci_high": 12_500.0})
    assert (
        "read with care). The value's 95% interval runs from USD -410 to USD 12k: it could "
        "be nothing. Cost:" in spans_zero
    )
    above = value_of_recovery_text(VALUE | {"gain_ci_low": 40.0, "gain_ci_high": 300.0})
    assert "The value's 95% interval runs from USD 40 to USD 300. Cost:" in above


def test_compensation_without_effect_says_none_is_shown():
    effect = {
        "compensated": {"customers": 4, "retention": 0.5},
        "not_compensated": {"customers": 1, "retention": 1.0},
        "difference": -0.5,
        "ci_low": -0.85,
        "ci_high": 0.31,
    }
    assert compensation_effect_text(effect, 90) == (
        "Compensation's own effect: 90-day retention 50.0% of 4 compensated failed customers "
        "against 100.0% of 1 not compensated: -50.0 percentage points (95% CI -85.0 to 31.0; "
        "no effect shown, a crude comparison)."
    )


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
