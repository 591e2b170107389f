"""Business-hours TTA on a schedule: across a weekend, a holiday and both daylight-saving
changes of the schedule's zone (Europe/Berlin: 2026-03-29 and 2026-10-25), on DuckDB and on
PostgreSQL; the source's own business minutes win where it gives them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from metrics import MetricParams, compute_kpis
from metrics.business_hours import Schedule, ScheduleError, parse_openings
from metrics.slices import SliceRequest, compute_slice
from tests.metrics.rows import insert

WEEKDAY = "09:00-17:00"
SCHEDULE = Schedule.from_settings(
    "Europe/Berlin",
    {day: WEEKDAY for day in ("mon", "tue", "wed", "thu", "fri")},
    ["2026-12-25"],
)

# (created, first reply) in UTC, and the business minutes a person counts on the schedule.
CASES = {
    # Fri 16:00-17:00 CET, then Mon 09:00-10:00 CET.
    "weekend": (dt.datetime(2026, 11, 27, 15, 0), dt.datetime(2026, 11, 30, 9, 0), 120),
    # Thu Dec 24 16:30-17:00, Fri Dec 25 is a holiday, Mon Dec 28 09:00-09:30.
    "holiday": (dt.datetime(2026, 12, 24, 15, 30), dt.datetime(2026, 12, 28, 8, 30), 60),
    # Fri Mar 27 16:00-17:00 CET (UTC+1); Mon Mar 30 09:00-09:30 CEST (UTC+2): 07:30 UTC.
    "spring_dst": (dt.datetime(2026, 3, 27, 15, 0), dt.datetime(2026, 3, 30, 7, 30), 90),
    # Fri Oct 23 16:30-17:00 CEST; Mon Oct 26 09:00-09:15 CET (UTC+1): 08:15 UTC.
    "autumn_dst": (dt.datetime(2026, 10, 23, 14, 30), dt.datetime(2026, 10, 26, 8, 15), 45),
    # Created and answered on a Saturday: no business time passed.
    "closed": (dt.datetime(2026, 11, 28, 10, 0), dt.datetime(2026, 11, 28, 12, 0), 0),
    # Within one day: Tue 10:00-11:20 CET.
    "same_day": (dt.datetime(2026, 12, 1, 9, 0), dt.datetime(2026, 12, 1, 10, 20), 80),
}


def test_open_intervals_follow_the_zones_clock():
    spring = SCHEDULE.intervals(dt.datetime(2026, 3, 27, 12), dt.datetime(2026, 3, 30, 12))
    assert (dt.datetime(2026, 3, 27, 8), dt.datetime(2026, 3, 27, 16)) in spring  # CET
    assert (dt.datetime(2026, 3, 30, 7), dt.datetime(2026, 3, 30, 15)) in spring  # CEST
    assert not [i for i in spring if i[0].date() in (dt.date(2026, 3, 28), dt.date(2026, 3, 29))]
    holiday = SCHEDULE.intervals(dt.datetime(2026, 12, 24), dt.datetime(2026, 12, 26))
    assert not [i for i in holiday if i[0].date() == dt.date(2026, 12, 25)]


@pytest.mark.parametrize("case", list(CASES))
def test_business_tta_on_the_schedule(any_engine, case):
    created, replied, expected = CASES[case]
    insert(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": case,
                "customer_id": "c1",
                "created_at": created,
                "first_reply_at": replied,
            }
        ],
    )
    params = MetricParams(as_of=dt.datetime(2027, 1, 1), schedule=SCHEDULE)
    kpis = compute_kpis(any_engine, params)["kpis"]
    assert kpis["business_tta_median_minutes"] == pytest.approx(expected)
    # Without a schedule there is no business TTA for a source that gives none.
    plain = compute_kpis(any_engine, dataclasses.replace(params, schedule=None))["kpis"]
    assert plain["business_tta_median_minutes"] is None
    assert plain["tta_median_minutes"] == pytest.approx((replied - created).total_seconds() / 60)


def test_the_sources_business_minutes_win_and_tickets_mix(any_engine):
    created, replied, _ = CASES["weekend"]
    insert(
        any_engine,
        "tickets",
        [
            {
                "ticket_id": "given",
                "customer_id": "c1",
                "created_at": created,
                "first_reply_at": replied,
                "first_reply_business_minutes": 7,
                "channel": "chat",
            },
            {
                "ticket_id": "counted",
                "customer_id": "c1",
                "created_at": created,
                "first_reply_at": replied,
                "channel": "email",
            },
            {
                "ticket_id": "unanswered",
                "customer_id": "c1",
                "created_at": created,
                "channel": "email",
            },
        ],
    )
    params = MetricParams(as_of=dt.datetime(2027, 1, 1), schedule=SCHEDULE)
    result = compute_slice(any_engine, params, SliceRequest(by=("channel",)))
    rows = {r["channel"]: r for r in result["rows"]}
    assert rows["chat"]["kpis"]["business_tta_median_minutes"] == 7
    assert rows["email"]["kpis"]["business_tta_median_minutes"] == pytest.approx(120)
    assert rows["email"]["n"]["business_tta_median_minutes"] == 1  # the unanswered one is out


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("9-17", "is not a range of hours"),
        ("17:00-09:00", "must go forward"),
        (["09:00-13:00", "12:00-17:00"], "overlap"),
        ("09:00-24:30", "must go forward"),
    ],
)
def test_bad_hours_are_refused(hours, message):
    with pytest.raises(ScheduleError, match=message):
        parse_openings(hours)


def test_a_split_day_and_a_bad_zone():
    assert parse_openings(["13:00-17:00", "09:00-12:00"]) == ((540, 720), (780, 1020))
    assert parse_openings("") == ()
    with pytest.raises(ScheduleError, match="IANA time zone"):
        Schedule.from_settings("Mars/Olympus", {"mon": WEEKDAY}, [])
    with pytest.raises(ScheduleError, match="unknown weekday 'monday'"):
        Schedule.from_settings("UTC", {"monday": WEEKDAY}, [])


def test_a_schedule_without_open_hours_counts_no_business_time(any_engine):
    created, replied, _ = CASES["weekend"]
    insert(
        any_engine,
        "tickets",
        [{"ticket_id": "t", "customer_id": "c1", "created_at": created, "first_reply_at": replied}],
    )
    closed = Schedule.from_settings("UTC", {}, [])
    params = MetricParams(as_of=dt.datetime(2027, 1, 1), schedule=closed)
    assert compute_kpis(any_engine, params)["kpis"]["business_tta_median_minutes"] == 0.0


def test_hours_of_another_type_are_refused():
    with pytest.raises(ScheduleError, match="is not a range of hours"):
        parse_openings(9)
