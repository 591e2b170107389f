"""Every dimension a KPI can be sliced or filtered by, declared once, as data.

A dimension belongs to the ticket (channel, group, priority, ...) or to the customer
(segment, plan, region, ...). Ticket KPIs can be sliced by both kinds (a ticket's customer
is known); customer-level KPIs (retention, attrition, NPS, customer failure rate) only by
customer dimensions: under a ticket dimension they have no single value (a customer may
have tickets in several channels), so they are reported as null with a note saying why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement

from data_contracts import CONTRACTS
from data_contracts.recovery_rules import FAILURE_TYPES
from metrics.catalog import RECOVERY_GROUPS
from metrics.live import tickets
from metrics.params import MetricParams
from warehouse.dialect import (
    first_tag_with_prefix,
    has_any_tag,
    local_period_start,
    minutes_between,
)
from warehouse.schema import customers

Level = Literal["ticket", "customer"]
Kind = Literal["column", "failure_tag", "tag_prefix", "month", "tenure", "recovery"]

# Tenure bands: (label, days of tenure below which a customer is in the band).
TENURE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("under_3_months", 91),
    ("3_to_12_months", 365),
    ("1_to_2_years", 730),
    ("over_2_years", None),
)


@dataclass(frozen=True)
class Dimension:
    """One way to slice: its name on the command line and in JSON, and where it comes from."""

    name: str
    label: str
    level: Level
    kind: Kind
    description: str
    column: str | None = None
    # the closed set of values, where there is one (a ticket column's: its contract's)
    values: tuple[str, ...] | None = None
    # the side table (its frame) that names the dimension's ids for display (metrics/names.py)
    named_by: str | None = None


_DIMENSIONS = [
    Dimension(
        "channel",
        "Channel",
        "ticket",
        "column",
        "The channel the ticket came in by.",
        column="channel",
        values=CONTRACTS["tickets"].column("channel").allowed,
    ),
    Dimension(
        "group",
        "Group",
        "ticket",
        "column",
        "The ticket's group, by its id in the source (a canonical file's `group_name`); shown "
        "by the name the source's groups give it (Zendesk groups, `groups.csv`), looked up "
        "when the query runs, and by the id where no name is known.",
        column="group_name",
        named_by="groups",
    ),
    Dimension(
        "priority",
        "Priority",
        "ticket",
        "column",
        "The ticket's priority.",
        column="priority",
        values=CONTRACTS["tickets"].column("priority").allowed,
    ),
    Dimension(
        "type",
        "Type",
        "ticket",
        "column",
        "The ticket's type.",
        column="type",
        values=CONTRACTS["tickets"].column("type").allowed,
    ),
    Dimension(
        "failure_tag",
        "Failure tag",
        "ticket",
        "failure_tag",
        "The first configured failure tag (in the order of the setting) the ticket carries; "
        "a failure by type alone is `type:incident` or `type:problem`; null for a ticket "
        "that is no failure.",
    ),
    Dimension(
        "product_area",
        "Product area",
        "ticket",
        "tag_prefix",
        "The first ticket tag starting with the product-area prefix (default `area_`), "
        "without the prefix: `area_billing` is `billing`.",
    ),
    Dimension(
        "assignee",
        "Assignee",
        "ticket",
        "column",
        "The assignee's id in the source; shown by the agent's name (Zendesk agents, "
        "`agents.csv`), or pseudonym under `[privacy] pseudonymise_agents`, and by the id "
        "where no name is known.",
        column="assignee_id",
        named_by="agents",
    ),
    Dimension(
        "segment", "Segment", "customer", "column", "The customer's segment.", column="segment"
    ),
    Dimension("plan", "Plan", "customer", "column", "The customer's plan.", column="plan"),
    Dimension("region", "Region", "customer", "column", "The customer's region.", column="region"),
    Dimension(
        "signup_month",
        "Signup month",
        "customer",
        "month",
        "The calendar month (reporting time zone) the customer signed up in, as `YYYY-MM`.",
        column="signup_at",
    ),
    Dimension(
        "tenure_band",
        "Tenure",
        "customer",
        "tenure",
        "Time since signup at the fact's moment (a ticket's creation, an NPS response, a "
        "customer KPI's measuring point): under 3 months, 3 to 12 months, 1 to 2 years, "
        "over 2 years, cut at "
        + ", ".join(str(days) for _, days in TENURE_BANDS if days is not None)
        + " days.",
        values=tuple(label for label, _ in TENURE_BANDS),
    ),
    Dimension(
        "recovery_group",
        "Recovery group",
        "customer",
        "recovery",
        "The customer's recovery group: at as_of for tickets and NPS responses, at t0 for "
        "retention, 365 days before the measuring point for attrition, monthly attrition and "
        "failure rate.",
        values=RECOVERY_GROUPS,
    ),
]

DIMENSIONS: dict[str, Dimension] = {d.name: d for d in _DIMENSIONS}


@dataclass(frozen=True)
class Sources:
    """Where one fact set finds what dimensions are made of (None where it cannot)."""

    tickets: sa.FromClause | None
    customers: sa.FromClause | None
    recovery_group: ColumnElement | None
    at: ColumnElement  # the fact's moment, for tenure


def expression(dim: Dimension, src: Sources, params: MetricParams) -> ColumnElement:
    """The SQL value of ``dim`` for one fact row."""
    if dim.kind == "column":
        table = src.tickets if dim.level == "ticket" else src.customers
        return table.c[dim.column]
    if dim.kind == "failure_tag":
        t = src.tickets.c
        whens = [(has_any_tag(t.tags, [tag]), sa.literal(tag)) for tag in params.failure_tags]
        whens += [(t.type == kind, sa.literal(f"type:{kind}")) for kind in FAILURE_TYPES]
        return sa.case(*whens)
    if dim.kind == "tag_prefix":
        return first_tag_with_prefix(src.tickets.c.tags, params.product_area_prefix)
    if dim.kind == "month":
        return local_period_start(src.customers.c[dim.column], "month", params.reporting_timezone)
    if dim.kind == "tenure":
        days = minutes_between(src.customers.c.signup_at, src.at) / 1440.0
        whens = [(days < limit, label) for label, limit in TENURE_BANDS if limit is not None]
        return sa.case((days.is_(None), sa.null()), *whens, else_=TENURE_BANDS[-1][0])
    if dim.kind == "recovery":
        return src.recovery_group
    raise ValueError(f"unknown dimension kind {dim.kind!r}")


def shown(dim: Dimension, value: object) -> object:
    """A dimension value as the JSON and the tables show it."""
    if dim.kind == "month" and isinstance(value, dt.datetime | dt.date):
        return f"{value:%Y-%m}"
    return value


def stored(dim: Dimension, value: str) -> object:
    """A filter value as the warehouse compares it (``2024-05`` is that month's start)."""
    if dim.kind == "month":
        return dt.datetime.strptime(value, "%Y-%m")
    return value


def dimension_values(
    engine: sa.Engine,
    names: tuple[str, ...],
    params: MetricParams = MetricParams(),  # noqa: B008
) -> dict[str, list[str]]:
    """The values each dimension of ``names`` takes in the warehouse (the closed set where
    there is one), as ``--where`` takes them: what a filter's choices are."""
    t = tickets.c
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for name in names:
            dim = DIMENSIONS[name]
            if dim.values is not None:
                found[name] = list(dim.values)
                continue
            if dim.kind == "failure_tag":
                found[name] = [*params.failure_tags, *(f"type:{kind}" for kind in FAILURE_TYPES)]
                continue
            if dim.kind == "column":
                table = tickets if dim.level == "ticket" else customers
                value = table.c[dim.column]
                source: sa.FromClause = table
            elif dim.kind == "tag_prefix":
                value = first_tag_with_prefix(t.tags, params.product_area_prefix)
                source = tickets
            elif dim.kind == "month":
                value = local_period_start(
                    customers.c[dim.column], "month", params.reporting_timezone
                )
                source = customers
            else:
                raise ValueError(f"no values known for dimension {name!r}")
            inner = sa.select(value.label("v")).select_from(source).subquery("v")
            query = sa.select(inner.c.v).where(inner.c.v.is_not(None)).distinct()
            values = [shown(dim, v) for (v,) in conn.execute(query)]
            found[name] = sorted(str(v) for v in values)
    return found
