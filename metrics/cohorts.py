"""compute_cohorts: the retention triangle of customer cohorts.

A cohort is the customers whose signup (``signup_month``) or first service failure
(``first_failure_month``) falls in one calendar month of the reporting time zone. Its cell
``k`` is the share of the cohort still a customer at the end of calendar month M + k (not
churned at or before that instant), shown once that month has ended by as_of. By first
failure, each cohort is split by the customers' recovery group at the end of the cohort
month. One query computes every cell.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from data_contracts.options import COHORT_KINDS
from data_contracts.recovery_rules import NEVER_FAILED
from data_contracts.times import isoformat_utc
from metrics.as_of import resolve_as_of
from metrics.facts import failed_customers, has_history, is_failure
from metrics.live import tickets
from metrics.params import MetricParams
from metrics.periods import local_date, local_midnight, shift
from warehouse.schema import customers

DEFAULT_COHORTS = 12


def _month_table(starts: list[dt.date], tz: str) -> sa.Values:
    columns = [
        sa.column("idx", sa.Integer()),
        sa.column("period_start", sa.Date()),
        sa.column("m_start", sa.DateTime()),
        sa.column("m_end", sa.DateTime()),
    ]
    rows = [
        (i, start, local_midnight(start, tz), local_midnight(shift(start, "month"), tz))
        for i, start in enumerate(starts)
    ]
    return sa.values(*columns, name="months").data(rows)


def compute_cohorts(
    engine: sa.Engine,
    params: MetricParams = MetricParams(),  # noqa: B008
    by: str = "signup_month",
    cohorts: int = DEFAULT_COHORTS,
) -> dict:
    """``{"as_of", "by", "timezone", "cohorts": [{"cohort": "YYYY-MM", "recovery_group",
    "customers", "months": [{"month": k, "retained": n, "share": n / customers}]}]}``: the
    last ``cohorts`` cohort months up to as_of's month, oldest first."""
    if by not in COHORT_KINDS:
        raise ValueError(f"cohorts by {' or '.join(COHORT_KINDS)}, not {by!r}")
    tz = params.reporting_timezone
    result: dict = {"as_of": None, "by": by, "timezone": tz, "cohorts": []}
    with engine.connect() as conn:
        as_of = resolve_as_of(conn, params)
        if as_of is None:
            return result
        result["as_of"] = isoformat_utc(as_of)
        last = local_date(as_of, tz).replace(day=1)
        starts = [shift(last, "month", -n) for n in range(cohorts - 1, -1, -1)]
        months = _month_table(starts, tz)
        c = customers.c
        if by == "signup_month":
            member_at = c.signup_at
            group = sa.literal(None, sa.String())
            source = customers
        else:
            t = tickets.c
            first = (
                sa.select(t.customer_id, sa.func.min(t.created_at).label("first_failure_at"))
                .where(is_failure(params.failure_tags), t.created_at <= as_of)
                .group_by(t.customer_id)
                .subquery("first_failures")
            )
            member_at = first.c.first_failure_at
            source = customers.join(first, first.c.customer_id == c.customer_id)
        members_query = (
            sa.select(c.customer_id, months.c.idx.label("cohort"), c.churned_at)
            .select_from(
                source.join(
                    months, sa.and_(member_at >= months.c.m_start, member_at < months.c.m_end)
                )
            )
            .where(member_at <= as_of)
        )
        if by == "first_failure_month":
            windows = sa.select(
                months.c.idx.label("w_id"),
                sa.func.least(months.c.m_end, sa.literal(as_of, sa.DateTime())).label("w_end"),
            ).subquery("cohort_ends")
            failed = failed_customers(windows, "w_end", params, history=has_history(conn))
            # A look-back shorter than the month can have let the first failure out by then.
            group = sa.func.coalesce(failed.c.recovery_group, NEVER_FAILED)
            members_query = members_query.add_columns(group.label("recovery_group")).outerjoin(
                failed,
                sa.and_(
                    failed.c.customer_id == c.customer_id,
                    failed.c.w_id == months.c.idx,
                ),
            )
        else:
            members_query = members_query.add_columns(group.label("recovery_group"))
        members = members_query.subquery("members")
        cell_rows = [
            (i, k, local_midnight(shift(start, "month", k + 1), tz))
            for i, start in enumerate(starts)
            for k in range(1, cohorts - i)
            if local_midnight(shift(start, "month", k + 1), tz) <= as_of
        ]
        m = members.c
        sizes = conn.execute(
            sa.select(m.cohort, m.recovery_group, sa.func.count())
            .group_by(m.cohort, m.recovery_group)
            .order_by(m.cohort, m.recovery_group)
        ).all()
        retained: dict[tuple, dict[int, int]] = {}
        if cell_rows:
            cells = sa.values(
                sa.column("cohort", sa.Integer()),
                sa.column("k", sa.Integer()),
                sa.column("cell_end", sa.DateTime()),
                name="cells",
            ).data(cell_rows)
            still = sa.or_(m.churned_at.is_(None), m.churned_at > cells.c.cell_end)
            counted = conn.execute(
                sa.select(
                    m.cohort,
                    m.recovery_group,
                    cells.c.k,
                    sa.func.sum(sa.case((still, 1), else_=0)),
                )
                .select_from(members.join(cells, cells.c.cohort == m.cohort))
                .group_by(m.cohort, m.recovery_group, cells.c.k)
            ).all()
            for cohort, group_name, k, n in counted:
                retained.setdefault((cohort, group_name), {})[k] = int(n)
    for cohort, group_name, size in sizes:
        cells_of = retained.get((cohort, group_name), {})
        result["cohorts"].append(
            {
                "cohort": f"{starts[cohort]:%Y-%m}",
                "recovery_group": group_name,
                "customers": int(size),
                "months": [
                    {"month": k, "retained": n, "share": n / size}
                    for k, n in sorted(cells_of.items())
                ],
            }
        )
    return result
