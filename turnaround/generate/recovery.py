"""Each customer's recovery state over time, and churn driven by it.

The state follows docs/metrics.md ("Customer recovery groups"): it changes only when a
failure ticket is created or solved. Churn is a piecewise-constant hazard: the customer's
base rate times the ratio for the state they are in, so a bad experience raises the chance
of leaving from that moment on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts import recovery_rules as rules
from turnaround.generate import clock, settings

STATE_NAMES = [rules.NEVER_FAILED, rules.IN_RECOVERY, rules.RECOVERED, rules.UNRECOVERED]
NEVER_FAILED, IN_RECOVERY, RECOVERED, UNRECOVERED = range(4)


@dataclass
class StateTimeline:
    """Recovery-state changes, sorted by (customer, at); each customer starts with a row."""

    customer: np.ndarray
    at: np.ndarray  # the state holds from here to the customer's next row
    state: np.ndarray  # index into STATE_NAMES

    def state_at(self, customer: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The state of each ``customer`` at moment ``t`` (events at ``t`` count)."""
        keys = (self.customer << 32) | self.at
        row = np.searchsorted(keys, (customer << 32) | t, side="right") - 1
        return self.state[row]


def build_timeline(
    active_from: np.ndarray,
    customer: np.ndarray,
    created_at: np.ndarray,
    solved_at: np.ndarray,
    is_recovered: np.ndarray,
) -> StateTimeline:
    """The timeline from failure tickets (solved_at < 0 while unsolved)."""
    solved = solved_at >= 0
    n = len(active_from)
    ev_customer = np.concatenate([np.arange(n), customer, customer[solved]])
    ev_at = np.concatenate([active_from, created_at, solved_at[solved]])
    d_open = np.concatenate(
        [np.zeros(n, np.int64), np.ones(len(customer), np.int64), -np.ones(solved.sum(), np.int64)]
    )
    d_failed = np.concatenate(
        [np.zeros(n, np.int64), np.ones(len(customer), np.int64), np.zeros(solved.sum(), np.int64)]
    )
    d_bad = np.concatenate(
        [np.zeros(n + len(customer), np.int64), (~is_recovered[solved]).astype(np.int64)]
    )
    kind = np.concatenate([np.zeros(n), np.ones(len(customer) + solved.sum())])
    order = np.lexsort((kind, ev_at, ev_customer))
    ev_customer, ev_at = ev_customer[order], ev_at[order]
    # Running totals per customer: each customer's first row (kind 0) carries zero change.
    totals = [np.cumsum(d[order]) for d in (d_open, d_failed, d_bad)]
    first = np.maximum.accumulate(np.where(kind[order] == 0, np.arange(len(order)), 0))
    n_open, n_failed, n_bad = (c - c[first] for c in totals)
    # The recovery-group rule: the first state of its precedence any failure is in.
    any_in = {rules.UNRECOVERED: n_bad > 0, rules.IN_RECOVERY: n_open > 0}
    state = np.select(
        [n_failed == 0, *(any_in[name] for name in rules.GROUP_PRECEDENCE)],
        [NEVER_FAILED, *(STATE_NAMES.index(name) for name in rules.GROUP_PRECEDENCE)],
        RECOVERED,
    )
    return StateTimeline(customer=ev_customer, at=ev_at, state=state)


def hazard_ratios(retention_effect: float) -> np.ndarray:
    ratio = dict(settings.CHURN_HAZARD_RATIO)
    ratio[rules.RECOVERED] = settings.RECOVERED_CHURN_HAZARD_RATIO**retention_effect
    return np.asarray([ratio[name] for name in STATE_NAMES])


def draw_churn(
    rng: np.random.Generator,
    timeline: StateTimeline,
    base_hazard: np.ndarray,
    retention_effect: float,
) -> np.ndarray:
    """Churn moment per customer (Unix seconds), or -1 for customers still active at the end."""
    n = len(base_hazard)
    c = timeline.customer
    is_last = np.append(c[1:] != c[:-1], True)
    seg_end = np.where(is_last, clock.END, np.append(timeline.at[1:], clock.END))
    rate = base_hazard[c] * hazard_ratios(retention_effect)[timeline.state]
    cum = np.cumsum(rate * (seg_end - timeline.at))
    is_first = np.append(True, c[1:] != c[:-1])
    before_customer = np.maximum.accumulate(
        np.where(is_first, cum - rate * (seg_end - timeline.at), 0.0)
    )
    within_end = cum - before_customer
    within_start = within_end - rate * (seg_end - timeline.at)
    need = rng.exponential(1.0, n)  # cumulative hazard at which each customer leaves
    crossing = np.flatnonzero(within_end > need[c])
    who, first_crossing = np.unique(c[crossing], return_index=True)
    row = crossing[first_crossing]
    churned_at = np.full(n, -1, dtype=np.int64)
    churned_at[who] = timeline.at[row] + ((need[who] - within_start[row]) / rate[row]).astype(
        np.int64
    )
    churned_at[who] = np.clip(churned_at[who], timeline.at[row], seg_end[row])
    return churned_at
