"""The domain rules of service recovery, declared once: which tickets are service failures,
when a failure is put right, one touch, handoff, and a customer's recovery group.

Each rule is stated once, as the values it turns on, and rendered from them twice, side by
side: a ``*_sql`` function builds the SQLAlchemy expression over whatever columns a query
passes in (the metrics build every fact set with them), and a plain Python function judges
one ticket's values (the demo generator; ``is_put_right`` and ``is_handoff`` also judge
numpy arrays element-wise). tests/data_contracts/test_recovery_rules.py checks that the two
agree on hand-made tickets in a real DuckDB. docs/metrics.md gives the rules in words.

The module imports no other Turnaround package (only the option vocabularies beside it), so
the pipeline, the metrics and the generator all read the rules from below. A dialect's tag
test is passed in (``is_failure_sql``), not imported.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, get_args

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement

from data_contracts.options import BEFORE_2026_12, Definitions, OneTouch

# A ticket of one of these types is a service failure (so is one with a failure tag).
FAILURE_TYPES: tuple[str, ...] = ("incident", "problem")
# The statuses of a solved ticket.
SOLVED_STATUSES: tuple[str, ...] = ("solved", "closed")
# The CSAT score that undoes a recovery (a null score is no sign against it), in the sets of
# definitions that ask for it: from 2026-12 a recovered failure is judged by what the company
# did only, since CSAT moves with the NPS and retention the recovered group is compared on.
BAD_CSAT = "bad"
CSAT_IN_PUT_RIGHT: tuple[str, ...] = BEFORE_2026_12
# One touch per preset: how a solved ticket's agent replies compare with the bound.
# The preset names are the vocabulary of options.OneTouch, in its order.
ONE_TOUCH: dict[str, tuple[Callable[[Any, int], Any], int]] = dict(
    zip(
        get_args(OneTouch),
        (
            (operator.le, 1),  # Zendesk Explore: fewer than 2, a ticket without one counts
            (operator.eq, 1),  # fivetran's is_one_touch_resolution: exactly one
        ),
        strict=True,
    )
)
# A ticket that passed through more assignees, or more groups, than this was handed off.
HANDOFF_ABOVE_STATIONS = 1

# A customer's recovery group at t looks only at their failures created in the look-back
# (t - LOOKBACK_DAYS, t] ([recovery] lookback_days), so older history never changes a group.
LOOKBACK_DAYS = 365
# The sets of definitions whose groups look at every failure since the data begins instead
# (so the verdict moved with how much history was loaded).
GROUPS_SINCE_BEGINNING: tuple[str, ...] = BEFORE_2026_12

# A customer's recovery group at t, and a failure's own state at t, by the same names.
NEVER_FAILED = "never_failed"
IN_RECOVERY = "in_recovery"
RECOVERED = "recovered"
UNRECOVERED = "unrecovered"
# A failed customer is in the first of these states any of their failures is in (each
# failure created by t, as it stood at t); in none of them, recovered.
GROUP_PRECEDENCE: tuple[str, ...] = (UNRECOVERED, IN_RECOVERY)


class Judged(NamedTuple):
    """A rule that can be unknown: where it ``holds``, and where the values to judge it are
    ``known`` (a row outside ``known`` is outside the measure's denominator)."""

    holds: ColumnElement[bool]
    known: ColumnElement[bool]


def _count(value: Any) -> Any:
    """A null count as 0 (no evidence); a count or an array of counts unchanged."""
    return 0 if value is None else value


def is_failure(type_: str | None, tags: Iterable[str] | None, failure_tags: Sequence[str]) -> bool:
    """A service failure: a failure type, or any of ``failure_tags`` (null type or tags are
    no failure signal)."""
    return type_ in FAILURE_TYPES or any(tag in failure_tags for tag in tags or ())


def is_failure_sql(
    type_: ColumnElement,
    tags: ColumnElement,
    failure_tags: Sequence[str],
    has_any_tag: Callable[[ColumnElement, Sequence[str]], ColumnElement[bool]],
) -> ColumnElement[bool]:
    """``is_failure`` in SQL, never NULL; ``has_any_tag`` is the dialect's test that a tag
    list holds any of some tags."""
    return sa.or_(
        sa.func.coalesce(type_.in_(FAILURE_TYPES), False), has_any_tag(tags, failure_tags)
    )


def is_put_right(reopens: Any, csat: Any, definitions: Definitions) -> Any:
    """A solved failure is recovered when this holds under the set of ``definitions``: never
    reopened, and under a set of CSAT_IN_PUT_RIGHT not rated bad either (a null count or
    score is no sign against it). On one ticket's values, or element-wise on numpy arrays
    (reopen counts and CSAT names, without nulls)."""
    kept = _count(reopens) == 0
    return kept & (csat != BAD_CSAT) if definitions in CSAT_IN_PUT_RIGHT else kept


def is_put_right_sql(
    reopens: ColumnElement, csat: ColumnElement, definitions: Definitions
) -> ColumnElement[bool]:
    """``is_put_right`` in SQL, never NULL."""
    kept = sa.func.coalesce(reopens, 0) == 0
    if definitions not in CSAT_IN_PUT_RIGHT:
        return kept
    return sa.and_(kept, sa.not_(csat.is_not_distinct_from(BAD_CSAT)))


def is_one_touch(agent_replies: int | None, preset: str) -> bool | None:
    """A solved ticket resolved in one touch under ``preset``; None when its replies are
    not known (neither one touch nor many)."""
    compare, bound = ONE_TOUCH[preset]
    return None if agent_replies is None else bool(compare(agent_replies, bound))


def one_touch_sql(agent_replies: ColumnElement, preset: str) -> Judged:
    """``is_one_touch`` in SQL, on a ticket's replies or an episode's sum of them."""
    compare, bound = ONE_TOUCH[preset]
    return Judged(compare(agent_replies, bound), agent_replies.is_not(None))


def is_handoff(assignee_stations: Any, group_stations: Any) -> Any:
    """A ticket handed off: more than one assignee or more than one group (a null count is
    no evidence of one); None when both counts are null. On one ticket's values, or
    element-wise on numpy arrays of counts (without nulls)."""
    if assignee_stations is None and group_stations is None:
        return None
    return (_count(assignee_stations) > HANDOFF_ABOVE_STATIONS) | (
        _count(group_stations) > HANDOFF_ABOVE_STATIONS
    )


def handoff_sql(assignee_stations: ColumnElement, group_stations: ColumnElement) -> Judged:
    """``is_handoff`` in SQL."""
    return Judged(
        sa.or_(
            sa.func.coalesce(assignee_stations, 0) > HANDOFF_ABOVE_STATIONS,
            sa.func.coalesce(group_stations, 0) > HANDOFF_ABOVE_STATIONS,
        ),
        sa.or_(assignee_stations.is_not(None), group_stations.is_not(None)),
    )


def failure_state(is_solved: bool, put_right: bool) -> str:
    """One failure's state at t: in recovery until solved, then recovered if put right."""
    if not is_solved:
        return IN_RECOVERY
    return RECOVERED if put_right else UNRECOVERED


def recovery_group(states: Iterable[str]) -> str:
    """A customer's recovery group from the states of their failures (``failure_state``)."""
    found = set(states)
    if not found:
        return NEVER_FAILED
    return next((state for state in GROUP_PRECEDENCE if state in found), RECOVERED)


def recovery_group_sql(any_in: Mapping[str, ColumnElement[bool]]) -> ColumnElement[str]:
    """``recovery_group`` in SQL, for a customer with a failure (one without has no row, and
    the caller names them NEVER_FAILED): ``any_in`` says, per state of GROUP_PRECEDENCE,
    whether any of the customer's failures is in it."""
    return sa.case(*((any_in[state], state) for state in GROUP_PRECEDENCE), else_=RECOVERED)
