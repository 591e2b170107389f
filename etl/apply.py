"""Merge staged files into the warehouse, inside the run's one transaction.

The steps, in order: count what each file read; merge source users (identities); merge the
canonical tables (newest version wins); map tickets to the customers their source users
are (this run's tickets, and earlier tickets whose user arrived only now); hold or apply
ticket metrics; write the quarantine, the contract results and the files' fingerprints.
"""

from __future__ import annotations

import sqlalchemy as sa

from etl import held_metrics, versions
from etl.identity import redact_emails
from etl.merge import DUPLICATE, INSERT, REPLACE, merge
from etl.report import RunReport, utc_now
from etl.stage import StagedFile
from etl.staging import Staging
from warehouse.schema import METRIC_COLUMNS, customer_identities, tables
from warehouse.schema import tickets as tickets_table

# Metric columns a ticket keeps when a newer version of it arrives without them.
TICKET_METRIC_COLUMNS = (
    *METRIC_COLUMNS,
    "first_reply_business_minutes",
    "first_resolution_minutes",
    "metrics_updated_at",
)
CANONICAL = {
    "tickets": ("source", "ticket_id"),
    "nps_responses": ("source", "response_id"),
    "customers": ("customer_id",),
}
IDENTITY_KEY = ("source", "user_id")
GROUP_KEY = ("source", "group_id")
METRICS_KEY = ("source", "ticket_id")
# table -> frame
FRAME_OF = {
    "customer_identities": "identities",
    "ticket_groups": "groups",
    "ticket_ratings": "ratings",
}
RATING_KEY = ("source", "rating_id")
MERGE_OUTCOME = {INSERT: "rows_loaded", REPLACE: "rows_replaced", DUPLICATE: "rows_duplicates"}


def apply_staged(
    conn: sa.Connection, report: RunReport, staged: list[StagedFile], staging: Staging
) -> None:
    """Merge every staged file into the warehouse and account for every row read."""
    _count_reads(report, staged)
    if staging.has("identities"):
        _merge_counted(conn, report, staging, "customer_identities", IDENTITY_KEY)
    if staging.has("groups"):
        _merge_counted(conn, report, staging, "ticket_groups", GROUP_KEY)
    if staging.has("ratings"):
        _merge_counted(conn, report, staging, "ticket_ratings", RATING_KEY)
    for table, key in CANONICAL.items():
        if staging.has(table):
            keep = TICKET_METRIC_COLUMNS if table == "tickets" else ()
            absent = {s.path: s.absent[table] for s in staged if s.absent.get(table)}
            _merge_counted(conn, report, staging, table, key, keep, absent)
    report.rows_remapped = map_tickets_to_customers(conn, report.batch_id)
    if staging.has("ticket_metrics"):
        _hold_metrics(conn, report, staging)
    # Every run applies held metrics: this run's, and earlier ones whose ticket just arrived.
    outcome = held_metrics.apply(conn, report.batch_id)
    for (source_file, column), n in outcome.per_file.items():
        _add(report, source_file, "ticket_metrics", column, n)
    report.rows_released += outcome.released
    write_quarantine(conn, report.batch_id, staged)
    report.checks = [check for s in staged for check in s.checks]
    if report.checks:
        conn.execute(tables["etl_run_checks"].insert(), report.check_rows())


def _count_reads(report: RunReport, staged: list[StagedFile]) -> None:
    for s in staged:
        for stream, count in s.skipped.items():
            entry = report.entry(s.path, stream, s.format)
            entry.rows_read += count
            entry.rows_skipped += count
        for table, count in s.read.items():
            report.entry(s.path, table, s.format).rows_read += count
        for rejected in s.rejected:
            report.entry(s.path, rejected.table, s.format).rows_quarantined += 1
        if not any(path == s.path for path, _ in report.stats):  # a header-only file
            for table in s.tables or {"(no rows)"}:
                report.entry(s.path, table, s.format)


def map_tickets_to_customers(conn: sa.Connection, batch_id: str) -> int:
    """Give every ticket the customer_id its source user maps to; return how many tickets of
    earlier runs changed (their user arrived, or changed, in this run)."""
    ci, t = customer_identities, tickets_table
    match = sa.and_(ci.c.source == t.c.source, ci.c.user_id == t.c.source_user_id)
    differs = sa.exists().where(match, ci.c.customer_id.is_distinct_from(t.c.customer_id))
    remapped = conn.execute(
        sa.select(sa.func.count()).select_from(t).where(differs, t.c.batch_id != batch_id)
    ).scalar()
    mapped = sa.select(ci.c.customer_id).where(match).scalar_subquery()
    conn.execute(t.update().where(differs).values(customer_id=mapped))
    return remapped


def _hold_metrics(conn: sa.Connection, report: RunReport, staging: Staging) -> None:
    latest, superseded = staging.split_latest("ticket_metrics", METRICS_KEY)
    _count(report, staging, superseded, "ticket_metrics", "rows_duplicates")
    target = tables["held_ticket_metrics"]
    rows = staging.batches(latest, _wanted(target, staging, latest))
    counts = merge(conn, target, METRICS_KEY, rows)
    for (source_file, action), n in counts.items():
        if action == DUPLICATE:
            _add(report, source_file, "ticket_metrics", "rows_duplicates", n)


def _wanted(target: sa.Table, staging: Staging, name: str) -> list[str]:
    """The staged columns a merge into ``target`` takes."""
    names = {c.name for c in target.columns} | {"row_number"}
    return [c for c in staging.columns(name) if c in names]


def _add(report: RunReport, source_file: str, table: str, column: str, n: int) -> None:
    entry = report.stats[(source_file, table)]
    setattr(entry, column, getattr(entry, column) + n)


def _count(report: RunReport, staging: Staging, name: str, table: str, column: str) -> None:
    for source_file, n in staging.count(name, by="source_file").items():
        _add(report, source_file, table, column, n)


def _merge_counted(
    conn: sa.Connection,
    report: RunReport,
    staging: Staging,
    target: str,
    key: tuple[str, ...],
    keep_when_null: tuple[str, ...] = (),
    absent: dict[str, tuple[str, ...]] | None = None,
) -> None:
    stats_table = FRAME_OF.get(target, target)
    latest, superseded = staging.split_latest(stats_table, key)
    _count(report, staging, superseded, stats_table, "rows_duplicates")
    # Only rows without metrics of their own (metrics_updated_at null) keep the stored ones.
    own = "metrics_updated_at" if keep_when_null else None
    history = target == "tickets"
    counts = merge(
        conn,
        tables[target],
        key,
        staging.batches(latest, _wanted(tables[target], staging, latest)),
        keep_when_null,
        own,
        absent or {},
        history,
    )
    if history:
        versions.keep_batches(
            conn,
            staging.batches(
                superseded,
                [c for c in staging.columns(superseded) if c in versions.STAGED_COLUMNS],
                where="updated_at is not null",
                one_per=(*versions.KEY, "updated_at"),
            ),
        )
    for (source_file, action), n in counts.items():
        _add(report, source_file, stats_table, MERGE_OUTCOME[action], n)


def _whose(customer_id: str | None) -> str | None:
    """The customer id a quarantined row keeps for ``forget``: never a raw address. An email
    id arrives hashed; an id with an ``@`` left is a cut-off address, which names nobody."""
    return None if customer_id is not None and "@" in customer_id else customer_id


def write_quarantine(conn: sa.Connection, batch_id: str, staged: list[StagedFile]) -> None:
    """Every rejected row, raw as read and with email addresses redacted, and its reason."""
    now = utc_now()
    rows = [
        {
            "batch_id": batch_id,
            "source_file": s.path,
            "target_table": r.table,
            "row_number": r.row_number,
            "raw_row": redact_emails(r.raw),
            "reason": redact_emails(r.reason),
            "customer_id": _whose(r.customer_id),
            "quarantined_at": now,
        }
        for s in staged
        for r in s.rejected
    ]
    if rows:
        conn.execute(tables["quarantine"].insert(), rows)
