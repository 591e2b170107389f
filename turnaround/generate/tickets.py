"""Draw when customers raise tickets and what the tickets are about.

One row per ticket, ordered by creation time. Arrivals follow each customer's own rate over
their active window, thinned by the weekly rhythm (fewer at night and at weekends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts import recovery_rules as rules
from turnaround.generate import clock, settings
from turnaround.generate.customers import Customers, pick

CHANNEL_NAMES = list(settings.CHANNELS)
AREA_NAMES = list(settings.AREAS)
GROUP_NAMES = list(settings.GROUPS)
TYPE_NAMES = ["incident", "problem", "question", "task", ""]  # "" = no type
PRIORITY_NAMES = list(settings.PRIORITIES_OTHER)
_TIER1 = GROUP_NAMES.index("Tier 1")
_TIER2 = GROUP_NAMES.index("Tier 2")
_TECHNICAL = GROUP_NAMES.index("Technical")


@dataclass
class TicketSubjects:
    """What each ticket is about, as parallel arrays (one row per ticket)."""

    customer: np.ndarray  # customer index
    created_at: np.ndarray  # int64 Unix seconds
    channel: np.ndarray  # index into CHANNEL_NAMES
    area: np.ndarray  # index into AREA_NAMES
    is_failure: np.ndarray  # bool
    type: np.ndarray  # index into TYPE_NAMES
    priority: np.ndarray  # index into PRIORITY_NAMES
    tags: list[list[str]]
    subject: list[str]
    first_group: np.ndarray  # index into GROUP_NAMES
    group: np.ndarray  # final group
    group_stations: np.ndarray
    assignee_stations: np.ndarray
    agent: np.ndarray  # agent number (final assignee)


def _arrivals(rng: np.random.Generator, customers: Customers) -> tuple[np.ndarray, np.ndarray]:
    span = np.maximum(clock.END - customers.active_from, 0)
    counts = rng.poisson(customers.ticket_rate * span / clock.MEAN_ACCEPTANCE)
    owner = np.repeat(np.arange(len(customers)), counts)
    created = customers.active_from[owner] + (rng.random(len(owner)) * span[owner]).astype(np.int64)
    keep = rng.random(len(owner)) < clock.rhythm_weight(created)
    owner, created = owner[keep], created[keep]
    order = np.lexsort((owner, created))
    return owner[order], created[order]


def _draw_per_area(rng, area: np.ndarray, rows: np.ndarray, key: str) -> np.ndarray:
    """A tag index into AREAS[area][key] for each of ``rows``."""
    chosen = np.zeros(len(area), dtype=np.int64)
    for a, name in enumerate(AREA_NAMES):
        these = rows & (area == a)
        chosen[these] = rng.integers(0, len(settings.AREAS[name][key]), these.sum())
    return chosen


def _tags(area, failure_tag, other_tag, has_failure_tag, has_other_tag, is_vip) -> list:
    tags = []
    for a, f, o, hf, ho, vip in zip(
        area.tolist(),
        failure_tag.tolist(),
        other_tag.tolist(),
        has_failure_tag.tolist(),
        has_other_tag.tolist(),
        is_vip.tolist(),
        strict=True,
    ):
        spec = settings.AREAS[AREA_NAMES[a]]
        row = [f"area_{AREA_NAMES[a]}"]
        if hf:
            row.append(spec["failure_tags"][f])
        if ho:
            row.append(spec["other_tags"][o])
        if vip:
            row.append("vip")
        tags.append(sorted(row))
    return tags


def _routing(rng, channel, area, is_failure) -> tuple[np.ndarray, ...]:
    area_group = np.asarray([GROUP_NAMES.index(s["group"]) for s in settings.AREAS.values()])
    frontline = np.isin(channel, [CHANNEL_NAMES.index(c) for c in settings.FRONTLINE_CHANNELS])
    first_group = np.where(frontline, _TIER1, area_group[area])
    p_transfer = np.where(
        is_failure,
        settings.TRANSFER_TO_AREA_GROUP["failure"],
        settings.TRANSFER_TO_AREA_GROUP["other"],
    )
    transfer = (first_group == _TIER1) & (area_group[area] != _TIER1)
    transfer &= rng.random(len(area)) < p_transfer
    group = np.where(transfer, area_group[area], first_group)
    escalate = (group == _TECHNICAL) & is_failure
    escalate &= rng.random(len(area)) < settings.ESCALATE_TECHNICAL_FAILURE
    group = np.where(escalate, _TIER2, group)
    group_stations = 1 + transfer + escalate
    reassigned = rng.random(len(area)) < settings.REASSIGN_WITHIN_GROUP
    agent = group * settings.AGENTS_PER_GROUP + rng.integers(
        0, settings.AGENTS_PER_GROUP, len(area)
    )
    return first_group, group, group_stations, group_stations + reassigned, agent


def draw_ticket_subjects(rng: np.random.Generator, customers: Customers) -> TicketSubjects:
    customer, created = _arrivals(rng, customers)
    n = len(customer)
    channel = pick(rng, settings.CHANNELS, n)
    area = pick(rng, {k: v["share"] for k, v in settings.AREAS.items()}, n)
    area_failure = np.asarray([v["failure_rate"] for v in settings.AREAS.values()])
    channel_factor = np.asarray(list(settings.CHANNEL_FAILURE_FACTOR.values()))
    is_failure = rng.random(n) < area_failure[area] * channel_factor[channel]

    failure_type = np.asarray([TYPE_NAMES.index(t) for t in settings.FAILURE_TYPES])
    other_type = np.asarray([TYPE_NAMES.index(t) for t in settings.OTHER_TYPES])
    type_ = np.where(
        is_failure,
        failure_type[pick(rng, settings.FAILURE_TYPES, n)],
        other_type[pick(rng, settings.OTHER_TYPES, n)],
    )
    is_typed_failure = np.isin(type_, [TYPE_NAMES.index(name) for name in rules.FAILURE_TYPES])
    # A failure that is not an incident or problem is known by its failure tag.
    has_failure_tag = is_failure & (
        ~is_typed_failure | (rng.random(n) < settings.FAILURE_TAGGED_WHEN_TYPED)
    )
    has_other_tag = ~is_failure & (rng.random(n) < settings.OTHER_TAG_SHARE)
    is_vip = customers.segment[customer] == list(settings.SEGMENTS).index("enterprise")
    tags = _tags(
        area,
        _draw_per_area(rng, area, has_failure_tag, "failure_tags"),
        _draw_per_area(rng, area, has_other_tag, "other_tags"),
        has_failure_tag,
        has_other_tag,
        is_vip,
    )
    priority = np.where(
        is_failure,
        pick(rng, settings.PRIORITIES_FAILURE, n),
        pick(rng, settings.PRIORITIES_OTHER, n),
    )
    subject_pick = rng.integers(0, 3, n)
    subject = [
        settings.SUBJECTS[AREA_NAMES[a]][s]
        for a, s in zip(area.tolist(), subject_pick.tolist(), strict=True)
    ]
    first_group, group, group_stations, assignee_stations, agent = _routing(
        rng, channel, area, is_failure
    )
    return TicketSubjects(
        customer=customer,
        created_at=created,
        channel=channel,
        area=area,
        is_failure=is_failure,
        type=type_,
        priority=priority,
        tags=tags,
        subject=subject,
        first_group=first_group,
        group=group,
        group_stations=group_stations,
        assignee_stations=assignee_stations,
        agent=agent,
    )
