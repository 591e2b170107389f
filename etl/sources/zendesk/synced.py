"""Zendesk tables synced into a warehouse by Fivetran (or Airbyte): ``ticket``,
``ticket_comment``, ``ticket_field_history``, ``user``, ``group`` and, where synced,
``ticket_tag`` (``turnaround load --from-warehouse URL --schema zendesk``), or CSV dumps of
them in a folder (``ticket.csv``..., or dbt_zendesk's seed names ``ticket_data.csv``...).

Ticket metrics are computed from the comments and the field history as fivetran's
``dbt_zendesk`` package defines them (docs/sources.md lists where that differs from
Zendesk's own ticket_metrics):
- commenters are internal (role agent or admin) or external (end-user); a comment by a user
  the user table does not have is left out, as dbt_zendesk's inner join leaves it out;
- the first reply is the first public internal comment after the ticket's first public
  comment, or that first comment itself when it is an agent's and private comments came
  before it; the reply time runs from the ticket's creation;
- agent replies are the public internal comments other than the first public comment;
- each status change to solved is a resolution (closed ones where it was never solved);
  reopens are resolutions after the first; solved_at is the last, first resolution the
  first;
- assignee and group stations count the assignee and group values the ticket had.

The tickets, users, groups and computed metrics are written as Zendesk records (JSON Lines)
into a snapshot file that the Zendesk reader loads like any export: the same identities,
held metrics and newest-version rule as the API path. A nightly run reads only what was
synced since the last run (``_fivetran_synced``, or ``_airbyte_extracted_at``): every table's
newest sync time is kept in the warehouse with the run, and a ticket any of whose rows
synced since is read again whole, its comments and history included.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from data_contracts.times import parse_utc, to_naive_utc

SYNC_COLUMNS = ("_fivetran_synced", "_airbyte_extracted_at")
TABLES = ("ticket", "ticket_comment", "ticket_field_history", "user", "group", "ticket_tag")
REQUIRED_TABLES = ("ticket", "ticket_comment", "ticket_field_history", "user")
INTERNAL_ROLES = ("agent", "admin")
EXTERNAL_ROLES = ("end-user", "not set")
META_PREFIX = "synced:"


class SyncedSourceError(Exception):
    """The synced tables cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Snapshot:
    path: Path  # the Zendesk records written for the loader
    watermark_key: str  # warehouse_meta name of this source's sync times
    watermark: str  # JSON: table -> newest sync time read
    tickets: int
    records: int


def open_dumps(folder: Path) -> tuple[sa.Engine, str]:
    """An in-memory DuckDB with the folder's CSV dumps as tables of schema ``zendesk``."""
    engine = sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.StaticPool)
    found = []
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA zendesk")
        for table in TABLES:
            for name in (f"{table}.csv", f"{table}_data.csv"):
                path = folder / name
                if path.is_file():  # the table's name is one of TABLES; the path is bound
                    conn.execute(
                        sa.text(
                            f'CREATE TABLE zendesk."{table}" AS SELECT * FROM '
                            "read_csv(:path, header = true)"
                        ),
                        {"path": str(path)},
                    )
                    found.append(table)
                    break
    missing = [t for t in REQUIRED_TABLES if t not in found]
    if missing:
        listed = ", ".join(f"{t}.csv" for t in missing)
        raise SyncedSourceError(
            f"{folder}: has no {listed} (a folder of synced Zendesk table dumps holds "
            "ticket.csv, ticket_comment.csv, ticket_field_history.csv and user.csv, and may "
            "hold group.csv and ticket_tag.csv)"
        )
    return engine, "zendesk"


def snapshot(
    source: sa.Engine,
    schema: str,
    source_name: str,
    folder: Path,
    since: dict[str, str] | None,
) -> Snapshot:
    """Read what was synced since ``since`` (table -> sync time; None: everything) and write
    it as Zendesk records into ``folder``."""
    tables = _tables(source, schema)
    with source.connect() as conn:
        _utc_session(conn)
        sync = {t: _sync_column(tables[t]) for t in tables}
        newest = {
            t: conn.execute(sa.select(sa.func.max(tables[t].c[sync[t]]))).scalar()
            for t in tables
            if sync[t]
        }
        touched = _touched_tickets(tables, sync, since)
        ticket_rows = _rows(conn, tables["ticket"], tables["ticket"].c.id.in_(touched))
        ticket_ids = touched
        comments = _rows(
            conn, tables["ticket_comment"], tables["ticket_comment"].c.ticket_id.in_(ticket_ids)
        )
        history = _rows(
            conn,
            tables["ticket_field_history"],
            tables["ticket_field_history"].c.ticket_id.in_(ticket_ids),
        )
        tags = (
            _rows(conn, tables["ticket_tag"], tables["ticket_tag"].c.ticket_id.in_(ticket_ids))
            if "ticket_tag" in tables
            else []
        )
        users = _rows(conn, tables["user"], None)  # every commenter's role is needed
        groups = (
            _rows(conn, tables["group"], _since(tables["group"], sync.get("group"), since))
            if "group" in tables
            else []
        )
    changed_users = _changed(users, sync.get("user"), since)
    records = list(_records(ticket_rows, comments, history, tags, users, changed_users, groups))
    path = folder / "zendesk_synced.jsonl"
    with path.open("w", encoding="utf-8") as file:
        for stream, data in records:
            file.write(json.dumps({"stream": stream, "data": data}, default=str) + "\n")
    mark = {t: _iso(v) for t, v in newest.items() if v is not None}
    return Snapshot(
        path,
        META_PREFIX + source_name,
        json.dumps(mark, sort_keys=True),
        len(ticket_rows),
        len(records),
    )


def _utc_session(conn: sa.Connection) -> None:
    """Times compared and read in UTC: a sync column with a time zone (Airbyte's
    ``_airbyte_extracted_at`` is one) is compared with the naive UTC sync times kept."""
    statement = {"postgresql": "SET TIME ZONE 'UTC'", "duckdb": "SET TimeZone = 'UTC'"}
    sql = statement.get(conn.dialect.name)
    if sql is None:
        return
    try:
        conn.exec_driver_sql(sql)
    except sa.exc.SQLAlchemyError:  # DuckDB without its time zone extension has no such zone
        conn.rollback()


def _tables(source: sa.Engine, schema: str) -> dict[str, sa.TableClause]:
    """The synced tables of ``schema`` with their columns, read from the database itself
    (information_schema and the columns of an empty select: both PostgreSQL and DuckDB)."""
    try:
        with source.connect() as conn:
            present = set(
                conn.execute(
                    sa.text(
                        "select table_name from information_schema.tables "
                        "where table_schema = :schema"
                    ),
                    {"schema": schema},
                ).scalars()
            )
            missing = [t for t in REQUIRED_TABLES if t not in present]
            if missing:
                raise SyncedSourceError(
                    f"schema {schema!r} has no table(s) {', '.join(missing)} (Fivetran's "
                    "Zendesk connector syncs ticket, ticket_comment, ticket_field_history, "
                    "user and group)"
                )
            tables = {}
            for name in TABLES:
                if name not in present:
                    continue
                empty = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema))
                columns = conn.execute(empty.limit(0)).keys()
                tables[name] = sa.table(name, *(sa.column(c) for c in columns), schema=schema)
            return tables
    except sa.exc.SQLAlchemyError as exc:
        raise SyncedSourceError(f"cannot read schema {schema!r}: {exc}") from None


def _sync_column(table: sa.TableClause) -> str | None:
    return next((c for c in SYNC_COLUMNS if c in table.c), None)


def _since(table: sa.TableClause, column: str | None, since: dict[str, str] | None):
    if since is None or column is None or table.name not in since:
        return None
    return table.c[column] > _parse(since[table.name])


def _touched_tickets(tables, sync, since) -> sa.Select:
    """The ids of tickets any of whose rows synced since the last run (every ticket at first)."""
    ticket = tables["ticket"]
    own = _since(ticket, sync["ticket"], since)
    if own is None:  # the first run, or no sync times: every ticket
        return sa.select(ticket.c.id)
    parts = [sa.select(ticket.c.id.label("id")).where(own)]
    for name in ("ticket_comment", "ticket_field_history", "ticket_tag"):
        table = tables.get(name)
        condition = _since(table, sync.get(name), since) if table is not None else None
        if condition is not None:
            parts.append(sa.select(table.c.ticket_id.label("id")).where(condition))
    return sa.select(sa.union(*parts).subquery().c.id)


def _rows(conn, table: sa.TableClause, condition) -> list[dict]:
    query = sa.select(table)
    if condition is not None:
        query = query.where(condition)
    return [dict(row) for row in conn.execute(query).mappings()]


def _changed(rows: list[dict], column: str | None, since) -> list[dict]:
    if since is None or column is None or "user" not in since:
        return rows
    mark = _parse(since["user"])
    return [r for r in rows if r.get(column) is not None and _parse(r[column]) > mark]


def _parse(value) -> dt.datetime:
    return to_naive_utc(value) if isinstance(value, dt.datetime) else parse_utc(str(value))


def _iso(value) -> str | None:
    """A synced time as ISO 8601 UTC text (Fivetran writes UTC)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return _parse(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _id(value) -> str | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _is_true(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "t", "1")


# --- the metrics, as dbt_zendesk computes them -------------------------------------------


def comment_metrics(comments: list[dict], roles: dict[str, str]) -> dict[str, dict]:
    """Per ticket id: agent_replies, first_reply_at and last_comment_at (datetimes, or
    None)."""
    rows = []
    for c in comments:
        role = roles.get(_id(c.get("user_id")) or "")
        if role is None:  # a commenter the user table lacks: left out, as dbt's inner join
            continue
        kind = (
            "internal"
            if role in INTERNAL_ROLES
            else "external"
            if role in EXTERNAL_ROLES or role == ""
            else "unknown"
        )
        rows.append(
            {
                "ticket_id": _id(c["ticket_id"]),
                "at": _parse(c["created"]),
                "public": _is_true(c.get("public")),
                "kind": kind,
            }
        )
    by_ticket: dict[str, list[dict]] = {}
    for row in rows:
        by_ticket.setdefault(row["ticket_id"], []).append(row)
    found = {}
    for ticket_id, items in by_ticket.items():
        items.sort(key=lambda r: (r["at"], r["kind"]))
        public = [r for r in items if r["public"]]
        if not public:
            found[ticket_id] = {
                "agent_replies": 0,
                "first_reply_at": None,
                "last_comment_at": items[-1]["at"],
            }
            continue
        first = public[0]
        replies = sum(1 for r in public[1:] if r["kind"] == "internal")
        private_before = sum(1 for r in items if not r["public"] and r["at"] <= first["at"])
        if first["kind"] == "internal" and private_before > 0:
            reply_at = first["at"]
        else:
            later = [r["at"] for r in public if r["kind"] == "internal" and r["at"] > first["at"]]
            reply_at = min(later) if later else None
        found[ticket_id] = {
            "agent_replies": replies,
            "first_reply_at": reply_at,
            "last_comment_at": items[-1]["at"],
        }
    return found


def history_metrics(history: list[dict]) -> dict[str, dict]:
    """Per ticket id: solves (times), reopens, assignee and group stations, last csat."""
    by_ticket: dict[str, dict[str, list[tuple[dt.datetime, str | None]]]] = {}
    for h in history:
        ticket_id = _id(h["ticket_id"])
        field = str(h["field_name"])
        value = h.get("value")
        value = None if value is None or str(value).strip() in ("", "nan") else str(value).strip()
        by_ticket.setdefault(ticket_id, {}).setdefault(field, []).append(
            (_parse(h["updated"]), value)
        )
    found = {}
    for ticket_id, fields in by_ticket.items():
        statuses = sorted(fields.get("status", []), key=lambda item: item[0])
        solves = [at for at, value in statuses if value == "solved"]
        if not solves:  # Zendesk now and then closes a ticket it never marked solved
            solves = [at for at, value in statuses if value == "closed"]
        ratings = sorted(fields.get("satisfaction_score", []), key=lambda item: item[0])
        found[ticket_id] = {
            "first_solved_at": min(solves) if solves else None,
            "last_solved_at": max(solves) if solves else None,
            "reopens": max(len(solves) - 1, 0),
            "assignee_stations": sum(1 for _, v in fields.get("assignee_id", []) if v),
            "group_stations": sum(1 for _, v in fields.get("group_id", []) if v),
            "csat": ratings[-1][1] if ratings else None,
            "changed_at": max(at for values in fields.values() for at, _ in values),
        }
    return found


def _minutes(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    """Whole calendar minutes from start to end, as Zendesk's ticket_metrics give them."""
    if start is None or end is None:
        return None
    return math.floor((end - start).total_seconds() / 60)


def _records(tickets, comments, history, tags, users, changed_users, groups) -> Iterable:
    roles = {_id(u["id"]): (str(u.get("role") or "").strip().lower()) for u in users}
    by_comments = comment_metrics(comments, roles)
    by_history = history_metrics(history)
    tags_of: dict[str, list[str]] = {}
    for t in tags:
        tags_of.setdefault(_id(t["ticket_id"]), []).append(str(t["tag"]))
    for t in tickets:
        ticket_id = _id(t["id"])
        created = _parse(t["created_at"])
        updated = _parse(t["updated_at"]) if t.get("updated_at") is not None else created
        c = by_comments.get(ticket_id, {"agent_replies": 0, "first_reply_at": None})
        h = by_history.get(ticket_id, {})
        rating = h.get("csat")
        yield (
            "tickets",
            {
                "id": int(ticket_id) if ticket_id.isdigit() else ticket_id,
                "requester_id": _id(t.get("requester_id")),
                "assignee_id": _id(t.get("assignee_id")),
                "group_id": _id(t.get("group_id")),
                "status": t.get("status"),
                "type": t.get("type") or None,
                "priority": t.get("priority") or None,
                "via": {"channel": t.get("via_channel")},
                "tags": sorted(tags_of.get(ticket_id, [])),
                "created_at": _iso(created),
                "updated_at": _iso(updated),
                "satisfaction_rating": {"score": rating} if rating else None,
            },
        )
        changed = [updated, h.get("changed_at"), c.get("last_comment_at")]
        metric_time = max(v for v in changed if v is not None)
        yield (
            "ticket_metrics",
            {
                "id": ticket_id,
                "ticket_id": ticket_id,
                "replies": c["agent_replies"],
                "reopens": h.get("reopens", 0),
                "assignee_stations": h.get("assignee_stations", 0),
                "group_stations": h.get("group_stations", 0),
                "solved_at": _iso(h.get("last_solved_at")),
                "reply_time_in_minutes": {
                    "calendar": _minutes(created, c["first_reply_at"]),
                    "business": None,
                },
                "first_resolution_time_in_minutes": {
                    "calendar": _minutes(created, h.get("first_solved_at")),
                    "business": None,
                },
                "updated_at": _iso(metric_time),
            },
        )
    for u in changed_users:
        yield (
            "users",
            {
                "id": _id(u["id"]),
                "email": u.get("email") or None,
                "external_id": _id(u.get("external_id")),
                "role": u.get("role"),
            },
        )
    for g in groups:
        if _is_true(g.get("_fivetran_deleted")):
            continue
        yield (
            "groups",
            {"id": _id(g["id"]), "name": g.get("name"), "updated_at": _iso(g.get("updated_at"))},
        )
