"""The demo generator: reproducible files, the canonical headers, and two formats that agree.

Both formats are parsed here with plain json/csv, independently of the ETL readers.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from etl.sources.zendesk.settings import COMPENSATION_FIELD_ID
from turnaround.generate import generate, settings

SMALL = 300
HEADERS = {
    "tickets.csv": "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,"
    "type,priority,tags,group_name,assignee_id,agent_replies,reopens,assignee_stations,"
    "group_stations,csat,compensation,updated_at",
    "nps.csv": "response_id,customer_id,responded_at,score,comment",
    "customers.csv": "customer_id,signup_at,churned_at,segment,plan,region,mrr",
}
# The optional names files: the same whatever the seed.
NAME_HEADERS = {"groups.csv": "group_id,name", "agents.csv": "agent_id,name"}
ZENDESK_FILES = [
    "zendesk_tickets.jsonl",
    "zendesk_ticket_metrics.jsonl",
    "zendesk_users.jsonl",
    "zendesk_groups.json",
    "zendesk_agents.jsonl",
    "delighted_responses.json",
    "customers.csv",
]


def parse_time(text: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("small")
    for fmt in ("canonical", "zendesk"):
        generate(root / fmt, customers=SMALL, seed=11, fmt=fmt)
    return {"canonical": root / "canonical", "zendesk": root / "zendesk"}


def test_file_sets_and_return_values(tmp_path: Path) -> None:
    canonical = generate(tmp_path / "c", customers=50, fmt="canonical")
    zendesk = generate(tmp_path / "z", customers=50, fmt="zendesk")
    assert sorted(p.name for p in canonical) == sorted({**HEADERS, **NAME_HEADERS})
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted({**HEADERS, **NAME_HEADERS})
    assert sorted(p.name for p in zendesk) == sorted(ZENDESK_FILES)
    assert all(p.is_file() for p in canonical + zendesk)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        generate(tmp_path, customers=10, fmt="xml")


@pytest.mark.parametrize("fmt", ["canonical", "zendesk"])
def test_same_seed_gives_identical_bytes(tmp_path: Path, fmt: str, small) -> None:
    again = generate(tmp_path, customers=SMALL, seed=11, fmt=fmt)
    for path in again:
        assert path.read_bytes() == (small[fmt] / path.name).read_bytes(), path.name


def test_different_seed_gives_different_data(tmp_path: Path, small) -> None:
    generate(tmp_path, customers=SMALL, seed=12, fmt="canonical")
    for name in HEADERS:
        assert (tmp_path / name).read_bytes() != (small["canonical"] / name).read_bytes()


def test_canonical_headers_are_the_contract(small) -> None:
    for name, header in {**HEADERS, **NAME_HEADERS}.items():
        first_line = (small["canonical"] / name).read_text(encoding="utf-8").split("\n")[0]
        assert first_line == header


def test_groups_and_agents_are_named_alike_in_both_formats(small) -> None:
    groups = {r["group_id"]: r["name"] for r in read_csv(small["canonical"] / "groups.csv")}
    page = json.loads((small["zendesk"] / "zendesk_groups.json").read_text())
    assert groups == {str(g["id"]): g["name"] for g in page["groups"]}
    assert groups == {str(i): name for name, i in settings.GROUPS.items()}  # its own teams
    agents = {r["agent_id"]: r["name"] for r in read_csv(small["canonical"] / "agents.csv")}
    users = read_jsonl(small["zendesk"] / "zendesk_agents.jsonl")
    assert all(u["role"] == "agent" for u in users)
    assert agents == {str(u["id"]): u["name"] for u in users}
    # every agent a ticket names, each with a name of their own: 5 groups of 8
    assert len(set(agents.values())) == len(agents) == 40
    tickets = read_csv(small["canonical"] / "tickets.csv")
    assert {t["assignee_id"] for t in tickets} - {""} <= set(agents)
    assert {t["group_name"] for t in tickets} <= set(groups)


def test_customers_csv_is_the_same_in_both_formats(small) -> None:
    canonical = (small["canonical"] / "customers.csv").read_bytes()
    assert canonical == (small["zendesk"] / "customers.csv").read_bytes()


def test_canonical_rows_keep_the_contract(small) -> None:
    tickets = read_csv(small["canonical"] / "tickets.csv")
    assert len({t["ticket_id"] for t in tickets}) == len(tickets) > SMALL
    for t in tickets:
        created = parse_time(t["created_at"])
        assert t["created_at"].endswith("Z")
        assert t["status"] in {"new", "open", "pending", "hold", "solved", "closed"}
        assert t["channel"] in {"email", "web", "chat", "voice", "social", "api"}
        assert t["type"] in {"", "question", "incident", "problem", "task"}
        assert t["priority"] in {"", "low", "normal", "high", "urgent"}
        assert t["csat"] in {"", "good", "bad", "offered", "unoffered"}
        assert any(tag.startswith("area_") for tag in t["tags"].split(";"))
        assert parse_time(t["updated_at"]) >= created
        if t["first_reply_at"]:
            assert (parse_time(t["first_reply_at"]) - created).total_seconds() % 60 == 0
        assert bool(t["solved_at"]) == (t["status"] in {"solved", "closed"})
        if t["solved_at"]:
            assert parse_time(t["solved_at"]) >= created
    for c in read_csv(small["canonical"] / "customers.csv"):
        if c["churned_at"]:
            assert parse_time(c["churned_at"]) >= parse_time(c["signup_at"])
        assert c["segment"] in {"smb", "mid_market", "enterprise"}
        assert c["plan"] in {"basic", "pro", "enterprise"}
        assert c["region"] in {"na", "emea", "apac", "latam"}
        assert float(c["mrr"]) > 0
    scores = [int(r["score"]) for r in read_csv(small["canonical"] / "nps.csv")]
    assert scores and all(0 <= s <= 10 for s in scores)


def _minutes_after(start: str, minutes: int | None) -> str:
    if minutes is None:
        return ""
    moment = parse_time(start) + dt.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_zendesk_tickets_match_canonical_tickets(small) -> None:
    canonical = {t["ticket_id"]: t for t in read_csv(small["canonical"] / "tickets.csv")}
    tickets = read_jsonl(small["zendesk"] / "zendesk_tickets.jsonl")
    metrics = {
        m["ticket_id"]: m for m in read_jsonl(small["zendesk"] / "zendesk_ticket_metrics.jsonl")
    }
    users = {u["id"]: u for u in read_jsonl(small["zendesk"] / "zendesk_users.jsonl")}
    assert len(tickets) == len(canonical) == len(metrics)
    assert all(u["role"] == "end-user" and isinstance(u["id"], int) for u in users.values())
    for z in tickets:
        c, m = canonical[str(z["id"])], metrics[z["id"]]
        [compensation] = [
            f["value"] for f in z["custom_fields"] if f["id"] == COMPENSATION_FIELD_ID
        ]
        rating = z["satisfaction_rating"]
        assert users[z["requester_id"]]["external_id"] == c["customer_id"]
        assert z["created_at"] == m["created_at"] == c["created_at"]
        assert z["updated_at"] == m["updated_at"] == c["updated_at"]
        assert (m["solved_at"] or "") == c["solved_at"]
        reply = m["reply_time_in_minutes"]
        assert _minutes_after(c["created_at"], reply["calendar"]) == c["first_reply_at"]
        assert (reply["business"] is None) == (reply["calendar"] is None)
        assert z["via"]["channel"] == settings.ZENDESK_VIA_CHANNEL[c["channel"]]
        assert (z["status"], z["type"] or "", z["priority"] or "") == (
            c["status"],
            c["type"],
            c["priority"],
        )
        assert ";".join(z["tags"]) == c["tags"]
        assert str(z["group_id"]) == c["group_name"]
        assert str(z["assignee_id"] or "") == c["assignee_id"]
        assert (rating["score"] if rating else "") == c["csat"]
        assert (float(compensation) if compensation else None) == (
            float(c["compensation"]) if c["compensation"] else None
        )
        assert [m[k] for k in ("replies", "reopens", "assignee_stations", "group_stations")] == [
            int(c[k]) for k in ("agent_replies", "reopens", "assignee_stations", "group_stations")
        ]


def test_delighted_responses_match_canonical_nps(small) -> None:
    canonical = read_csv(small["canonical"] / "nps.csv")
    delighted = json.loads((small["zendesk"] / "delighted_responses.json").read_text("utf-8"))
    assert len(delighted) == len(canonical) > 0
    for d, c in zip(delighted, canonical, strict=True):
        assert d["survey_type"] == "nps"
        assert isinstance(d["created_at"], int) and isinstance(d["person"], str)
        responded = dt.datetime.fromtimestamp(d["created_at"], dt.UTC)
        assert responded == parse_time(c["responded_at"])
        assert (d["id"], d["person_properties"]["customer_id"]) == (
            c["response_id"],
            c["customer_id"],
        )
        assert (d["score"], d["comment"] or "") == (int(c["score"]), c["comment"])
