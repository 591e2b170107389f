"""Each customer's recovery state over time, and churn driven by it.

The state is the product's recovery group (data_contracts.recovery_rules; docs/metrics.md,
"Customer recovery groups") at every moment t: over the failure tickets created in the
look-back (t - LOOKBACK_DAYS, t], with a solved failure recovered when it was never reopened
(the current definitions: CSAT is not part of it). It changes only when a failure is created,
solved, or leaves the look-back LOOKBACK_DAYS after its creation. Churn is a piecewise-constant
hazard: the customer's base rate times the ratio for the state they are in, so a bad
experience raises the chance of leaving from that moment on, and stops raising it once the
failure has left the look-back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts import recovery_rules as rules
from turnaround.generate import clock, settings

STATE_NAMES = [rules.NEVER_FAILED, rules.IN_RECOVERY, rules.RECOVERED, rules.UNRECOVERED]
NEVER_FAILED, IN_RECOVERY, RECOVERED, UNRECOVERED = range(4)
LOOKBACK = rules.LOOKBACK_DAYS * clock.DAY


@dataclass
class StateTimeline:
    """Recovery-state changes, sorted by (customer, at); each customer starts with a row."""

    customer: np.ndarray
    at: np.ndarray  # the state holds from here to the customer's next row
    state: np.ndarray  # index into STATE_NAMES

    def state_at(self, customer: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The state of each ``customer`` at moment ``t`` (events at ``t`` count; a moment
        before the customer's first row reads as never failed)."""
        keys = (self.customer << 32) | self.at
        row = np.searchsorted(keys, (customer << 32) | t, side="right") - 1
        before = (row < 0) | (self.customer[np.maximum(row, 0)] != customer)
        return np.where(before, NEVER_FAILED, self.state[np.maximum(row, 0)])


def build_timeline(
    active_from: np.ndarray,
    customer: np.ndarray,
    created_at: np.ndarray,
    solved_at: np.ndarray,
    is_recovered: np.ndarray,
) -> StateTimeline:
    """The timeline from failure tickets (solved_at < 0 while unsolved; ``is_recovered``
    judged on the solved ones). Each failure counts from its creation until it leaves the
    look-back (its "exit", created_at + LOOKBACK_DAYS); a solve at or after the exit never
    counts. Events after the export moment are left out."""
    n, m = len(active_from), len(customer)
    exit_at = created_at + LOOKBACK
    solved = (solved_at >= 0) & (solved_at < exit_at)
    exits = exit_at <= clock.END
    bad = (~is_recovered).astype(np.int64)
    zeros, ones = np.zeros(n, np.int64), np.ones(m, np.int64)
    # Four kinds of event: each customer's first row, creations, solves, exits.
    ev_customer = np.concatenate([np.arange(n), customer, customer[solved], customer[exits]])
    ev_at = np.concatenate([active_from, created_at, solved_at[solved], exit_at[exits]])
    d_open = np.concatenate([zeros, ones, -ones[solved], -(~solved[exits]).astype(np.int64)])
    d_failed = np.concatenate([zeros, ones, 0 * ones[solved], -ones[exits]])
    d_bad = np.concatenate([zeros, 0 * ones, bad[solved], -(bad * solved)[exits]])
    kind = np.concatenate([np.zeros(n), np.ones(len(ev_at) - n)])
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
