"""``turnaround forget CUSTOMER_ID|EMAIL``: erase one person everywhere, for a data-protection
request.

An email is turned into its customer id with the hash key (raw emails are never stored), so
the person is found the way every reader would have keyed them. Erased, in one transaction:
their tickets, NPS responses, customer row, source
identities, quarantined rows that name them, and example reasons that quote them. The run
is recorded in ``etl_runs`` with the counts and without the id.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field

import sqlalchemy as sa

from etl.identity import email_customer_id, load_hash_key, looks_like_email
from etl.load import LoadOptions, hold_writer_lock, new_batch_id, record_run
from etl.report import RunReport, utc_now
from warehouse.access import Warehouse, WarehouseMissing
from warehouse.schema import ensure_schema, tables

log = logging.getLogger("turnaround.forget")


@dataclass
class Erased:
    customer_id: str
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows erased

    @property
    def found(self) -> bool:
        return any(self.counts.values())


def customer_id_for(who: str, options: LoadOptions) -> str:
    """The customer id ``who`` is stored under: an email becomes its keyed hash."""
    who = who.strip()
    if looks_like_email(who):
        return email_customer_id(who, load_hash_key(options.secrets_file).value)
    return who


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (escape char \\)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _erase(conn: sa.Connection, customer_id: str) -> dict[str, int]:
    ci, q, checks = tables["customer_identities"], tables["quarantine"], tables["etl_run_checks"]
    user_ids = conn.execute(sa.select(ci.c.user_id).where(ci.c.customer_id == customer_id))
    user_ids = list(user_ids.scalars())
    counts = {
        name: conn.execute(tables[name].delete().where(tables[name].c.customer_id == customer_id))
        for name in ("tickets", "nps_responses", "customers", "customer_identities")
    }
    # Quarantined rows keep the raw record: the customer id, or the person's source user id
    # as a Zendesk requester, can be in it (emails never are: they are redacted).
    named = [
        q.c.customer_id.in_([customer_id, *user_ids]),
        q.c.raw_row.like(_like(customer_id), escape="\\"),
    ]
    for user_id in user_ids:
        for key in ("requester_id", "submitter_id", "id"):
            for end in (",", "}"):
                named.append(
                    sa.func.replace(q.c.raw_row, " ", "").like(
                        _like(f'"{key}":{user_id}{end}'), escape="\\"
                    )
                )
    counts["quarantine"] = conn.execute(q.delete().where(sa.or_(*named)))
    counts["etl_run_checks"] = conn.execute(
        checks.update()
        .where(checks.c.example_reason.like(_like(customer_id), escape="\\"))
        .values(example_reason=None)
    )
    return {table: result.rowcount for table, result in counts.items()}


def forget(warehouse: Warehouse, who: str, options: LoadOptions) -> Erased:
    """Erase the person ``who`` (customer id or email) from the warehouse."""
    if not warehouse.file_exists():
        raise WarehouseMissing(f"no warehouse at {warehouse.path}; nothing to erase")
    customer_id = customer_id_for(who, options)
    started = utc_now()
    report = RunReport(batch_id=new_batch_id(started), started_at=started)
    with ExitStack() as held:
        hold_writer_lock(held, warehouse, options, report)
        with warehouse.write(options.wait_seconds) as conn:
            ensure_schema(conn, warehouse.display)
            erased = Erased(customer_id, _erase(conn, customer_id))
            report.status, report.ended_at = "erased", utc_now()
            listed = ", ".join(f"{n:,} {table}" for table, n in erased.counts.items() if n)
            report.message = f"erased one person on request: {listed or 'nothing found'}"
            record_run(conn, report)
    log.info("%s", report.message)
    return erased
