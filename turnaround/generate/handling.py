"""Draw how each ticket was handled: first reply, resolution, reopens, CSAT, compensation.

Replies and resolutions run on the business clock. Everything that would happen after the
export moment has not happened yet: such tickets are exported unreplied or unsolved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts.recovery_rules import is_handoff, is_put_right
from turnaround.generate import clock, settings
from turnaround.generate.tickets import CHANNEL_NAMES, TicketSubjects

STATUS_NAMES = ["new", "open", "pending", "hold", "solved", "closed"]
CSAT_NAMES = ["good", "bad", "offered", "unoffered", ""]  # "" = no rating object
_UNSOLVED = np.asarray([STATUS_NAMES.index(s) for s in settings.UNSOLVED_STATUSES])
NONE = -1  # missing timestamp or count


@dataclass
class Handling:
    """One row per ticket, parallel to TicketSubjects; NONE where a value is null."""

    first_reply_at: np.ndarray
    reply_calendar_minutes: np.ndarray
    reply_business_minutes: np.ndarray
    solved_at: np.ndarray
    status: np.ndarray  # index into STATUS_NAMES
    agent_replies: np.ndarray
    reopens: np.ndarray
    assignee_stations: np.ndarray
    has_assignee: np.ndarray  # bool
    csat: np.ndarray  # index into CSAT_NAMES
    compensation: np.ndarray  # float, NaN when none
    updated_at: np.ndarray

    @property
    def is_solved(self) -> np.ndarray:
        return self.solved_at != NONE


def _lognormal_seconds(rng, median_sigma: np.ndarray, pick: np.ndarray) -> np.ndarray:
    median, sigma = median_sigma[pick, 0], median_sigma[pick, 1]
    return np.round(60 * median * rng.lognormal(0.0, sigma)).astype(np.int64)


def _first_reply(rng, t: TicketSubjects) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First reply moment, whole calendar minutes after creation, and business minutes."""
    spec = np.asarray(list(settings.CHANNEL_REPLY_BUSINESS_MINUTES.values()))
    raw = clock.add_business(t.created_at, _lognormal_seconds(rng, spec, t.channel))
    calendar = -(-(raw - t.created_at) // clock.MINUTE)  # rounded up to whole minutes
    reply_at = t.created_at + calendar * clock.MINUTE
    business = (clock.to_business(reply_at) - clock.to_business(t.created_at)) // clock.MINUTE
    return reply_at, calendar, business


def _csat(rng, t: TicketSubjects, is_solved, reopens, solve_seconds) -> np.ndarray:
    n = len(t.created_at)
    bad = settings.CSAT_BAD_IF
    p_bad = (
        settings.CSAT_BAD_BASE
        + bad["failure"] * t.is_failure
        + bad["reopened"] * (reopens > 0)
        # handed off between groups (a reassignment within one does not sour the rating)
        + bad["handoff"] * is_handoff(None, t.group_stations)
        + bad["slow"] * (solve_seconds > settings.SLOW_RESOLUTION_DAYS * clock.DAY)
    )
    offered = rng.random(n) < settings.CSAT_OFFERED
    answered = offered & (rng.random(n) < settings.CSAT_ANSWERED)
    rated = np.where(rng.random(n) < p_bad, CSAT_NAMES.index("bad"), CSAT_NAMES.index("good"))
    csat = np.where(answered, rated, CSAT_NAMES.index("offered"))
    csat = np.where(offered, csat, CSAT_NAMES.index("unoffered"))
    csat = np.where(is_solved, csat, CSAT_NAMES.index("unoffered"))
    return np.where(t.channel == CHANNEL_NAMES.index("api"), CSAT_NAMES.index(""), csat)


def _compensation(rng, t: TicketSubjects, is_solved) -> np.ndarray:
    median = np.asarray([a["compensation_median"] for a in settings.AREAS.values()])
    spread = rng.lognormal(0.0, settings.COMPENSATION_SIGMA, len(t.area))
    amount = np.round(median[t.area] * spread, 2)
    given = t.is_failure & is_solved & (rng.random(len(t.area)) < settings.COMPENSATION_SHARE)
    return np.where(given, amount, np.nan)


def draw_handling(rng: np.random.Generator, t: TicketSubjects) -> Handling:
    n = len(t.created_at)
    cls = t.is_failure.astype(np.int64)  # 0 = other, 1 = failure
    no_reply = rng.random(n) < settings.NO_REPLY_SHARE
    reply_at, calendar, business = _first_reply(rng, t)
    has_reply = ~no_reply & (reply_at <= clock.END)

    resolve = np.asarray(
        [settings.RESOLVE_BUSINESS_MINUTES["other"], settings.RESOLVE_BUSINESS_MINUTES["failure"]]
    )
    work = _lognormal_seconds(rng, resolve, cls)
    work = work * (1 + settings.TRANSFER_SLOWDOWN * (t.group_stations - 1))
    reopen_rate = np.where(
        t.is_failure, settings.REOPEN_RATE["failure"], settings.REOPEN_RATE["other"]
    )
    reopens = (rng.random(n) < reopen_rate) * (1 + (rng.random(n) < settings.REOPENED_TWICE))
    work = work + reopens * _lognormal_seconds(rng, resolve, cls)
    work = np.where(no_reply, work * settings.NO_REPLY_WORK_SHARE, work).astype(np.int64)
    solved_raw = clock.add_business(np.where(no_reply, t.created_at, reply_at), work)
    is_solved = (rng.random(n) >= settings.STUCK_SHARE) & (solved_raw <= clock.END)
    is_solved &= no_reply | has_reply
    reopens = np.where(is_solved, reopens, 0)
    solved_at = np.where(is_solved, solved_raw, NONE)

    is_closed = is_solved & (solved_raw + settings.CLOSE_AFTER_DAYS * clock.DAY <= clock.END)
    unsolved_status = _UNSOLVED[
        rng.choice(len(_UNSOLVED), n, p=list(settings.UNSOLVED_STATUSES.values()))
    ]
    status = np.where(has_reply, unsolved_status, STATUS_NAMES.index("new"))
    status = np.where(is_solved, STATUS_NAMES.index("solved"), status)
    status = np.where(is_closed, STATUS_NAMES.index("closed"), status)
    is_new = status == STATUS_NAMES.index("new")

    keep_going = np.where(
        t.is_failure,
        settings.EXTRA_REPLY_CONTINUE["failure"],
        settings.EXTRA_REPLY_CONTINUE["other"],
    )
    extra = rng.geometric(1 - keep_going) - 1
    replies = 1 + extra + reopens + (t.group_stations - 1)
    replies = np.where(has_reply, replies, 0)

    csat = _csat(rng, t, is_solved, reopens, solved_raw - t.created_at)
    rated = (csat == CSAT_NAMES.index("good")) | (csat == CSAT_NAMES.index("bad"))
    rating_delay = rng.exponential(settings.CSAT_DELAY_HOURS * 3600, n).astype(np.int64)
    last_open_touch = reply_at + (rng.random(n) * (clock.END - reply_at)).astype(np.int64)
    updated_at = np.where(
        is_closed,
        solved_raw + settings.CLOSE_AFTER_DAYS * clock.DAY,
        np.where(rated, np.minimum(solved_raw + rating_delay, clock.END), solved_raw),
    )
    updated_at = np.where(is_solved, updated_at, np.where(has_reply, last_open_touch, t.created_at))

    return Handling(
        first_reply_at=np.where(has_reply, reply_at, NONE),
        reply_calendar_minutes=np.where(has_reply, calendar, NONE),
        reply_business_minutes=np.where(has_reply, business, NONE),
        solved_at=solved_at,
        status=status,
        agent_replies=replies,
        reopens=reopens,
        assignee_stations=np.where(is_new, 0, t.assignee_stations),
        has_assignee=~is_new,
        csat=csat,
        compensation=_compensation(rng, t, is_solved),
        updated_at=updated_at,
    )


def is_recovered_failure(t: TicketSubjects, h: Handling) -> np.ndarray:
    """Failures solved without a reopen and without a bad CSAT (docs/metrics.md, Customer
    recovery groups): the 2026-11 definitions the demo was drawn with."""
    csat = np.asarray(CSAT_NAMES)[h.csat]
    return t.is_failure & h.is_solved & is_put_right(h.reopens, csat, "2026-11")
