"""Slices on hand-computed rows, on DuckDB and on PostgreSQL: every analyst KPI, every
dimension, each grain in the reporting time zone, filters, a date range, the notes on
customer-level KPIs under a ticket dimension, and small groups.

The rows (as_of 2024-06-30 12:00 UTC; the minutes are in the comments):
- t1 c1 Mon 06-03 09:00 email, solved: reply 30, solved 120, 1 reply, csat good, incident,
  area_billing, Zendesk group 101 (named "Billing team"), high, a1, first resolution 90;
- t2 c1 Tue 06-04 10:00 chat, solved: reply 10, solved 2880, 3 replies, 1 reopen, csat bad,
  outage + area_login, Zendesk group 999 (no name known), urgent;
- t3 c2 Mon 06-10 02:00 chat, open, no reply, csat offered, question;
- t4 c3 Fri 05-31 23:00 email, closed: reply 60, solved 600, 0 replies, 0 reopens,
  complaint, group "Tier 1";
- t5 c3 Sat 06-29 23:30 web, pending: reply 40, 0 reopens, bug, csat unoffered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from metrics import MetricParams, compute_kpis
from metrics.catalog import PARADOX_DELTAS
from metrics.slices import SliceError, SliceRequest, compute_slice, parse_where
from tests.metrics.rows import insert
from warehouse.schema import ticket_groups

AS_OF = dt.datetime(2024, 6, 30, 12, 0)
PARAMS = MetricParams(as_of=AS_OF, horizon_days=30)
M = dt.timedelta(minutes=1)


def ticket(ticket_id, customer_id, created_at, **fields) -> dict:
    row = {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "created_at": created_at,
        "updated_at": created_at,
        "first_reply_at": None,
        "solved_at": None,
        "type": None,
        "priority": None,
        "group_name": None,
        "assignee_id": None,
        "agent_replies": None,
        "reopens": None,
        "csat": None,
        "first_resolution_minutes": None,
        "source": "test",
    }
    for key in ("reply", "solved"):
        if key in fields:
            column = "first_reply_at" if key == "reply" else "solved_at"
            row[column] = created_at + fields.pop(key) * M
    return row | fields


def rows() -> dict[str, list[dict]]:
    t1 = dt.datetime(2024, 6, 3, 9)
    t2 = dt.datetime(2024, 6, 4, 10)
    tickets = [
        ticket(
            "t1",
            "c1",
            t1,
            reply=30,
            solved=120,
            status="solved",
            channel="email",
            agent_replies=1,
            reopens=0,
            csat="good",
            type="incident",
            tags=["area_billing"],
            group_name="101",
            source="zendesk",
            priority="high",
            assignee_id="a1",
            first_resolution_minutes=90,
        ),
        ticket(
            "t2",
            "c1",
            t2,
            reply=10,
            solved=2880,
            status="solved",
            channel="chat",
            agent_replies=3,
            reopens=1,
            csat="bad",
            tags=["outage", "area_login"],
            group_name="999",
            source="zendesk",
            priority="urgent",
        ),
        ticket(
            "t3",
            "c2",
            dt.datetime(2024, 6, 10, 2),
            status="open",
            channel="chat",
            csat="offered",
            type="question",
            tags=[],
        ),
        ticket(
            "t4",
            "c3",
            dt.datetime(2024, 5, 31, 23),
            reply=60,
            solved=600,
            status="closed",
            channel="email",
            agent_replies=0,
            reopens=0,
            tags=["complaint"],
            group_name="Tier 1",
        ),
        ticket(
            "t5",
            "c3",
            dt.datetime(2024, 6, 29, 23, 30),
            reply=40,
            status="pending",
            channel="web",
            reopens=0,
            csat="unoffered",
            tags=["bug"],
        ),
    ]
    customers = [
        {
            "customer_id": "c1",
            "signup_at": dt.datetime(2023, 1, 10),
            "plan": "pro",
            "region": "emea",
            "segment": "smb",
        },
        {
            "customer_id": "c2",
            "signup_at": dt.datetime(2024, 4, 15),
            "plan": "basic",
            "region": "amer",
            "segment": "smb",
            "churned_at": dt.datetime(2024, 6, 10),
        },
        {
            "customer_id": "c3",
            "signup_at": dt.datetime(2022, 3, 1),
            "plan": "pro",
            "region": "emea",
            "segment": "enterprise",
        },
        {
            "customer_id": "c4",
            "signup_at": dt.datetime(2021, 1, 1),
            "plan": "basic",
            "region": "amer",
            "segment": "smb",
        },
    ]
    responses = [
        {
            "response_id": "r1",
            "customer_id": "c1",
            "responded_at": dt.datetime(2024, 6, 15),
            "score": 10,
        },
        {
            "response_id": "r2",
            "customer_id": "c2",
            "responded_at": dt.datetime(2024, 6, 20),
            "score": 3,
        },
        {
            "response_id": "r3",
            "customer_id": "c3",
            "responded_at": dt.datetime(2024, 5, 10),
            "score": 8,
        },
    ]
    return {"tickets": tickets, "customers": customers, "nps_responses": responses}


@pytest.fixture
def sample(any_engine) -> sa.Engine:
    lineage = {"source": "test", "batch_id": "b", "source_file": "f"}
    for table, table_rows in rows().items():
        insert(any_engine, table, [lineage | r for r in table_rows])
    with any_engine.begin() as conn:
        conn.execute(
            ticket_groups.insert(),
            [
                {
                    "source": "zendesk",
                    "group_id": "101",
                    "name": "Billing team",
                    "batch_id": "b",
                    "source_file": "groups.json",
                }
            ],
        )
    return any_engine


def by(engine, params=PARAMS, **request) -> dict:
    """{dimension values (and period): row} of a slice."""
    result = compute_slice(engine, params, SliceRequest(**request))
    keys = list(request.get("by", ())) + (["period_start"] if request.get("grain") else [])
    found = {}
    for row in result["rows"]:
        key = tuple(row[k] for k in keys)
        found[key[0] if len(key) == 1 else key] = row
    return found


def test_every_analyst_kpi_on_hand_computed_rows(sample):
    kpis = compute_kpis(sample, PARAMS)["kpis"]
    assert kpis["ticket_volume"] == 5
    assert kpis["reopen_rate"] == pytest.approx(1 / 3)  # t2 of t1, t2, t4
    assert kpis["csat_score"] == pytest.approx(1 / 2)  # good t1, bad t2
    assert kpis["csat_response_rate"] == pytest.approx(2 / 3)  # rated t1, t2; offered t3
    assert kpis["resolution_median_minutes"] == pytest.approx(600)  # 120, 600, 2880
    assert kpis["resolution_p90_minutes"] == pytest.approx(600 + 0.8 * 2280)
    assert kpis["first_resolution_median_minutes"] == pytest.approx(90)
    assert kpis["failure_rate"] == pytest.approx(4 / 5)  # all but the question t3
    assert kpis["recovery_rate"] == pytest.approx(2 / 3)  # t1, t4 of t1, t2, t4
    assert kpis["time_to_recover_median_minutes"] == pytest.approx(360)  # 120, 600
    assert kpis["time_to_recover_p90_minutes"] == pytest.approx(120 + 0.9 * 480)
    # t5 is unsolved but only 12.5 hours old: outside the 24-hour window's denominator.
    assert kpis["recovered_within_window_pct"] == pytest.approx(2 / 3)
    assert kpis["tta_median_minutes"] == pytest.approx(35)  # 10, 30, 40, 60
    assert kpis["one_touch_rate"] == pytest.approx(2 / 3)  # t1 (1 reply), t4 (0 replies)
    # Active a year before as_of: c1, c3, c4; c1 and c3 had failures since.
    assert kpis["customer_failure_rate"] == pytest.approx(2 / 3)
    # The last full month, May: active on May 1 c1, c2, c3, c4; none churned in May.
    assert kpis["monthly_attrition_rate"] == 0.0
    # June to date: active on June 1 c1, c2, c3, c4; c2 churned on June 10.
    assert kpis["attrition_month_to_date"] == pytest.approx(1 / 4)
    assert kpis["attrition_rate_12m"] == 0.0
    assert kpis["nps"] == pytest.approx(0.0)  # +100, -100, 0


def test_one_touch_presets(sample):
    dbt = compute_kpis(sample, dataclasses.replace(PARAMS, one_touch="dbt_zendesk"))["kpis"]
    assert dbt["one_touch_rate"] == pytest.approx(1 / 3)  # exactly one reply: t1 only


def test_a_shorter_recovery_window(sample):
    params = dataclasses.replace(PARAMS, recovery_window_hours=5)  # 300 minutes
    kpis = compute_kpis(sample, params)["kpis"]
    # t1 only is recovered within 5 hours; t5, unsolved for 12.5 hours, now counts against.
    assert kpis["recovered_within_window_pct"] == pytest.approx(1 / 4)


def test_ticket_dimensions(sample):
    channel = by(sample, by=("channel",))
    assert {k: r["kpis"]["ticket_volume"] for k, r in channel.items()} == {
        "chat": 2,
        "email": 2,
        "web": 1,
    }
    assert channel["email"]["kpis"]["failure_rate"] == 1.0
    assert channel["chat"]["kpis"]["csat_score"] == 0.0
    assert channel["chat"]["n"]["csat_score"] == 1
    group = by(sample, by=("group",))
    assert {k: r["kpis"]["ticket_volume"] for k, r in group.items()} == {
        "101": 1,
        "999": 1,
        "Tier 1": 1,
        None: 2,
    }
    # The name of a source group beside its id (ticket_groups names zendesk's 101 only: the
    # sample's tickets are of the "test" source, and a name is looked up by id alone).
    assert {k: r["group_name"] for k, r in group.items()} == {
        "101": "Billing team",
        "999": "999",
        "Tier 1": "Tier 1",
        None: None,
    }
    assert set(by(sample, by=("priority",))) == {"high", "urgent", None}
    assert {k: r["kpis"]["ticket_volume"] for k, r in by(sample, by=("type",)).items()} == {
        "incident": 1,
        "question": 1,
        None: 3,
    }
    failure_tag = by(sample, by=("failure_tag",))
    assert {k: r["kpis"]["ticket_volume"] for k, r in failure_tag.items()} == {
        "type:incident": 1,
        "outage": 1,
        "complaint": 1,
        "bug": 1,
        None: 1,
    }
    area = by(sample, by=("product_area",))
    assert {k: r["kpis"]["ticket_volume"] for k, r in area.items()} == {
        "billing": 1,
        "login": 1,
        None: 3,
    }
    assert by(sample, by=("assignee",))["a1"]["kpis"]["ticket_volume"] == 1


def test_a_configured_product_area_prefix(sample):
    params = dataclasses.replace(PARAMS, product_area_prefix="out")
    assert set(by(sample, params, by=("product_area",))) == {"age", None}


def test_customer_dimensions_of_tickets(sample):
    plan = by(sample, by=("plan",))
    assert plan["pro"]["kpis"]["ticket_volume"] == 4
    assert plan["basic"]["kpis"]["ticket_volume"] == 1
    assert plan["basic"]["kpis"]["attrition_month_to_date"] == pytest.approx(1 / 2)  # c2 of c2, c4
    assert plan["pro"]["kpis"]["attrition_month_to_date"] == 0.0
    assert plan["basic"]["kpis"]["monthly_attrition_rate"] == 0.0  # May: c2, c4 stayed
    assert plan["pro"]["kpis"]["nps"] == pytest.approx(50.0)  # r1 +100, r3 0
    assert plan["basic"]["kpis"]["nps"] == pytest.approx(-100.0)
    assert set(by(sample, by=("region",))) == {"emea", "amer"}
    assert by(sample, by=("segment",))["enterprise"]["kpis"]["ticket_volume"] == 2
    signup = by(sample, by=("signup_month",))
    assert {k: r["kpis"]["ticket_volume"] for k, r in signup.items()} == {
        "2023-01": 2,
        "2024-04": 1,
        "2022-03": 2,
        "2021-01": 0,
    }
    tenure = by(sample, by=("tenure_band",))
    # At creation: c1's tickets 1-2 years in, c2's under 3 months, c3's over 2 years.
    assert {k: r["kpis"]["ticket_volume"] for k, r in tenure.items()} == {
        "1_to_2_years": 2,
        "under_3_months": 1,
        "over_2_years": 2,
    }
    groups = by(sample, by=("recovery_group",))
    # At as_of: c1 unrecovered (t2 reopened), c2 never failed, c3 in recovery (t5 open).
    assert {k: r["kpis"]["ticket_volume"] for k, r in groups.items()} == {
        "unrecovered": 2,
        "never_failed": 1,
        "in_recovery": 2,
    }


def test_two_dimensions(sample):
    rows_ = by(sample, by=("plan", "channel"))
    assert {k: r["kpis"]["ticket_volume"] for k, r in rows_.items()} == {
        ("basic", "chat"): 1,
        ("pro", "chat"): 1,
        ("pro", "email"): 2,
        ("pro", "web"): 1,
    }


def test_customer_level_kpis_under_a_ticket_dimension_are_null_with_a_note(sample):
    result = compute_slice(sample, PARAMS, SliceRequest(by=("channel",)))
    for row in result["rows"]:
        assert row["kpis"]["recovered_retention"] is None
        assert row["n"]["recovered_retention"] is None
        assert row["kpis"]["nps"] is None
    assert "no single value per ticket channel" in result["notes"]["nps"]
    assert "ticket_volume" not in result["notes"]


@pytest.mark.parametrize(
    ("grain", "timezone", "expected"),
    [
        (
            "day",
            "UTC",
            {"2024-05-31": 1, "2024-06-03": 1, "2024-06-04": 1, "2024-06-10": 1, "2024-06-29": 1},
        ),
        # 23:30 UTC on June 29 is June 30 in Berlin; 23:00 UTC on May 31 is June 1.
        (
            "day",
            "Europe/Berlin",
            {"2024-06-01": 1, "2024-06-03": 1, "2024-06-04": 1, "2024-06-10": 1, "2024-06-30": 1},
        ),
        ("week", "UTC", {"2024-05-27": 1, "2024-06-03": 2, "2024-06-10": 1, "2024-06-24": 1}),
        # 02:00 UTC on Monday June 10 is Sunday evening in New York: the week before.
        ("week", "America/New_York", {"2024-05-27": 1, "2024-06-03": 3, "2024-06-24": 1}),
        ("month", "UTC", {"2024-05-01": 1, "2024-06-01": 4}),
        ("month", "Europe/Berlin", {"2024-06-01": 5}),
        ("quarter", "UTC", {"2024-04-01": 5}),
    ],
)
def test_grains_in_the_reporting_time_zone(sample, grain, timezone, expected):
    params = dataclasses.replace(PARAMS, reporting_timezone=timezone)
    found = by(sample, params, grain=grain, start=dt.date(2024, 5, 1), kpis=("ticket_volume",))
    volumes = {
        k: r["kpis"]["ticket_volume"] for k, r in found.items() if r["kpis"]["ticket_volume"]
    }
    assert volumes == expected
    # Without dimensions every period of the range has a row, empty ones included.
    assert len(found) >= len(expected)


def test_quarters_from_a_start_date_include_the_empty_ones(sample):
    found = by(sample, grain="quarter", start=dt.date(2024, 1, 1), kpis=("ticket_volume",))
    assert {k: r["kpis"]["ticket_volume"] for k, r in found.items()} == {
        "2024-01-01": 0,
        "2024-04-01": 5,
    }


def test_retention_per_month_is_measured_at_each_months_end(sample):
    found = by(sample, grain="month", start=dt.date(2024, 5, 1))
    # May: t0 = May 1, everyone active then is kept through May 31.
    assert found["2024-05-01"]["kpis"]["never_failed_retention"] == 1.0
    # June (measured at as_of): t0 = May 31 12:00; c2 churned on June 10.
    assert found["2024-06-01"]["kpis"]["never_failed_retention"] == pytest.approx(3 / 4)
    assert found["2024-06-01"]["n"]["never_failed_retention"] == 4
    # NPS per month: responses given in it.
    assert found["2024-05-01"]["kpis"]["nps"] == 0.0  # r3 (8)
    assert found["2024-06-01"]["n"]["nps"] == 2


def test_filters_and_a_date_range(sample):
    narrowed = compute_kpis(sample, PARAMS, SliceRequest(where=parse_where(["channel=chat,web"])))
    assert narrowed["kpis"]["ticket_volume"] == 3
    assert narrowed["filters"] == {"where": {"channel": ["chat", "web"]}, "from": None, "to": None}
    assert narrowed["kpis"]["nps"] is None and "nps" in narrowed["notes"]
    basic = compute_kpis(sample, PARAMS, SliceRequest(where=parse_where(["plan=basic"])))
    assert basic["kpis"]["ticket_volume"] == 1
    assert basic["kpis"]["attrition_month_to_date"] == pytest.approx(1 / 2)
    ranged = compute_kpis(
        sample, PARAMS, SliceRequest(start=dt.date(2024, 6, 4), end=dt.date(2024, 6, 10))
    )
    assert ranged["as_of"] == "2024-06-10T23:59:59.999999Z"  # measured as of the end of --to
    assert ranged["kpis"]["ticket_volume"] == 2  # t2 and t3
    assert ranged["kpis"]["resolution_median_minutes"] == pytest.approx(2880)  # t2
    # Attrition month to date as of June 10: c2 churned that day; May, the last full month,
    # lost none of c1, c2, c3, c4.
    assert ranged["kpis"]["attrition_month_to_date"] == pytest.approx(1 / 4)
    assert ranged["kpis"]["monthly_attrition_rate"] == 0.0
    signup = compute_kpis(sample, PARAMS, SliceRequest(where=parse_where(["signup_month=2024-04"])))
    assert signup["kpis"]["ticket_volume"] == 1


def test_plain_kpis_have_no_filters_key(sample):
    assert "filters" not in compute_kpis(sample, PARAMS)


def test_small_groups_are_flagged(sample):
    params = dataclasses.replace(PARAMS, min_group_size=2)
    channel = by(sample, params, by=("channel",))
    assert channel["web"]["small"] is True
    assert channel["email"]["small"] is False
    assert all(r["small"] for r in by(sample, by=("channel",)).values())  # default 30


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SliceRequest(by=("chanel",)), "unknown dimension 'chanel'"),
        (SliceRequest(by=("plan", "region", "segment")), "at most 2"),
        (SliceRequest(by=("plan", "plan")), "same dimension twice"),
        (SliceRequest(where=(("channel", ("fax",)),)), "'fax' is not one of"),
        (SliceRequest(where=(("signup_month", ("May",)),)), "months such as 2024-05"),
        (SliceRequest(kpis=("nope",)), "unknown KPI 'nope'"),
        (SliceRequest(start=dt.date(2024, 2, 1), end=dt.date(2024, 1, 1)), "is after --to"),
        (SliceRequest(grain="year"), "--grain must be one of"),
    ],
)
def test_a_slice_that_cannot_be_computed_says_why(engine, request_, message):
    with pytest.raises(SliceError, match=message):
        compute_slice(engine, PARAMS, request_)


def test_where_text_is_parsed():
    assert parse_where(["channel=chat, email", "plan=pro", "channel=web"]) == (
        ("channel", ("chat", "email", "web")),
        ("plan", ("pro",)),
    )
    with pytest.raises(SliceError, match="DIMENSION=VALUE"):
        parse_where(["channel"])


def test_a_churn_at_midnight_counts_in_the_month_it_ends(any_engine):
    insert(
        any_engine,
        "customers",
        [
            {
                "customer_id": "a",
                "signup_at": dt.datetime(2026, 1, 10),
                "churned_at": dt.datetime(2026, 3, 1),
            },
            {"customer_id": "b", "signup_at": dt.datetime(2026, 1, 12)},
        ],
    )
    params = MetricParams(as_of=dt.datetime(2026, 5, 15))
    found = by(
        any_engine,
        params,
        grain="month",
        start=dt.date(2026, 2, 1),
        kpis=("monthly_attrition_rate",),
    )
    assert found["2026-02-01"]["kpis"]["monthly_attrition_rate"] == pytest.approx(1 / 2)
    assert found["2026-03-01"]["kpis"]["monthly_attrition_rate"] == 0.0
    assert found["2026-03-01"]["n"]["monthly_attrition_rate"] == 1  # a left with February


def test_a_failure_marked_solved_without_a_solve_time_is_left_out_of_the_window(any_engine):
    created = dt.datetime(2024, 6, 1)
    insert(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": "s",
                "customer_id": "c",
                "created_at": created,
                "status": "solved",
                "type": "incident",
            },
            {
                "ticket_id": "r",
                "customer_id": "c",
                "created_at": created,
                "status": "solved",
                "type": "incident",
                "solved_at": created + 60 * M,
                "reopens": 0,
            },
        ],
    )
    kpis = compute_kpis(any_engine, MetricParams(as_of=dt.datetime(2024, 6, 10)))["kpis"]
    assert kpis["recovered_within_window_pct"] == 1.0  # r only: s has no time to judge


def test_only_customer_kpis_under_a_ticket_dimension_is_refused(engine):
    with pytest.raises(SliceError, match="no single value per ticket channel"):
        compute_slice(engine, PARAMS, SliceRequest(by=("channel",), kpis=("nps",)))


def test_unsliced_kpis_can_be_chosen(sample):
    result = compute_kpis(sample, PARAMS, SliceRequest(kpis=("nps", "ticket_volume")))
    assert result["kpis"] == {"nps": pytest.approx(0.0), "ticket_volume": 5}
    assert set(result["paradox"]) == {*PARADOX_DELTAS, "primary", "primary_comparison"}


def test_too_many_periods_are_refused(engine):
    insert(engine, "customers", [{"customer_id": "c", "signup_at": dt.datetime(2024, 1, 1)}])
    with pytest.raises(SliceError, match="at most 1,500 periods"):
        compute_slice(engine, PARAMS, SliceRequest(grain="day", start=dt.date(2000, 1, 1)))


def test_a_tag_prefix_with_a_colon(any_engine):
    insert(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": "t",
                "customer_id": "c",
                "created_at": dt.datetime(2024, 6, 1),
                "tags": ["area:app"],
            }
        ],
    )
    params = dataclasses.replace(PARAMS, product_area_prefix="area:")
    assert set(by(any_engine, params, by=("product_area",))) == {"app"}
