"""``turnaround tickets`` as a user runs it: the units behind a KPI (real processes on a DuckDB
file loaded from canonical CSV, the same four tickets and two customers as the metrics CLI
tests), their n and value beside ``metrics``'s, CSV safe for a spreadsheet, bad usage."""

from __future__ import annotations

import csv
import io

import pytest

from tests.processes import cli, json_out
from tests.turnaround.test_cli_metrics import CUSTOMERS, HEADER, TICKETS

# A fifth ticket whose group reads as a formula in a spreadsheet.
FORMULA = (
    "T5,C1,2024-06-04T09:00:00Z,,,open,web,question,low,,=cmd|' /C calc'!A0,A1,,,,,,,"
    "2024-06-04T09:00:00Z"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("cli_tickets")
    (folder / "tickets.csv").write_text("\n".join([HEADER, *TICKETS, FORMULA]) + "\n")
    (folder / "customers.csv").write_text("\n".join(CUSTOMERS) + "\n")
    url = f"duckdb:///{folder / 'turnaround.duckdb'}"
    done = cli(
        "load", str(folder / "tickets.csv"), str(folder / "customers.csv"), "--warehouse", url
    )
    assert done.returncode == 0, done.stderr
    return url


def run(url: str, command: str, *args: str):
    return cli(command, "--warehouse", url, *args)


@pytest.mark.parametrize(
    "args",
    [
        ("--kpi", "tta_median_minutes"),
        ("--kpi", "tta_p90_minutes", "--where", "channel=email"),
        ("--kpi", "one_touch_rate", "--from", "2024-05-07"),
        ("--kpi", "recovery_rate"),
        ("--kpi", "ticket_volume", "--where", "plan=basic"),
        ("--kpi", "attrition_rate_12m"),
    ],
)
def test_units_add_up_to_the_metric(warehouse, args):
    listed = json_out(run(warehouse, "tickets", *args, "--json"))
    metric = json_out(run(warehouse, "metrics", *args, "--json"))
    kpi = args[1]
    assert listed["n"] == metric["n"][kpi] == len(listed[listed["unit"]])
    assert listed["value"] == metric["kpis"][kpi]
    assert listed["as_of"] == metric["as_of"]


def test_tta_median_lists_each_acknowledged_ticket_with_its_minutes(warehouse):
    # Replies after 30, 60, 10 and 5 minutes (T5 unanswered): sorted 5, 10, 30, 60, median
    # 20; T5 is not in the n.
    found = json_out(
        run(warehouse, "tickets", "--kpi", "tta_median_minutes", "--sort", "value", "--json")
    )
    assert [(t["ticket_id"], t["value"]) for t in found["tickets"]] == [
        ("T4", 5.0),
        ("T3", 10.0),
        ("T1", 30.0),
        ("T2", 60.0),
    ]
    assert (found["kpi"], found["unit"], found["n"], found["value"]) == (
        "tta_median_minutes",
        "tickets",
        4,
        20.0,
    )
    assert found["tickets"][0]["created_at"] == "2024-06-03T09:00:00Z"


def test_one_period_of_a_grain_is_that_rows_units(warehouse):
    # June's one-touch: T4 solved with 2 replies (0); T5 not solved: n 1, rate 0.
    args = ("--kpi", "one_touch_rate", "--grain", "month", "--from", "2024-05-01")
    found = json_out(run(warehouse, "tickets", *args, "--period", "2024-06-01", "--json"))
    rows = json_out(run(warehouse, "metrics", *args, "--json"))["rows"]
    june = next(r for r in rows if r["period_start"] == "2024-06-01")
    assert [(t["ticket_id"], t["value"]) for t in found["tickets"]] == [("T4", 0.0)]
    assert (found["n"], found["value"]) == (june["n"]["one_touch_rate"], 0.0)


def test_without_a_kpi_every_ticket_of_the_slice(warehouse):
    found = json_out(run(warehouse, "tickets", "--where", "channel=email", "--json"))
    assert found["kpi"] is None and found["value"] is None
    assert sorted(t["ticket_id"] for t in found["tickets"]) == ["T1", "T2", "T3"]
    assert found["n"] == 3


def test_csv_is_safe_in_a_spreadsheet(warehouse):
    done = run(warehouse, "tickets", "--search", "T5", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["ticket_id"], r["group"]) for r in rows] == [("T5", "'=cmd|' /C calc'!A0")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kpi", "nope"), "unknown KPI 'nope'; known: tta_median_minutes"),
        (("--where", "channel=fax"), "'fax' is not one of email, web, chat"),
        (("--where", "plan=gold"), "'gold' is not a plan in this data; plans are basic, pro"),
        (("--kpi", "nps", "--where", "channel=chat"), "customer-level KPI"),
        (("--period", "2024-06-01"), "--period and --grain go together"),
        (("--period", "2024-06-03", "--grain", "month"), "not the first day of a month"),
        (("--kpi", "ticket_volume", "--sort", "score"), "sort tickets by one of created_at"),
    ],
)
def test_bad_usage_exits_2_naming_what_is_allowed(warehouse, args, message):
    done = run(warehouse, "tickets", *args)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
