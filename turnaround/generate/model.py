"""The demo simulation: customers, their tickets, churn and NPS answers, from one seed.

Order of the steps: customers -> tickets over each customer's whole window -> recovery-state
timeline from the failure tickets -> churn drawn from that timeline -> tickets after churn
dropped (they never happened; the state before churn does not depend on them) -> survey
answers while the customer is still active.

The result is format-neutral: times as Unix seconds, Zendesk-style numeric ids beside the
canonical ids, so every writer renders the same data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from turnaround.generate import settings
from turnaround.generate.customers import (
    FIRST_NAMES,
    LAST_NAMES,
    PLAN_NAMES,
    REGION_NAMES,
    SEGMENT_NAMES,
    draw_customers,
)
from turnaround.generate.handling import (
    CSAT_NAMES,
    NONE,
    STATUS_NAMES,
    draw_handling,
    is_recovered_failure,
)
from turnaround.generate.recovery import STATE_NAMES, StateTimeline, build_timeline, draw_churn
from turnaround.generate.surveys import draw_responses
from turnaround.generate.tickets import (
    CHANNEL_NAMES,
    PRIORITY_NAMES,
    TYPE_NAMES,
    draw_ticket_subjects,
)


@dataclass
class Demo:
    """customers: one row per customer; tickets: one per ticket; responses: one per answer;
    timeline: the recovery states that drove churn and NPS (recovery.py)."""

    customers: pl.DataFrame
    tickets: pl.DataFrame
    responses: pl.DataFrame
    timeline: StateTimeline

    def groups_at(self, at: dt.datetime) -> pl.DataFrame:
        """customer_id and recovery_group at ``at`` of every customer active then (signed up
        at or before it, not churned at or before it): the state the generator gave them,
        the one the product's group rule reads from the written tickets."""
        t = int(at.timestamp())
        c = self.customers
        churned = c["churned_at"].fill_null(np.iinfo(np.int64).max)
        active = ((c["signup_at"] <= t) & (churned > t)).to_numpy()
        index = np.flatnonzero(active)
        state = self.timeline.state_at(index, np.full(len(index), t, dtype=np.int64))
        return pl.DataFrame(
            {
                "customer_id": c["customer_id"].gather(index),
                "recovery_group": np.asarray(STATE_NAMES, dtype=object)[state].astype(str),
            }
        )


def _names(names: list[str], index: np.ndarray) -> pl.Series:
    """Names for indices; the empty name becomes null."""
    return pl.Series(np.asarray(names, dtype=object)[index], dtype=pl.String).replace("", None)


def _nullable(values: np.ndarray) -> pl.Series:
    return pl.Series(values).replace(NONE, None)


def customer_ids(n: int) -> list[str]:
    return [f"C{i:06d}" for i in range(1, n + 1)]


def simulate(
    n_customers: int, seed: int, nps_effect: float = 1.0, retention_effect: float = 1.0
) -> Demo:
    # One random stream per step: retuning one step leaves the others' draws unchanged.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    customers = draw_customers(streams[0], n_customers)
    subjects = draw_ticket_subjects(streams[1], customers)
    handling = draw_handling(streams[2], subjects)

    failure = subjects.is_failure
    timeline = build_timeline(
        customers.active_from,
        subjects.customer[failure],
        subjects.created_at[failure],
        handling.solved_at[failure],
        is_recovered_failure(subjects, handling)[failure],
    )
    churned_at = draw_churn(streams[3], timeline, customers.churn_hazard, retention_effect)
    responses = draw_responses(streams[4], customers.signup_at, churned_at, timeline, nps_effect)

    leaves = np.where(churned_at >= 0, churned_at, np.iinfo(np.int64).max)
    kept = np.flatnonzero(subjects.created_at < leaves[subjects.customer])
    ids = np.asarray(customer_ids(n_customers), dtype=object)
    user_ids = settings.USER_ID_BASE + np.arange(n_customers)
    group_ids = np.asarray(list(settings.GROUPS.values()))
    c = subjects.customer[kept]
    h = {name: getattr(handling, name)[kept] for name in vars(handling)}

    tickets = pl.DataFrame(
        {
            "ticket_id": settings.FIRST_TICKET_ID + np.arange(len(kept)),
            "customer_id": pl.Series(ids[c], dtype=pl.String),
            "requester_id": user_ids[c],
            "created_at": subjects.created_at[kept],
            "first_reply_at": _nullable(h["first_reply_at"]),
            "solved_at": _nullable(h["solved_at"]),
            "status": _names(STATUS_NAMES, h["status"]),
            "channel": _names(CHANNEL_NAMES, subjects.channel[kept]),
            "type": _names(TYPE_NAMES, subjects.type[kept]),
            "priority": _names(PRIORITY_NAMES, subjects.priority[kept]),
            "tags": pl.Series([subjects.tags[i] for i in kept], dtype=pl.List(pl.String)),
            "group_id": group_ids[subjects.group[kept]],
            "assignee_id": pl.Series(settings.AGENT_ID_BASE + subjects.agent[kept]).set(
                pl.Series(~h["has_assignee"]), None
            ),
            "agent_replies": h["agent_replies"],
            "reopens": h["reopens"],
            "assignee_stations": h["assignee_stations"],
            "group_stations": subjects.group_stations[kept],
            "reply_calendar_minutes": _nullable(h["reply_calendar_minutes"]),
            "reply_business_minutes": _nullable(h["reply_business_minutes"]),
            "csat": _names(CSAT_NAMES, h["csat"]),
            "compensation": pl.Series(h["compensation"]).fill_nan(None),
            "updated_at": h["updated_at"],
            "subject": [subjects.subject[i] for i in kept],
        }
    )
    customers_frame = pl.DataFrame(
        {
            "customer_id": pl.Series(ids, dtype=pl.String),
            "signup_at": customers.signup_at,
            "churned_at": _nullable(churned_at),
            "segment": _names(SEGMENT_NAMES, customers.segment),
            "plan": _names(PLAN_NAMES, customers.plan),
            "region": _names(REGION_NAMES, customers.region),
            "mrr": customers.mrr,
            "user_id": user_ids,
            "first_name": _names(FIRST_NAMES, customers.first_name),
            "last_name": _names(LAST_NAMES, customers.last_name),
        }
    )
    responses_frame = pl.DataFrame(
        {
            "response_id": 1 + np.arange(len(responses.customer)),
            "customer_id": pl.Series(ids[responses.customer], dtype=pl.String),
            "person_id": settings.DELIGHTED_PERSON_BASE + responses.customer,
            "responded_at": responses.responded_at,
            "score": responses.score,
            "comment": pl.Series(responses.comment, dtype=pl.String),
        }
    )
    return Demo(customers_frame, tickets, responses_frame, timeline)
