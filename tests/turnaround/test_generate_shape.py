"""The demo data looks like a real support operation and tells the recovery story.

Medium size (3,000 customers), canonical format, checked with plain csv and simple counts.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean

import pytest

from turnaround.generate import generate, settings

MEDIUM = 3_000
FAILURE_TAGS = {"complaint", "outage", "bug", "defect", "wrong_item", "late_delivery"}
FAILURE_TAGS |= {"billing_error"}


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def at(text: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def is_failure(t: dict) -> bool:
    return t["type"] in {"incident", "problem"} or bool(FAILURE_TAGS & set(t["tags"].split(";")))


def is_recovered(t: dict) -> bool:
    return t["status"] in {"solved", "closed"} and t["reopens"] == "0" and t["csat"] != "bad"


def load(out_dir: Path) -> tuple[list[dict], list[dict], list[dict]]:
    names = ("tickets.csv", "nps.csv", "customers.csv")
    tickets, nps, customers = (read_csv(out_dir / name) for name in names)
    return tickets, nps, customers


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> tuple[list[dict], list[dict], list[dict]]:
    out_dir = tmp_path_factory.mktemp("medium")
    generate(out_dir, customers=MEDIUM, seed=7, fmt="canonical")
    return load(out_dir)


def nps_gap(tickets: list[dict], nps: list[dict]) -> float:
    """Mean score of recovered customers after their last failure was solved, minus the mean
    score of customers who never had a failure."""
    failures = defaultdict(list)
    for t in tickets:
        if is_failure(t):
            failures[t["customer_id"]].append(t)
    recovered_since = {
        customer: max(at(t["solved_at"]) for t in rows)
        for customer, rows in failures.items()
        if all(is_recovered(t) for t in rows)
    }
    recovered = [
        int(r["score"])
        for r in nps
        if r["customer_id"] in recovered_since
        and at(r["responded_at"]) > recovered_since[r["customer_id"]]
    ]
    never_failed = [int(r["score"]) for r in nps if r["customer_id"] not in failures]
    assert len(recovered) > 200 and len(never_failed) > 200
    return mean(recovered) - mean(never_failed)


def test_volume_is_about_five_tickets_per_customer(medium) -> None:
    tickets, nps, customers = medium
    assert len(customers) == MEDIUM
    assert 4.0 * MEDIUM < len(tickets) < 6.0 * MEDIUM
    assert 1.0 * MEDIUM < len(nps) < 2.0 * MEDIUM


def test_fewer_tickets_at_weekends_and_at_night(medium) -> None:
    created = [at(t["created_at"]) for t in medium[0]]
    per_weekday = Counter(c.weekday() for c in created)
    assert max(per_weekday[5], per_weekday[6]) < 0.6 * min(per_weekday[d] for d in range(5))
    by_hour = Counter(c.hour for c in created)
    assert by_hour[3] < 0.2 * by_hour[11]


def test_out_of_hours_tickets_wait_for_the_next_business_morning(medium) -> None:
    for t in medium[0]:
        created = at(t["created_at"])
        if t["first_reply_at"] and created.weekday() == 5:  # raised on a Saturday
            replied = at(t["first_reply_at"])
            assert replied.weekday() < 5 and 9 <= replied.hour <= 17


def test_failure_share_differs_by_channel_and_area(medium) -> None:
    tickets = medium[0]

    def share(key) -> dict[str, float]:
        groups = defaultdict(list)
        for t in tickets:
            groups[key(t)].append(is_failure(t))
        return {k: mean(v) for k, v in groups.items()}

    by_channel = share(lambda t: t["channel"])
    assert set(by_channel) == set(settings.CHANNELS)
    assert by_channel["social"] > by_channel["chat"] + 0.1
    area = share(lambda t: next(tag for tag in t["tags"].split(";") if tag.startswith("area_")))
    assert area["area_shipping"] > area["area_account"] + 0.1
    assert 0.15 < mean(is_failure(t) for t in tickets) < 0.4


def test_status_reply_and_handling_mix(medium) -> None:
    tickets = medium[0]
    status = Counter(t["status"] for t in tickets)
    assert status["solved"] + status["closed"] > 0.9 * len(tickets)
    assert all(status[s] > 0 for s in ("new", "open", "pending", "hold"))
    end = settings.END_AT
    recent = [t for t in tickets if at(t["created_at"]) > end - dt.timedelta(days=7)]
    older = [t for t in tickets if at(t["created_at"]) < end - dt.timedelta(days=60)]

    def unsolved(rows) -> float:
        return mean(not t["solved_at"] for t in rows)

    assert unsolved(recent) > 3 * unsolved(older)
    assert any(not t["first_reply_at"] for t in tickets)
    assert any(int(t["assignee_stations"]) > 1 or int(t["group_stations"]) > 1 for t in tickets)
    assert any(int(t["reopens"]) > 0 for t in tickets)
    assert set(Counter(t["csat"] for t in tickets)) == {"good", "bad", "offered", "unoffered", ""}
    compensated = [t for t in tickets if t["compensation"]]
    assert compensated and all(is_failure(t) for t in compensated)


def test_customers_keep_churning_until_the_end(medium) -> None:
    customers = medium[2]
    churned = [at(c["churned_at"]) for c in customers if c["churned_at"]]
    last_90_days = [c for c in churned if c > settings.END_AT - dt.timedelta(days=90)]
    assert 0.1 * MEDIUM < len(churned) < 0.6 * MEDIUM
    assert len(last_90_days) > 0.02 * MEDIUM
    assert {c["segment"] for c in customers} == set(settings.SEGMENTS)


def test_recovered_customers_score_higher_than_never_failed(medium) -> None:
    tickets, nps, _ = medium
    assert nps_gap(tickets, nps) > 0.3


def test_nps_effect_scales_the_recovery_bonus(tmp_path: Path) -> None:
    gaps = {}
    for effect in (0.0, 2.0):
        generate(
            tmp_path / str(effect), customers=MEDIUM, seed=7, fmt="canonical", nps_effect=effect
        )
        tickets, nps, _ = load(tmp_path / str(effect))
        gaps[effect] = nps_gap(tickets, nps)
    assert abs(gaps[0.0]) < 0.25
    assert gaps[2.0] > gaps[0.0] + 0.8


def group_at(failures: list[dict], t: dt.datetime) -> str:
    """The customer's recovery group at ``t`` (docs/metrics.md, Customer recovery groups),
    from their failure tickets."""
    failures = [f for f in failures if at(f["created_at"]) <= t]
    solved = [bool(f["solved_at"]) and at(f["solved_at"]) <= t for f in failures]
    if not failures:
        return "never_failed"
    if any(s and not is_recovered(f) for f, s in zip(failures, solved, strict=True)):
        return "unrecovered"
    return "recovered" if all(solved) else "in_recovery"


def test_unrecovered_customers_keep_fewer_customers(medium) -> None:
    tickets, _, customers = medium
    t0 = settings.END_AT - dt.timedelta(days=90)
    failures = defaultdict(list)
    for t in tickets:
        if is_failure(t):
            failures[t["customer_id"]].append(t)
    kept = defaultdict(list)
    for c in customers:
        churned = at(c["churned_at"])
        if at(c["signup_at"]) <= t0 and (churned is None or churned > t0):
            kept[group_at(failures[c["customer_id"]], t0)].append(churned is None)
    assert mean(kept["unrecovered"]) < mean(kept["never_failed"]) - 0.03
