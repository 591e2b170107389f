"""Render a simulated Demo as files: canonical CSVs, or Zendesk + Delighted API exports.

Both renderings carry the same data, so reading either gives the same canonical rows: the
canonical group_name is the Zendesk group_id as text, named in groups.csv as the Zendesk
groups export names it, and every agent is named in agents.csv as in the Zendesk agent
users (names that depend on the agent's number alone, never on the seed); via.channel names
the channel as Zendesk does (settings.ZENDESK_VIA_CHANNEL); the first reply is created_at
plus whole calendar minutes; all times are whole seconds. The canonical tickets.csv has no
column for business-hours reply minutes; Zendesk's are Mon-Fri 09:00-17:00 UTC minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl

from data_contracts.contract import CONTRACTS
from data_contracts.times import ISO_Z
from etl.sources.zendesk.settings import COMPENSATION_FIELD_ID
from turnaround.generate import clock, settings
from turnaround.generate.model import Demo

# The canonical CSV columns the demo writes: its table's contract columns in their order,
# but those the demo leaves for the loader (or does not model).
NOT_WRITTEN = {
    "tickets": ("first_reply_business_minutes", "first_reply_bracket"),
    "nps_responses": ("updated_at",),
    "customers": ("updated_at",),
}
TICKET_COLUMNS, NPS_COLUMNS, CUSTOMER_COLUMNS = (
    [c.name for c in CONTRACTS[table].columns if c.name not in NOT_WRITTEN[table]]
    for table in ("tickets", "nps_responses", "customers")
)
METRIC_ID_OFFSET = 900_000_000_000
AGENT_DOMAIN = "turnaround-demo.example.com"  # the demo agents' emails
VIA_CHANNEL = settings.ZENDESK_VIA_CHANNEL


def iso(column: str) -> pl.Expr:
    """Unix seconds as ISO 8601 UTC text with ``Z``; null stays null."""
    return pl.from_epoch(column, time_unit="s").dt.strftime(ISO_Z).alias(column)


def _write_csv(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_csv(path, float_precision=2, line_terminator="\n")
    return path


def _canonical_customers(demo: Demo) -> pl.DataFrame:
    return demo.customers.select(CUSTOMER_COLUMNS).with_columns(iso("signup_at"), iso("churned_at"))


def write_customers(demo: Demo, out_dir: Path) -> Path:
    return _write_csv(_canonical_customers(demo), out_dir / "customers.csv")


def _canonical_tickets(tickets: pl.DataFrame) -> pl.DataFrame:
    return tickets.with_columns(
        *(iso(c) for c in ("created_at", "first_reply_at", "solved_at", "updated_at")),
        pl.col("tags").list.join(";"),
        pl.col("group_id").cast(pl.String).alias("group_name"),
        pl.col("assignee_id").cast(pl.String),
    ).select(TICKET_COLUMNS)


def ticket_versions(tickets: pl.DataFrame) -> pl.DataFrame:
    """Every ticket's final version, and for a ticket solved before it was rated or closed,
    the version it had when it was solved: status solved, its survey offered, not answered.
    So a customer whose ticket was rated bad after t0 was, at t0, recovered."""
    later = pl.col("solved_at").is_not_null() & (pl.col("updated_at") > pl.col("solved_at"))
    earlier = tickets.filter(later).with_columns(
        pl.lit("solved").alias("status"),
        pl.when(pl.col("csat").is_in(["good", "bad"]))
        .then(pl.lit("offered"))
        .otherwise(pl.col("csat"))
        .alias("csat"),
        pl.col("solved_at").alias("updated_at"),
    )
    return pl.concat([earlier, tickets]).sort("updated_at", "ticket_id")


def write_canonical_snapshots(demo: Demo, out_dir: Path) -> list[Path]:
    """As write_canonical, with the tickets as monthly snapshots: tickets_YYYY-MM.csv holds
    the versions updated in that month (ticket_versions), as incremental exports would."""
    versions = _canonical_tickets(ticket_versions(demo.tickets))
    month = pl.col("updated_at").str.slice(0, 7)
    written = []
    for (name,), part in versions.with_columns(month.alias("_month")).group_by(
        "_month", maintain_order=True
    ):
        written.append(_write_csv(part.drop("_month"), out_dir / f"tickets_{name}.csv"))
    nps = demo.responses.select(NPS_COLUMNS).with_columns(iso("responded_at"))
    return [
        *sorted(written),
        _write_csv(nps, out_dir / "nps.csv"),
        write_customers(demo, out_dir),
        *write_names(out_dir),
    ]


def write_canonical(demo: Demo, out_dir: Path) -> list[Path]:
    """tickets.csv, nps.csv and customers.csv with the headers of docs/contract.md (Canonical
    CSV)."""
    tickets = _canonical_tickets(demo.tickets)
    nps = demo.responses.select(NPS_COLUMNS).with_columns(iso("responded_at"))
    return [
        _write_csv(tickets, out_dir / "tickets.csv"),
        _write_csv(nps, out_dir / "nps.csv"),
        write_customers(demo, out_dir),
        *write_names(out_dir),
    ]


def agent_name(number: int) -> str:
    """The demo agent ``number``'s name: a first and a last name stepped through at rates
    whose cycles (32 and 28 names) meet only after 224 agents, so no two share one."""
    first, last = settings.FIRST_NAMES.split(), settings.LAST_NAMES.split()
    return f"{first[number * 5 % len(first)]} {last[(number * 3 + 7) % len(last)]}"


def _agents() -> pl.DataFrame:
    """Every demo agent (AGENTS_PER_GROUP in each group): id and name."""
    numbers = range(len(settings.GROUPS) * settings.AGENTS_PER_GROUP)
    return pl.DataFrame(
        {
            "agent_id": [settings.AGENT_ID_BASE + n for n in numbers],
            "name": [agent_name(n) for n in numbers],
        }
    )


def write_names(out_dir: Path) -> list[Path]:
    """The optional canonical groups.csv and agents.csv (docs/contract.md, Canonical CSV)."""
    groups = pl.DataFrame(
        {"group_id": list(settings.GROUPS.values()), "name": list(settings.GROUPS)}
    )
    return [
        _write_csv(groups, out_dir / "groups.csv"),
        _write_csv(_agents(), out_dir / "agents.csv"),
    ]


def _write_zendesk_names(out_dir: Path) -> list[Path]:
    """The Zendesk groups export (a ``GET /api/v2/groups.json`` page) and the agents, as the
    users export holds them (role ``agent``), in a file of their own beside the end-users."""
    since = dt.datetime.fromtimestamp(clock.START, dt.UTC).strftime(ISO_Z)
    groups = [
        {
            "url": f"{settings.ZENDESK_URL}/groups/{group_id}.json",
            "id": group_id,
            "name": name,
            "description": "",
            "default": group_id == next(iter(settings.GROUPS.values())),
            "deleted": False,
            "created_at": since,
            "updated_at": since,
        }
        for name, group_id in settings.GROUPS.items()
    ]
    page = out_dir / "zendesk_groups.json"
    page.write_text(
        json.dumps(
            {"groups": groups, "next_page": None, "previous_page": None, "count": len(groups)}
        )
        + "\n",
        encoding="utf-8",
    )
    agents = [
        {
            "url": f"{settings.ZENDESK_URL}/users/{r['agent_id']}.json",
            "id": r["agent_id"],
            "name": r["name"],
            "email": f"{r['name'].replace(' ', '.')}.{r['agent_id']}@{AGENT_DOMAIN}".lower(),
            "created_at": since,
            "updated_at": since,
            "role": "agent",
            "external_id": None,
            "active": True,
            "verified": True,
        }
        for r in _agents().iter_rows(named=True)
    ]
    return [page, _write_lines(agents, out_dir / "zendesk_agents.jsonl")]


def _write_lines(records, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, separators=(",", ":")))
            f.write("\n")
    return path


def _minutes_pair(calendar: int | None, business: int | None) -> dict:
    return {"calendar": calendar, "business": business}


def _money_text(column: str) -> pl.Expr:
    """Money as text with two decimals ("12.50"), as Zendesk returns decimal fields."""
    cents = (pl.col(column) * 100).round().cast(pl.Int64)
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


def _zendesk_rows(demo: Demo, tickets: pl.DataFrame | None = None) -> pl.DataFrame:
    t = demo.tickets if tickets is None else tickets
    solved = t["solved_at"].fill_null(0).to_numpy()
    created = t["created_at"].to_numpy()
    business = (clock.to_business(solved) - clock.to_business(created)) // clock.MINUTE
    unsolved = t["solved_at"].is_null()
    return t.with_columns(
        *(iso(c) for c in ("created_at", "first_reply_at", "solved_at", "updated_at")),
        resolution_calendar=pl.when(~unsolved).then(
            (pl.col("solved_at") - pl.col("created_at")) // 60
        ),
        resolution_business=pl.Series(business).set(unsolved, None),
        compensation_text=_money_text("compensation"),
    )


def _ticket_record(r: dict) -> dict:
    rating = None if r["csat"] is None else {"score": r["csat"]}
    return {
        "url": f"{settings.ZENDESK_URL}/tickets/{r['ticket_id']}.json",
        "id": r["ticket_id"],
        "external_id": None,
        "via": {
            "channel": VIA_CHANNEL[r["channel"]],
            "source": {"from": {}, "to": {}, "rel": None},
        },
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "type": r["type"],
        "subject": r["subject"],
        "raw_subject": r["subject"],
        "description": settings.DESCRIPTION.format(subject=r["subject"]),
        "priority": r["priority"],
        "status": r["status"],
        "requester_id": r["requester_id"],
        "submitter_id": r["requester_id"],
        "assignee_id": r["assignee_id"],
        "organization_id": None,
        "group_id": r["group_id"],
        "tags": r["tags"],
        "custom_fields": [{"id": COMPENSATION_FIELD_ID, "value": r["compensation_text"]}],
        "satisfaction_rating": rating,
    }


def _metric_record(r: dict) -> dict:
    return {
        "url": f"{settings.ZENDESK_URL}/ticket_metrics/{METRIC_ID_OFFSET + r['ticket_id']}.json",
        "id": METRIC_ID_OFFSET + r["ticket_id"],
        "ticket_id": r["ticket_id"],
        "created_at": r["created_at"],
        "updated_at": r["updated_at"],
        "group_stations": r["group_stations"],
        "assignee_stations": r["assignee_stations"],
        "reopens": r["reopens"],
        "replies": r["agent_replies"],
        "status_updated_at": r["updated_at"],
        "solved_at": r["solved_at"],
        "reply_time_in_minutes": _minutes_pair(
            r["reply_calendar_minutes"], r["reply_business_minutes"]
        ),
        "full_resolution_time_in_minutes": _minutes_pair(
            r["resolution_calendar"], r["resolution_business"]
        ),
    }


def _email(r: dict) -> str:
    return f"{r['first_name']}.{r['last_name']}.{r['customer_id'][1:]}@example.com".lower()


def _user_records(demo: Demo) -> list[dict]:
    requesters = demo.tickets["customer_id"].unique()
    users = demo.customers.filter(pl.col("customer_id").is_in(requesters.implode()))
    users = users.with_columns(iso("signup_at"))
    return [
        {
            "url": f"{settings.ZENDESK_URL}/users/{r['user_id']}.json",
            "id": r["user_id"],
            "name": f"{r['first_name']} {r['last_name']}",
            "email": _email(r),
            "created_at": r["signup_at"],
            "updated_at": r["signup_at"],
            "role": "end-user",
            "external_id": r["customer_id"],
            "active": True,
            "verified": True,
        }
        for r in users.iter_rows(named=True)
    ]


def _delighted_record(r: dict) -> dict:
    token = hashlib.blake2s(f"{r['response_id']}:{r['person_id']}".encode(), digest_size=8)
    return {
        "id": str(r["response_id"]),
        "person": str(r["person_id"]),
        "survey_type": "nps",
        "score": r["score"],
        "comment": r["comment"],
        "permalink": settings.DELIGHTED_PERMALINK.format(token=token.hexdigest()),
        "created_at": r["responded_at"],
        "updated_at": r["responded_at"],
        "person_properties": {"customer_id": r["customer_id"]},
        "notes": [],
        "tags": [],
        "additional_answers": [],
    }


def _write_delighted(demo: Demo, out_dir: Path) -> Path:
    responses = demo.responses.iter_rows(named=True)
    delighted = out_dir / "delighted_responses.json"
    with delighted.open("w", encoding="utf-8", newline="\n") as f:
        lines = (json.dumps(_delighted_record(r), separators=(",", ":")) for r in responses)
        f.write("[\n" + ",\n".join(lines) + "\n]\n")
    return delighted


def write_zendesk(demo: Demo, out_dir: Path) -> list[Path]:
    """Zendesk tickets, ticket metrics, users and agents (JSON Lines), groups (an API page),
    Delighted responses (a JSON array, one response per line) and the canonical
    customers.csv."""
    rows = list(_zendesk_rows(demo).iter_rows(named=True))
    return [
        _write_lines(map(_ticket_record, rows), out_dir / "zendesk_tickets.jsonl"),
        _write_lines(map(_metric_record, rows), out_dir / "zendesk_ticket_metrics.jsonl"),
        _write_lines(_user_records(demo), out_dir / "zendesk_users.jsonl"),
        *_write_zendesk_names(out_dir),
        _write_delighted(demo, out_dir),
        write_customers(demo, out_dir),
    ]


def write_zendesk_snapshots(demo: Demo, out_dir: Path) -> list[Path]:
    """As write_zendesk, with the tickets as monthly snapshots (zendesk_tickets_YYYY-MM.jsonl:
    the versions updated that month, as successive incremental exports hold them). Ticket
    metrics, newest only as Zendesk serves them, stay one file."""
    versions = _zendesk_rows(demo, ticket_versions(demo.tickets))
    month = pl.col("updated_at").str.slice(0, 7)
    written = []
    for (name,), part in versions.with_columns(month.alias("_month")).group_by(
        "_month", maintain_order=True
    ):
        path = out_dir / f"zendesk_tickets_{name}.jsonl"
        written.append(_write_lines(map(_ticket_record, part.iter_rows(named=True)), path))
    rows = list(_zendesk_rows(demo).iter_rows(named=True))
    return [
        *sorted(written),
        _write_lines(map(_metric_record, rows), out_dir / "zendesk_ticket_metrics.jsonl"),
        _write_lines(_user_records(demo), out_dir / "zendesk_users.jsonl"),
        *_write_zendesk_names(out_dir),
        _write_delighted(demo, out_dir),
        write_customers(demo, out_dir),
    ]
