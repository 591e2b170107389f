"""Merge staged files into the warehouse, inside the run's one transaction.

The steps, in order: count what each file read; merge source users (identities); merge the
canonical tables (newest version wins); map tickets to the customers their source users
are (this run's tickets, and earlier tickets whose user arrived only now); hold or apply
ticket metrics; write the quarantine, the contract results and the files' fingerprints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from data_contracts import CANONICAL_TABLES, CONTRACTS, SIDE_TABLES
from data_contracts.side_tables import FED_BY_METRICS
from data_contracts.text import storable
from data_contracts.times import utc_now
from etl.identity import redact_emails, redact_person_fields
from etl.pipeline import held_metrics, versions
from etl.pipeline.merge import DUPLICATE, INSERT, REPLACE, merge
from etl.pipeline.report import RunReport
from etl.pipeline.stage import StagedFile
from etl.pipeline.staging import StagedRows, Staging
from etl.pipeline.version_order import staged_ranking
from warehouse.schema import customer_identities, tables
from warehouse.schema import tickets as tickets_table

MERGE_OUTCOME = {INSERT: "rows_loaded", REPLACE: "rows_replaced", DUPLICATE: "rows_duplicates"}


# Merge order: source users first (tickets map to customers through them), then groups,
# agents and ratings, then the canonical tables, then held ticket metrics.
# (target, staged name, key)
MERGES = tuple(
    (declared.table, declared.frame, declared.key)
    for declared in (
        *(SIDE_TABLES[frame] for frame in ("identities", "groups", "agents", "ratings")),
        *(CONTRACTS[table] for table in CANONICAL_TABLES),
        SIDE_TABLES["ticket_metrics"],
    )
)


@dataclass
class TablePlan:
    """What the merge of one table takes from the staging database, worked out there
    before the write window opens."""

    target: str
    stats_table: str  # the table a file's counts are reported under
    key: tuple[str, ...]
    latest: StagedRows  # one row per key, the newest
    superseded: dict[str, int]  # source_file -> rows a newer row of the run replaced
    versions: StagedRows | None = None  # tickets: superseded versions for the history
    keep_when_null: tuple[str, ...] = ()
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan_merges(staging: Staging, staged: list[StagedFile]) -> list[TablePlan]:
    """Rank every staged table latest-per-key in the staging database, before the merge
    (etl/pipeline/version_order.py)."""
    plans = []
    for target, name, key in MERGES:
        if not staging.has(name):
            continue
        ranking = staged_ranking(tables[target], staging.columns(name))
        latest, superseded = staging.split_latest(name, key, ranking)
        wanted = {c.name for c in tables[target].columns} | {"row_number"}
        plan = TablePlan(
            target,
            name,
            key,
            staging.rows(latest, [c for c in staging.columns(latest) if c in wanted]),
            staging.count(superseded, by="source_file"),
        )
        if target == "tickets":
            # the ticket's metric values (metrics_updated_at last: it says whose they are)
            plan.keep_when_null = tuple(FED_BY_METRICS)
            plan.versions = staging.rows(
                superseded,
                [c for c in staging.columns(superseded) if c in versions.STAGED_COLUMNS],
                where="updated_at is not null",
                one_per=(*versions.KEY, "updated_at"),
                first_in=ranking,  # of a run's versions at one instant, the winner
            )
        if target in CONTRACTS:
            plan.absent = {s.path: s.absent[target] for s in staged if s.absent.get(target)}
        plans.append(plan)
    return plans


def apply_staged(
    conn: sa.Connection, report: RunReport, staged: list[StagedFile], plans: list[TablePlan]
) -> None:
    """Merge every staged file into the warehouse and account for every row read."""
    _count_reads(report, staged)
    for plan in plans:
        if plan.target != "held_ticket_metrics":
            _merge_counted(conn, report, plan)
    report.rows_remapped = map_tickets_to_customers(conn, report.batch_id)
    for plan in plans:
        if plan.target == "held_ticket_metrics":
            _hold_metrics(conn, report, plan)
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


def _hold_metrics(conn: sa.Connection, report: RunReport, plan: TablePlan) -> None:
    _count(report, plan, "rows_duplicates")
    counts = merge(conn, tables[plan.target], plan.key, plan.latest)
    for (source_file, action), n in counts.items():
        if action == DUPLICATE:
            _add(report, source_file, plan.stats_table, "rows_duplicates", n)


def _add(report: RunReport, source_file: str, table: str, column: str, n: int) -> None:
    entry = report.stats[(source_file, table)]
    setattr(entry, column, getattr(entry, column) + n)


def _count(report: RunReport, plan: TablePlan, column: str) -> None:
    for source_file, n in plan.superseded.items():
        _add(report, source_file, plan.stats_table, column, n)


def _merge_counted(conn: sa.Connection, report: RunReport, plan: TablePlan) -> None:
    _count(report, plan, "rows_duplicates")
    # Only rows without metrics of their own (metrics_updated_at null) keep the stored ones.
    own = "metrics_updated_at" if plan.keep_when_null else None
    counts = merge(
        conn,
        tables[plan.target],
        plan.key,
        plan.latest,
        plan.keep_when_null,
        own,
        plan.absent,
        history=plan.versions is not None,
    )
    if plan.versions is not None:
        versions.keep_batches(conn, plan.versions)
    for (source_file, action), n in counts.items():
        _add(report, source_file, plan.stats_table, MERGE_OUTCOME[action], n)


def _whose(customer_id: str | None) -> str | None:
    """The customer id a quarantined row keeps for ``forget``: never a raw address. An email
    id arrives hashed; an id with an ``@`` left is a cut-off address, which names nobody."""
    return None if customer_id is not None and "@" in customer_id else customer_id


def write_quarantine(conn: sa.Connection, batch_id: str, staged: list[StagedFile]) -> None:
    """Every rejected row, raw as read with the fields that name a person (as its reader
    declares them) and email addresses redacted, and its reason."""
    now = utc_now()
    rows = [
        {
            "batch_id": batch_id,
            "source_file": s.path,
            "target_table": r.table,
            "row_number": r.row_number,
            # escaped again: a contract check's reject is given its raw record afterwards
            "raw_row": storable(
                redact_emails(redact_person_fields(r.raw, s.person_fields, s.raw_columns))
            ),
            "reason": redact_emails(r.reason),
            "customer_id": _whose(r.customer_id),
            "quarantined_at": now,
        }
        for s in staged
        for r in s.rejected
    ]
    if rows:
        conn.execute(tables["quarantine"].insert(), rows)
