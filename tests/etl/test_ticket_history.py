"""Ticket history: every version loaded is kept (in any load order), and metrics at time t
read the state known at t, on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa

from etl.pipeline.load import load_paths
from metrics import MetricParams, compute_kpis
from metrics.slices import SliceRequest, compute_slice
from warehouse.schema import ticket_versions, tickets

HEADER = (
    "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,type,priority,"
    "tags,group_name,assignee_id,agent_replies,reopens,assignee_stations,group_stations,csat,"
    "compensation,updated_at"
)
# T1: an incident solved on 6 January and rated good (version of 6 January); on 1 April it
# was reopened and rated bad (version of 1 April). T2: a question, one version.
JANUARY = [
    "T1,C1,2024-01-05T09:00:00Z,2024-01-05T09:20:00Z,2024-01-06T09:00:00Z,solved,email,"
    "incident,high,,Support,A1,1,0,1,1,good,,2024-01-06T09:00:00Z",
    "T2,C2,2024-01-08T09:00:00Z,2024-01-08T09:10:00Z,2024-01-08T10:00:00Z,solved,email,"
    "question,low,,Support,A1,1,0,1,1,,,2024-01-08T10:00:00Z",
]
APRIL = [
    "T1,C1,2024-01-05T09:00:00Z,2024-01-05T09:20:00Z,2024-01-06T09:00:00Z,solved,email,"
    "incident,high,,Support,A1,3,1,1,1,bad,,2024-04-01T09:00:00Z",
]
CUSTOMERS = [
    "customer_id,signup_at,churned_at,segment,plan,region,mrr",
    "C1,2023-01-01,,smb,pro,EU,49.0",
    "C2,2023-01-01,,smb,pro,EU,49.0",
]
AS_OF = dt.datetime(2024, 6, 1)  # t0 = 3 March: T1 was recovered then, not since 1 April
T0 = AS_OF - dt.timedelta(days=90)


def _write(folder, name: str, rows: list[str]):
    path = folder / f"{name}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _history(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        current = conn.execute(
            sa.select(
                tickets.c.ticket_id, tickets.c.updated_at, tickets.c.reopens, tickets.c.csat
            ).order_by(tickets.c.ticket_id)
        ).all()
        earlier = conn.execute(
            sa.select(
                ticket_versions.c.ticket_id,
                ticket_versions.c.valid_from,
                ticket_versions.c.reopens,
                ticket_versions.c.csat,
            ).order_by(ticket_versions.c.ticket_id, ticket_versions.c.valid_from)
        ).all()
    return [tuple(r) for r in current], [tuple(r) for r in earlier]


EXPECTED_CURRENT = [
    ("T1", dt.datetime(2024, 4, 1, 9), 1, "bad"),
    ("T2", dt.datetime(2024, 1, 8, 10), 0, None),
]
EXPECTED_EARLIER = [("T1", dt.datetime(2024, 1, 6, 9), 0, "good")]


@pytest.mark.parametrize("order", ["january first", "april first", "one file"])
def test_every_version_is_kept_in_any_load_order(any_engine, tmp_path, order):
    customers = tmp_path / "customers.csv"
    customers.write_text("\n".join(CUSTOMERS) + "\n")
    load_paths(any_engine, [customers])
    if order == "one file":
        load_paths(any_engine, [_write(tmp_path, "both", APRIL + JANUARY)])
    else:
        files = [_write(tmp_path, "january", JANUARY), _write(tmp_path, "april", APRIL)]
        for path in files if order == "january first" else files[::-1]:
            load_paths(any_engine, [path])
    assert _history(any_engine) == (EXPECTED_CURRENT, EXPECTED_EARLIER)

    # At t0 the customer was recovered (reopened and rated bad only on 1 April) ...
    params = MetricParams(as_of=AS_OF)
    by_group = compute_slice(
        any_engine, params, SliceRequest(by=("recovery_group",), kpis=("recovered_retention",))
    )
    groups = {r["recovery_group"]: r["n"]["recovered_retention"] for r in by_group["rows"]}
    assert groups["recovered"] == 1 and "unrecovered" not in groups
    kpis = compute_kpis(any_engine, params)
    assert kpis["kpis"]["recovered_retention"] == 1.0
    assert kpis["kpis"]["unrecovered_retention"] is None
    # ... and at as_of the ticket KPIs read the latest version: reopened, 3 replies.
    assert kpis["kpis"]["reopen_rate"] == 0.5
    assert kpis["kpis"]["one_touch_rate"] == 0.5
    # Before 1 April the ticket KPIs read the January version.
    march = compute_kpis(any_engine, MetricParams(as_of=dt.datetime(2024, 3, 15)))["kpis"]
    assert march["reopen_rate"] == 0.0 and march["one_touch_rate"] == 1.0
    assert kpis["hindsight"]["first_known_later"] == 0
    assert kpis["hindsight"]["failure_tickets"] == 1


def test_reloading_a_version_adds_nothing(any_engine, tmp_path):
    january, april = _write(tmp_path, "january", JANUARY), _write(tmp_path, "april", APRIL)
    load_paths(any_engine, [january])
    load_paths(any_engine, [april])
    again = _write(tmp_path, "january_again", list(reversed(JANUARY)))  # new file, same rows
    report = load_paths(any_engine, [again])
    assert report.totals()["rows_duplicates"] == 2
    assert _history(any_engine)[1] == EXPECTED_EARLIER


def test_one_version_per_ticket_keeps_todays_numbers_and_says_where_hindsight_may_be(
    any_engine, tmp_path
):
    customers = tmp_path / "customers.csv"
    customers.write_text("\n".join(CUSTOMERS) + "\n")
    # Only the April version: T1's state at t0 can only be read from it (reopened, bad).
    load_paths(any_engine, [customers, _write(tmp_path, "april", [APRIL[0], JANUARY[1]])])
    result = compute_kpis(any_engine, MetricParams(as_of=AS_OF))
    assert result["kpis"]["unrecovered_retention"] == 1.0  # the one version says so
    assert result["kpis"]["recovered_retention"] is None
    assert result["hindsight"]["failure_tickets"] == 1
    assert result["hindsight"]["first_known_later"] == 1
    assert result["hindsight"]["at"] == T0.isoformat() + "Z"
    assert "may carry hindsight" in result["hindsight"]["note"]


def test_a_state_a_later_version_undid_counts_only_while_it_held(any_engine, tmp_path):
    """Reopened and rated bad in February, shown good without a reopen in May (canonical rows
    carry their own counts): unrecovered at t0 (3 March) only."""
    feb = JANUARY[0].replace(
        ",1,0,1,1,good,,2024-01-06T09:00:00Z", ",2,1,1,1,bad,,2024-02-01T09:00:00Z"
    )
    may = JANUARY[0].replace(",good,,2024-01-06T09:00:00Z", ",good,,2024-05-01T09:00:00Z")
    customers = tmp_path / "customers.csv"
    customers.write_text("\n".join(CUSTOMERS) + "\n")
    load_paths(any_engine, [customers, _write(tmp_path, "feb", [feb])])
    load_paths(any_engine, [_write(tmp_path, "may", [may])])
    kpis = compute_kpis(any_engine, MetricParams(as_of=AS_OF))["kpis"]
    assert kpis["unrecovered_retention"] == 1.0 and kpis["recovered_retention"] is None
    later = compute_kpis(any_engine, MetricParams(as_of=AS_OF, horizon_days=20))["kpis"]
    assert later["recovered_retention"] == 1.0  # t0 = 12 May: the good rating holds


@pytest.mark.parametrize("first", list(itertools.permutations(["feb", "may"])))
def test_history_order_does_not_change_the_numbers(any_engine, tmp_path, first):
    feb = JANUARY[0].replace(
        ",1,0,1,1,good,,2024-01-06T09:00:00Z", ",2,1,1,1,bad,,2024-02-01T09:00:00Z"
    )
    may = JANUARY[0].replace(",good,,2024-01-06T09:00:00Z", ",good,,2024-05-01T09:00:00Z")
    files = {"feb": _write(tmp_path, "feb", [feb]), "may": _write(tmp_path, "may", [may])}
    customers = tmp_path / "customers.csv"
    customers.write_text("\n".join(CUSTOMERS) + "\n")
    load_paths(any_engine, [customers])
    for name in first:
        load_paths(any_engine, [files[name]])
    kpis = compute_kpis(any_engine, MetricParams(as_of=AS_OF))["kpis"]
    assert kpis["unrecovered_retention"] == 1.0


def _zendesk_ticket(updated_at: str, rating: str) -> dict:
    return {
        "id": 1,
        "via": {"channel": "email"},
        "created_at": "2024-01-05T09:00:00Z",
        "updated_at": updated_at,
        "type": "incident",
        "status": "solved",
        "requester_id": 7,
        "tags": [],
        "satisfaction_rating": {"score": rating},
    }


ZENDESK = {
    "january": {"tickets": [_zendesk_ticket("2024-01-06T09:00:00Z", "good")]},
    "april": {"tickets": [_zendesk_ticket("2024-04-01T09:00:00Z", "bad")]},
    "metrics": {
        "ticket_metrics": [
            {
                "id": 9,
                "ticket_id": 1,
                "replies": 1,
                "reopens": 0,
                "solved_at": "2024-01-06T09:00:00Z",
                "updated_at": "2024-01-06T09:00:00Z",
                "reply_time_in_minutes": {"calendar": 20, "business": 20},
            }
        ]
    },
    "users": {
        "users": [
            {
                "id": 7,
                "external_id": "C1",
                "email": "c1@example.com",
                "created_at": "2023-01-01T00:00:00Z",
                "updated_at": "2023-01-01T00:00:00Z",
            }
        ]
    },
}


@pytest.mark.parametrize(
    "order",
    [
        ["users", "january", "metrics", "april"],
        ["users", "april", "metrics", "january"],
        ["users", "metrics", "april", "january"],
    ],
)
def test_zendesk_versions_without_metrics_read_the_tickets_metrics(any_engine, tmp_path, order):
    """A Zendesk ticket's versions carry no solve time or reopens (they come in their own
    stream): an earlier version reads the ticket's, so in any load order the customer was
    recovered at t0 (rated good in January, bad only on 1 April)."""
    import json

    customers = tmp_path / "customers.csv"
    customers.write_text("\n".join(CUSTOMERS) + "\n")
    load_paths(any_engine, [customers])
    for name in order:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(ZENDESK[name]))
        load_paths(any_engine, [path])
    kpis = compute_kpis(any_engine, MetricParams(as_of=AS_OF))["kpis"]
    assert kpis["recovered_retention"] == 1.0
    assert kpis["unrecovered_retention"] is None
    assert kpis["csat_score"] == 0.0  # at as_of: the April version, rated bad


def test_forget_erases_the_tickets_history(any_engine, tmp_path):
    from etl.admin.forget import forget
    from etl.pipeline.load import LoadOptions
    from warehouse.access import Warehouse

    load_paths(any_engine, [_write(tmp_path, "january", JANUARY)])
    load_paths(any_engine, [_write(tmp_path, "april", APRIL)])
    assert _history(any_engine)[1] == EXPECTED_EARLIER
    erased = forget(Warehouse.for_engine(any_engine), "C1", LoadOptions())
    assert erased.counts["ticket_versions"] == 1 and erased.counts["tickets"] == 1
    assert _history(any_engine) == ([EXPECTED_CURRENT[1]], [])


def test_one_version_in_two_files_of_one_run_is_kept_once(any_engine, tmp_path):
    again = _write(tmp_path, "january_copy", [JANUARY[0]])
    report = load_paths(
        any_engine, [_write(tmp_path, "january", JANUARY), again, _write(tmp_path, "april", APRIL)]
    )
    assert report.status == "succeeded"
    assert _history(any_engine) == (EXPECTED_CURRENT, EXPECTED_EARLIER)


RATINGS = {
    "satisfaction_ratings": [
        {
            "id": 501,
            "ticket_id": 1,
            "score": "good",
            "created_at": "2024-01-06T09:00:00Z",
            "updated_at": "2024-01-07T12:00:00Z",
        },
        {
            "id": 502,
            "ticket_id": 1,
            "score": "bad",
            "created_at": "2024-04-01T09:00:00Z",
            "updated_at": "2024-04-01T09:00:00Z",
        },
    ]
}


@pytest.mark.parametrize("ratings_first", [True, False])
def test_rating_times_give_csat_at_t(any_engine, tmp_path, ratings_first):
    """Only the April version of T1 is loaded (rated bad): without rating times its state at
    t0 would be bad. The satisfaction_ratings stream says it was rated good on 7 January and
    bad on 1 April, so at t0 the customer was recovered, in either load order."""
    import json

    customers = tmp_path / "customers.csv"
    customers.write_text("\n".join(CUSTOMERS) + "\n")
    load_paths(any_engine, [customers])
    names = ["ratings", "users", "april", "metrics"]
    if not ratings_first:
        names = names[1:] + names[:1]
    for name in names:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(RATINGS if name == "ratings" else ZENDESK[name]))
        load_paths(any_engine, [path])
    result = compute_kpis(any_engine, MetricParams(as_of=AS_OF))
    assert result["kpis"]["recovered_retention"] == 1.0
    assert result["kpis"]["csat_score"] == 0.0  # at as_of: rated bad since 1 April
    march = compute_kpis(any_engine, MetricParams(as_of=dt.datetime(2024, 3, 15)))["kpis"]
    assert march["csat_score"] == 1.0
    january = compute_kpis(any_engine, MetricParams(as_of=dt.datetime(2024, 1, 7)))["kpis"]
    assert january["csat_score"] is None and january["csat_response_rate"] == 0.0  # offered


def test_a_bad_rating_signals_close_the_loop_when_it_was_given(any_engine, tmp_path):
    """Rated bad on 1 April (the ticket was solved on 6 January). C1 wrote again on 1 March:
    that is no answer to a rating given later, so the loop is still open."""
    import json

    from metrics.recovery import compute_recovery

    march = _zendesk_ticket("2024-03-01T10:00:00Z", "offered") | {
        "id": 2,
        "created_at": "2024-03-01T09:00:00Z",
        "type": "question",
    }
    exports = {
        "users": ZENDESK["users"],
        "april": {"tickets": [*ZENDESK["april"]["tickets"], march]},
        "metrics": {
            "ticket_metrics": [
                *ZENDESK["metrics"]["ticket_metrics"],
                {
                    "id": 10,
                    "ticket_id": 2,
                    "replies": 1,
                    "reopens": 0,
                    "solved_at": "2024-03-01T10:00:00Z",
                    "updated_at": "2024-03-01T10:00:00Z",
                    "reply_time_in_minutes": {"calendar": 30, "business": 30},
                },
            ]
        },
    }
    for name, content in exports.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(content))
        load_paths(any_engine, [path])
    before = compute_recovery(any_engine, MetricParams(as_of=AS_OF))["close_the_loop"]
    # No rating time known yet (the ticket was bad in its first version loaded): left out
    # and counted, not timed from the solve before the customer complained.
    assert (before["signals"], before["closed"], before["undated_bad_ratings"]) == (0, 0, 1)
    earlier = MetricParams(as_of=AS_OF, definitions="2026-11")
    old = compute_recovery(any_engine, earlier)["close_the_loop"]
    assert (old["signals"], old["closed"]) == (1, 1)  # 2026-11, solve time: March answers it
    path = tmp_path / "ratings.json"
    path.write_text(json.dumps(RATINGS))
    load_paths(any_engine, [path])
    loop = compute_recovery(any_engine, MetricParams(as_of=AS_OF))["close_the_loop"]
    assert (loop["signals"], loop["closed"]) == (1, 0)  # rated bad on 1 April, once
