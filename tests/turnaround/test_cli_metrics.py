"""``turnaround metrics`` sliced, filtered and configured, and ``turnaround cohorts``, as a
user runs them: real processes on a DuckDB file loaded from canonical CSV."""

from __future__ import annotations

import json

import pytest

from data_contracts.options import ONE_TOUCH_PRESETS
from metrics.catalog import MULTIPLE_COMPARISONS, PARADOX_DELTAS
from tests.metrics.test_api import CONTRACT_KPIS
from tests.processes import cli, json_out

HEADER = (
    "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,type,priority,"
    "tags,group_name,assignee_id,agent_replies,reopens,assignee_stations,group_stations,csat,"
    "compensation,updated_at"
)
# Three email tickets in May, one chat ticket in June; 0, 1, 1 and 2 replies.
TICKETS = [
    "T1,C1,2024-05-06T09:00:00Z,2024-05-06T09:30:00Z,2024-05-06T12:00:00Z,solved,email,"
    "incident,high,outage,Support,A1,0,0,1,1,good,,2024-05-06T12:00:00Z",
    "T2,C1,2024-05-07T09:00:00Z,2024-05-07T10:00:00Z,2024-05-08T09:00:00Z,solved,email,"
    "question,normal,,Support,A1,1,0,1,1,bad,,2024-05-08T09:00:00Z",
    "T3,C2,2024-05-20T09:00:00Z,2024-05-20T09:10:00Z,2024-05-20T10:00:00Z,closed,email,"
    "question,low,,Billing,A2,1,0,1,1,,,2024-05-20T10:00:00Z",
    "T4,C2,2024-06-03T09:00:00Z,2024-06-03T09:05:00Z,2024-06-03T11:00:00Z,solved,chat,"
    "question,low,,Billing,A2,2,1,2,1,offered,,2024-06-03T11:00:00Z",
]
CUSTOMERS = [
    "customer_id,signup_at,churned_at,segment,plan,region,mrr",
    "C1,2023-01-15,,smb,pro,EU,49.0",
    "C2,2024-03-01,2024-06-20,smb,basic,US,19.0",
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("cli_metrics")
    (folder / "tickets.csv").write_text("\n".join([HEADER, *TICKETS]) + "\n")
    (folder / "customers.csv").write_text("\n".join(CUSTOMERS) + "\n")
    url = f"duckdb:///{folder / 'turnaround.duckdb'}"
    done = cli(
        "load", str(folder / "tickets.csv"), str(folder / "customers.csv"), "--warehouse", url
    )
    assert done.returncode == 0, done.stderr
    return url


def metrics(url: str, *args: str, **kwargs):
    return cli("metrics", "--warehouse", url, *args, **kwargs)


def test_plain_json_keeps_its_shape_and_adds_no_filters(warehouse):
    result = json_out(metrics(warehouse, "--json"))
    assert set(result) == {
        "as_of",
        "kpis",
        "n",
        "paradox",
        "paradox_by_segment",
        "hindsight",
        "definitions_version",
    }
    assert result["definitions_version"] == "2026-12"  # the current set, by default
    assert result["as_of"] == "2024-06-20T00:00:00Z"  # C2's churn is the latest timestamp
    # n: the tickets behind each ticket KPI (four solved tickets behind one-touch).
    assert result["n"]["ticket_volume"] == 4
    assert result["n"]["one_touch_rate"] == 4
    assert list(result["kpis"])[:12] == CONTRACT_KPIS  # docs/contract.md, JSON output
    assert result["kpis"]["one_touch_rate"] == pytest.approx(3 / 4)  # 0, 1, 1 replies of 4
    assert result["kpis"]["ticket_volume"] == 4
    assert set(result["paradox"]) == {*PARADOX_DELTAS, "primary", "primary_comparison"}


def test_the_readable_paradox_leads_with_the_primary_verdict(warehouse):
    done = metrics(warehouse)
    assert done.returncode == 0, done.stderr
    lines = done.stdout[done.stdout.index("Recovery paradox") :].splitlines()
    # paradox["primary"] is retention_delta, its primary_comparison matched: that line
    # first, labelled; every other comparison under "Secondary:"; the caveat last.
    assert lines[0].startswith(
        "Recovery paradox, primary: retention delta, like for like (tenure_band, segment, plan):"
    )
    assert lines[1] == "Secondary:"
    secondary = [line.strip().split(":")[0] for line in lines[2:-1]]
    assert secondary == [
        "nps delta",
        "nps delta, like for like (tenure_band, segment, plan)",
        "retention delta",
        "csat delta",
    ]
    assert lines[-1] == MULTIPLE_COMPARISONS


def test_sliced_json_has_the_documented_shape(warehouse):
    result = json_out(metrics(warehouse, "--by", "channel", "--grain", "month", "--json"))
    assert set(result) >= {"as_of", "by", "grain", "filters", "rows"}
    assert result["by"] == ["channel"] and result["grain"] == "month"
    rows = {(r["channel"], r["period_start"]): r for r in result["rows"]}
    assert set(rows) == {("email", "2024-05-01"), ("chat", "2024-06-01")}
    email = rows[("email", "2024-05-01")]
    assert set(email) == {
        "channel",
        "period_start",
        "period_end",
        "complete",
        "kpis",
        "n",
        "small",
    }
    assert email["period_end"] == "2024-06-01T00:00:00Z"
    assert email["kpis"]["ticket_volume"] == 3
    assert email["kpis"]["tta_median_minutes"] == 30.0  # 30, 60, 10 minutes
    assert email["n"]["tta_median_minutes"] == 3
    assert email["small"] is True  # 3 tickets, below the default 30
    assert email["kpis"]["recovered_retention"] is None
    assert "recovered_retention" in result["notes"]


def test_chosen_kpis_without_a_slice(warehouse):
    result = json_out(metrics(warehouse, "--kpi", "ticket_volume", "--kpi", "nps", "--json"))
    assert result["kpis"] == {"ticket_volume": 4, "nps": None}
    assert set(result["paradox"]) == {*PARADOX_DELTAS, "primary", "primary_comparison"}


def test_filters_and_range_narrow_the_plain_output(warehouse):
    result = json_out(metrics(warehouse, "--where", "plan=basic", "--to", "2024-05-31", "--json"))
    assert result["filters"] == {"where": {"plan": ["basic"]}, "from": None, "to": "2024-05-31"}
    assert result["as_of"] == "2024-05-31T23:59:59.999999Z"
    assert result["kpis"]["ticket_volume"] == 1  # T3: C2's only ticket by May 31


def test_the_readable_table_shows_n_and_marks_small_groups(warehouse):
    done = metrics(warehouse, "--by", "plan", "--kpi", "ticket_volume", "--kpi", "one_touch_rate")
    assert done.returncode == 0, done.stderr
    assert "(n=2)" in done.stdout  # one-touch of C1's two solved tickets (pro)
    assert "pro *" in done.stdout
    assert "small group: fewer than 30" in done.stdout


def test_one_touch_help_states_each_presets_rule():
    done = cli("metrics", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.replace("│", " ").split())  # the help box's lines, rejoined
    # explore counts at most one reply (fewer than 2), not exactly one.
    assert "explore, solved or closed with fewer than 2 agent replies (Zendesk Explore)" in text
    for name, rule in ONE_TOUCH_PRESETS.items():
        assert f"{name}, {rule}" in text
    assert "exactly 1 reply)" not in text


def test_config_settings_and_flags(warehouse, tmp_path):
    config = tmp_path / "turnaround.toml"
    config.write_text('[metrics]\none_touch = "dbt_zendesk"\nmin_group_size = 3\n')
    result = json_out(metrics(warehouse, "--config", str(config), "--by", "channel", "--json"))
    rows = {r["channel"]: r for r in result["rows"]}
    assert rows["email"]["kpis"]["one_touch_rate"] == pytest.approx(2 / 3)  # exactly one reply
    assert rows["email"]["small"] is False and rows["chat"]["small"] is True
    flagged = json_out(
        metrics(warehouse, "--config", str(config), "--one-touch", "explore", "--json")
    )
    assert flagged["kpis"]["one_touch_rate"] == pytest.approx(3 / 4)  # the flag wins


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[metrics]\none_touch = "zendesk"\n', "metrics.one_touch must be one of 'explore'"),
        ("[metrics]\nmin_group_size = 0\n", "metrics.min_group_size must be at least 1"),
        ('[metrics]\nreporting_timezone = "Mars/Base"\n', "metrics.reporting_timezone must be"),
        ("[metrics.targets]\ncsat = 0.9\n", "'csat' is not a KPI"),
        ('[schedule]\ntimezone = "UTC"\n', "schedule.hours is missing"),
        ('[schedule]\ntimezone = "UTC"\nhours = {mon = "9-5"}\n', "schedule.hours must be"),
        ('[schedule]\ntimezone = "UTC"\nhours = {}\nholidays = ["Xmas"]\n', "'Xmas' is not one"),
        ('[metrics]\nproduct_area_prefix = "area x"\n', "metrics.product_area_prefix must be"),
        ('[schedule]\ntimezone = "UTC"\nhours = {mon = 9}\n', "schedule.hours must be"),
        ('[metrics]\nreporting_timezone = "localtime"\n', "metrics.reporting_timezone must be"),
        ("[metrics]\nhorizon_days = 1000000\n", "metrics.horizon_days must be between 1"),
        ('[privacy]\npseudonymise_agents = "yes"\n', "privacy.pseudonymise_agents must be true"),
    ],
)
def test_a_bad_metrics_setting_exits_2_naming_the_key(warehouse, tmp_path, toml, message):
    config = tmp_path / "turnaround.toml"
    config.write_text(toml)
    done = metrics(warehouse, "--config", str(config), "--json")
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert json_out(done)["status"] == "error"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "chanel"], "unknown dimension 'chanel'"),
        (["--where", "channel=fax"], "'fax' is not one of"),
        # open sets: the values in the data (plans of C1 and C2, groups of T1-T4)
        (["--where", "plan=platinum"], "not a plan in this data; plans are basic, pro"),
        (["--where", "plan=pro,platinum"], "'platinum' is not a plan in this data"),
        (["--by", "channel", "--where", "group=Suport"], "groups are Billing, Support"),
        (["--where", "channel"], "DIMENSION=VALUE"),
        (["--from", "2024-13-01"], "--from must be a date"),
        (["--kpi", "nope"], "unknown KPI 'nope'"),
        (["--timezone", "Nowhere/Town"], "IANA time zone"),
        (["--grain", "year"], "'year' is not one of"),
        (["--by", "channel", "--kpi", "nps"], "no single value per ticket channel"),
        (["--to", "9999-12-31"], "--to must be a day from 1900-01-01"),
        (["--as-of", "0001-01-05"], "--as-of must be a time from 1900"),
        (["--horizon-days", "1000000"], "--horizon-days"),
        (["--grain", "day", "--from", "1990-01-01"], "at most 1,500 periods"),
    ],
)
def test_a_bad_slice_exits_2_with_a_sentence(warehouse, args, message):
    done = metrics(warehouse, *args, "--json")
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_configured_business_schedule_gives_business_tta(warehouse, tmp_path):
    config = tmp_path / "turnaround.toml"
    # Open 09:15-17:00 UTC every weekday: T1 (09:00-09:30) has 15 business minutes.
    config.write_text(
        '[schedule]\ntimezone = "UTC"\n[schedule.hours]\n'
        + "".join(f'{d} = "09:15-17:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))
    )
    result = json_out(
        metrics(
            warehouse,
            "--config",
            str(config),
            "--kpi",
            "business_tta_median_minutes",
            "--by",
            "assignee",
            "--json",
        )
    )
    rows = {r["assignee"]: r for r in result["rows"]}
    # A1: T1 15 minutes, T2 (09:00-10:00) 45 minutes; A2: T3 0 (09:00-09:10), T4 0.
    assert rows["A1"]["kpis"]["business_tta_median_minutes"] == pytest.approx(30)
    assert rows["A2"]["kpis"]["business_tta_median_minutes"] == pytest.approx(0)


def test_cohorts(warehouse):
    done = cli("cohorts", "--warehouse", warehouse, "--months", "18", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    cohorts = {c["cohort"]: c for c in result["cohorts"]}
    assert set(cohorts) == {"2023-01", "2024-03"}
    march = cohorts["2024-03"]
    # C2 signed up in March 2024 and churned on June 20: there at the end of April and May.
    assert march["customers"] == 1
    assert [m["retained"] for m in march["months"]] == [1, 1]
    table = cli("cohorts", "--warehouse", warehouse, "--months", "18")
    assert "2024-03" in table.stdout and "100%" in table.stdout
    bad = cli("cohorts", "--warehouse", warehouse, "--by", "plan")
    assert bad.returncode == 2


def test_survival(warehouse, tmp_path):
    # as_of 20 June; --days 40 puts the landmark on 11 May. C1's outage (T1) was solved and
    # rated good on 6 May: recovered then, still a customer on 20 June (censored, day 40).
    # C2 never failed and churned on 20 June: day 40. Log-rank of the two on day 40: two at
    # risk, one churn: O - E = -0.5 for the recovered, V = 0.25, chi-square 1.
    result = json_out(cli("survival", "--warehouse", warehouse, "--days", "40", "--json"))
    assert result["landmark"] == "2024-05-11T00:00:00Z" and result["max_day"] == 40
    groups = {g["group"]: g for g in result["groups"]}
    assert (groups["recovered"]["customers"], groups["recovered"]["events"]) == (1, 0)
    assert groups["never_failed"]["curve"] == [
        {
            "day": 40,
            "at_risk": 1,
            "events": 1,
            "censored": 0,
            "survival": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.0,
        }
    ]
    # The difference compares customers with as many look-back tickets: C1 has its outage,
    # C2 none, so there is no one to compare C1 with; crude, 1 - 0 on day min(H, 40).
    difference = result["difference"]
    assert (difference["day"], difference["value"], difference["left_out"]) == (40, None, 1)
    assert difference["crude"]["value"] == 1.0
    assert difference["verdict"] == "not_enough_data"
    assert difference["logrank"]["statistic"] == pytest.approx(1.0)
    assert difference["logrank"]["p_value"] == pytest.approx(0.317310507862914)
    assert result["logrank"]["statistic"] is None  # no unrecovered customer to compare
    shown = cli("survival", "--warehouse", warehouse, "--days", "40")
    assert shown.returncode == 0
    assert "on day 40: not enough data to compare customers with as many look-back" in (
        " ".join(shown.stdout.split())
    )
    # The 2026-11 definitions: C1 followed from the solve (6 May 12:00, day 44), C2 from
    # the median start, the same instant.
    config = tmp_path / "turnaround.toml"
    config.write_text('[metrics]\ndefinitions = "2026-11"\n')
    earlier = json_out(cli("survival", "--warehouse", warehouse, "--config", str(config), "--json"))
    assert earlier["landmark"] == "2024-05-06T12:00:00Z" and "difference" not in earlier
    assert earlier["logrank"]["statistic"] == pytest.approx(1.0)
    bad = cli("survival", "--warehouse", warehouse, "--by", "channel")
    assert bad.returncode == 2 and "recovery_group" in bad.stderr
    bad = cli("survival", "--warehouse", warehouse, "--days", "0")
    assert bad.returncode == 2 and "--days" in bad.stderr


def test_differences_of_shares_print_in_points_with_a_signed_interval():
    from turnaround.commands.read import _points

    # 0.487 - 0.5 = -0.013: -1.3 points; the interval's ends keep their signs.
    assert _points(0.487 - 0.5, -0.022, 0.076) == "-1.3 pp (95% CI -2.2 to +7.6)"


def test_recovery(warehouse):
    # t0 = 22 March: C1's outage came later, so no one was recovered then. T1 is the one
    # failure (recovered, not proactive); T2's bad rating has no date (the file gives none):
    # left out of the loop's signals, and counted as such.
    result = json_out(cli("recovery", "--warehouse", warehouse, "--json"))
    assert result["economics"]["recovered_customers"] == 0
    assert result["economics"]["roi"] is None
    assert result["disclosure"]["reactive"]["failures"] == 1
    assert result["disclosure"]["reactive"]["recovery_rate"] == 1.0
    assert result["disclosure"]["proactive"]["failures"] == 0
    loop = result["close_the_loop"]
    assert (loop["signals"], loop["closed"], loop["median_hours"]) == (0, 0, None)
    assert loop["undated_bad_ratings"] == 1
    shown = cli("recovery", "--warehouse", warehouse)
    assert shown.returncode == 0
    assert "by the customer" in shown.stdout
    assert "0 answered by an agent's reply since" in shown.stdout
    assert "; 1 bad rating without a known time left out" in " ".join(shown.stdout.split())
    value = result["economics"]["value_of_recovery"]
    assert value["recovered_customers"] == 0 and value["gain"] is None
    assert "value of recovery over" in shown.stdout and "gain — against" in shown.stdout


def test_recovery_tells_one_money_story_per_definitions(warehouse, tmp_path):
    # 2026-12: only the value of recovery, its cost and return, amounts in the configured
    # currency (no compensation was paid: cost 0); the earlier lines would tell another story.
    config = tmp_path / "turnaround.toml"
    config.write_text('[metrics]\ncurrency = "EUR"\n')
    shown = cli("recovery", "--warehouse", warehouse, "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())  # as wrapped lines read
    cost = "gain — against the unrecovered path, cost EUR 0 (compensation to recovered EUR 0"
    assert cost in text
    assert "compensation paid" not in text and "monthly revenue kept" not in text
    # 2026-11: only the earlier lines, in the default currency.
    config.write_text('[metrics]\ndefinitions = "2026-11"\n')
    shown = cli("recovery", "--warehouse", warehouse, "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "compensation paid: USD 0; to recovered customers — (— each, 0 customers)" in text
    assert "value of recovery" not in text


def test_every_metric_json_names_its_definitions(warehouse):
    for command in (("metrics", "--by", "channel"), ("cohorts",), ("survival",), ("recovery",)):
        result = json_out(cli(*command, "--warehouse", warehouse, "--json"))
        assert result["definitions_version"] == "2026-12", command
