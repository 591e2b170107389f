"""``turnaround forget CUSTOMER_ID|AGENT_ID|EMAIL``: erase one person everywhere, for a
data-protection request.

An email is turned into its customer id with the hash key (raw emails are never stored), so
the person is found the way every reader would have keyed them. Erased, in one transaction:
their tickets, NPS responses, customer row, source identities, and the quarantined rows that
were theirs; for an agent (an employee), their name and pseudonym (the tickets they handled
stay, with their id). The run is recorded in ``etl_runs`` with the counts and without the id. Then,
still under the writer lock, their records leave the raw pages pulls keep for replay
(``etl/sources/pull/erase.py``), and a DuckDB file is compacted, so the erased rows' bytes leave it
too (``warehouse/compact.py``).
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from data_contracts.contract import CANONICAL_TABLES
from data_contracts.side_tables import SIDE_TABLES
from data_contracts.times import utc_now
from etl.identity import (
    HashKeyError,
    email_customer_id,
    find_hash_key,
    looks_like_email,
    secrets_file,
)
from etl.pipeline import versions
from etl.pipeline.load import LoadOptions, hold_writer_lock, new_batch_id
from etl.pipeline.report import RunReport
from etl.pipeline.run_record import record_run
from etl.sources.pull.erase import PagesErased, Person, erase_in_pages
from warehouse.access import Warehouse, WarehouseError, WarehouseMissing
from warehouse.compact import Compaction
from warehouse.engine import driver_reason
from warehouse.schema import ensure_schema, meta_value, set_meta_value, tables

log = logging.getLogger("turnaround.forget")

# warehouse_meta: the run that erased rows from a DuckDB file that has not been compacted
# since (a forget with --no-compact, or one whose compaction failed); a later forget then
# compacts even when it erases nothing itself.
UNCOMPACTED = "erased_since_compaction"


@dataclass
class Erased:
    customer_ids: list[str]  # the person's ids (an email can stand for several)
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows erased
    pages: PagesErased | None = None  # the pull's kept pages, where they were searched
    compaction: Compaction | None = None  # of a DuckDB file, where it was asked for
    not_compacted: str | None = None  # why a DuckDB file was not compacted though asked for

    @property
    def found(self) -> bool:
        return any(self.counts.values()) or bool(self.pages and self.pages.records)


def customer_ids_for(conn: sa.Connection, who: str, options: LoadOptions) -> list[str]:
    """The customer ids ``who`` is stored under. An email becomes its keyed hash, made with the
    key this warehouse's ids were made with (never a new key): the id of a customer known
    only by that email, and the ids of every source user whose email it was (a Zendesk user
    with an external_id keeps the email's hash beside it)."""
    who = who.strip()
    if not looks_like_email(who):
        return [who]
    key = find_hash_key(options.secrets_file)
    if key is None:
        raise HashKeyError(
            "no email hash key is set (TURNAROUND_HASH_KEY, or the secrets file "
            f"{secrets_file(options.secrets_file)}), so an email cannot be matched; give the "
            "customer id instead"
        )
    stored = meta_value(conn, "hash_key_fingerprint")
    if stored is not None and stored != key.fingerprint:
        raise HashKeyError(
            f"the email hash key from {key.origin} is not the key this warehouse's customer ids "
            "were made with, so an email cannot be matched with it"
        )
    hashed = email_customer_id(who, key.value)
    ci = tables["customer_identities"]
    known = conn.execute(sa.select(ci.c.customer_id).where(ci.c.email_hash == hashed)).scalars()
    return sorted({hashed, *known})


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (escape char \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The tables whose rows are a customer's own: every canonical table, and every side table
# that carries a customer id.
CUSTOMER_TABLES: tuple[str, ...] = (
    *CANONICAL_TABLES,
    *(t.table for t in SIDE_TABLES.values() if any(c.name == "customer_id" for c in t.columns)),
)
# The tables whose rows are an employee's own (an agent's name), and the column naming them:
# every side table that declares one (``person`` in side_tables.yaml).
EMPLOYEE_TABLES: dict[str, str] = {t.table: t.person for t in SIDE_TABLES.values() if t.person}
PERSONAL_TABLES: tuple[str, ...] = (*CUSTOMER_TABLES, *EMPLOYEE_TABLES)


def agent_ids_for(conn: sa.Connection, who: str, customer_ids: list[str]) -> set[tuple]:
    """The (table, source, agent id) rows ``who`` is stored under as an employee: the id as
    given; for an email, its keyed hash (in ``customer_ids``: a canonical agent id that was an
    email) and the ids of the source users with that email."""
    ci = tables["customer_identities"]
    users = conn.execute(
        sa.select(ci.c.source, ci.c.user_id).where(
            sa.or_(ci.c.email_hash.in_(customer_ids), ci.c.customer_id.in_(customer_ids))
        )
    ).all()
    found: set[tuple] = set()
    for table, column in EMPLOYEE_TABLES.items():
        t = tables[table]
        wanted = [t.c[column].in_([who.strip(), *customer_ids])]
        wanted += [sa.and_(t.c.source == source, t.c[column] == user) for source, user in users]
        query = sa.select(t.c.source, t.c[column]).where(sa.or_(*wanted))
        found |= {(table, source, agent) for source, agent in conn.execute(query)}
    return found


def _names_user(q: sa.Table, table: str, key: str, user_id: str) -> sa.ColumnElement[bool]:
    """A quarantined Zendesk record of ``table`` whose ``key`` is exactly ``user_id``."""
    compact = sa.func.replace(q.c.raw_row, " ", "")
    return sa.and_(
        q.c.target_table == table,
        sa.or_(*[compact.like(_like(f'"{key}":{user_id}{end}'), escape="\\") for end in ",}"]),
    )


def _person(
    conn: sa.Connection, customer_ids: list[str], options: LoadOptions, agents: set[tuple]
) -> Person:
    """The person as the kept pull pages may name them: their ids, and the source records the
    warehouse has for them (read before they are erased); an agent by their Zendesk user id,
    so the user record with their name leaves the pages too."""
    ci, t, n = tables["customer_identities"], tables["tickets"], tables["nps_responses"]

    def ids(column, where) -> frozenset[str]:
        return frozenset(conn.execute(sa.select(column).where(where)).scalars())

    theirs = t.c.customer_id.in_(customer_ids)
    try:
        key = find_hash_key(options.secrets_file)
    except HashKeyError:  # the pages are then searched by ids alone, as the warehouse was
        key = None
    stored = meta_value(conn, "hash_key_fingerprint")
    return Person(
        customer_ids=frozenset(customer_ids),
        user_ids=ids(ci.c.user_id, ci.c.customer_id.in_(customer_ids))
        | {agent for _, source, agent in agents if source == "zendesk"},
        ticket_ids=ids(t.c.ticket_id, sa.and_(theirs, t.c.source == "zendesk")),
        response_ids=ids(
            n.c.response_id, sa.and_(n.c.customer_id.in_(customer_ids), n.c.source == "delighted")
        ),
        # the warehouse's own key only: another would find nobody's emails
        hash_key=key.value if key and stored in (None, key.fingerprint) else None,
    )


def _erase(
    conn: sa.Connection, customer_ids: list[str], user_ids: list[str], agents: set[tuple]
) -> dict[str, int]:
    q = tables["quarantine"]
    # The tickets' earlier versions first: they carry no customer id of their own.
    history = versions.forget_tickets(conn, tables["tickets"].c.customer_id.in_(customer_ids))
    counts = {
        name: conn.execute(
            tables[name].delete().where(tables[name].c.customer_id.in_(customer_ids))
        )
        for name in CUSTOMER_TABLES
    }
    # An agent's name: their tickets stay (the customers'), with the agent's id on them.
    for name, column in EMPLOYEE_TABLES.items():
        t = tables[name]
        theirs = [
            sa.and_(t.c.source == source, t.c[column] == agent)
            for table, source, agent in agents
            if table == name
        ]
        counts[name] = conn.execute(t.delete().where(sa.or_(sa.false(), *theirs)))
    # A quarantined row carries the customer it would have had, where its reader could tell;
    # a Zendesk record the reader could not convert names the person by their user id.
    named = [q.c.customer_id.in_([*customer_ids, *user_ids])]
    for user_id in user_ids:
        named += [
            _names_user(q, "identities", "id", user_id),
            _names_user(q, "agents", "id", user_id),
            _names_user(q, "tickets", "requester_id", user_id),
        ]
    counts["quarantine"] = conn.execute(q.delete().where(sa.or_(*named)))
    return {table: result.rowcount for table, result in counts.items()} | history


def forget(
    warehouse: Warehouse,
    who: str,
    options: LoadOptions,
    pages: Path | None = None,
    compact: bool = True,
) -> Erased:
    """Erase the person ``who`` (customer id or email) from the warehouse, and from the raw
    pages kept under ``pages`` (a pull's folder) where it is given; then, with ``compact``,
    rewrite a DuckDB file so their bytes leave it. A compaction that fails leaves the file as
    it was (the erasure done) and says why in ``Erased.compaction.problem``."""
    if not who.strip():
        raise ValueError("give the customer id or the email of the person to erase")
    if not warehouse.file_exists():
        raise WarehouseMissing(f"no warehouse at {warehouse.path}; nothing to erase")
    started = utc_now()
    report = RunReport(batch_id=new_batch_id(started), started_at=started)
    with ExitStack() as held:
        hold_writer_lock(held, warehouse, options, report)
        with warehouse.write(options.wait_seconds) as conn:
            ensure_schema(conn, warehouse.display)
            customer_ids = customer_ids_for(conn, who, options)
            agents = agent_ids_for(conn, who, customer_ids)
            person = _person(conn, customer_ids, options, agents)
            erased = Erased(
                customer_ids, _erase(conn, customer_ids, sorted(person.user_ids), agents)
            )
            owed = meta_value(conn, UNCOMPACTED) is not None  # an earlier --no-compact's
            if any(erased.counts.values()) and warehouse.path is not None:
                set_meta_value(conn, UNCOMPACTED, report.batch_id)
                owed = True
            report.status, report.ended_at = "erased", utc_now()
            listed = ", ".join(f"{n:,} {table}" for table, n in erased.counts.items() if n)
            report.message = f"erased one person on request: {listed or 'nothing found'}"
            record_run(conn, report)
        log.info("%s", report.message)
        if pages is not None:  # under the writer lock still: no pull loads pages meanwhile
            erased.pages = erase_in_pages(pages, person)
            log.info(
                "kept pull pages: %s rewritten without %s records of the person",
                f"{len(erased.pages.rewritten):,}",
                f"{erased.pages.records:,}",
            )
        if compact and warehouse.path is not None:
            if owed:
                erased.compaction = _compacted(warehouse, options)
            else:  # no deleted row's bytes to clear: the file is not copied for nothing
                erased.not_compacted = "nothing was erased from it"
    return erased


def _compacted(warehouse: Warehouse, options: LoadOptions) -> Compaction:
    size = warehouse.path.stat().st_size
    try:
        done = warehouse.compact(options.wait_seconds, leave_out_meta=(UNCOMPACTED,))
    except (WarehouseError, OSError, sa.exc.DBAPIError) as exc:
        reason = driver_reason(exc)
        log.warning("the warehouse file was not compacted: %s", reason)
        return Compaction(size, size, time.time(), problem=reason)
    log.info("compacted the warehouse file: %s to %s bytes", f"{size:,}", f"{done.bytes_after:,}")
    return done
