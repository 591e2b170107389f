"""Every closed set of choices a setting, a command option or a metric parameter takes,
declared once: the config's checks, the command line's choices and the metric parameters'
types read them from here.
"""

from __future__ import annotations

from functools import cache
from typing import Literal, get_args
from zoneinfo import available_timezones

# One-touch resolution as each tool defines it: solved with at most one agent reply (Zendesk
# Explore's formula "fewer than 2", the contract's definition), or with exactly one public
# agent comment (fivetran's dbt_zendesk), read from the agent reply count
# (data_contracts/recovery_rules.py ONE_TOUCH).
OneTouch = Literal["explore", "dbt_zendesk"]
ONE_TOUCH_PRESETS: dict[str, str] = dict(
    zip(
        get_args(OneTouch),
        (
            "solved or closed with fewer than 2 agent replies (Zendesk Explore)",
            "solved or closed with exactly 1 agent reply (fivetran dbt_zendesk)",
        ),
        strict=True,
    )
)

# The sets of metric definitions, newest first (docs/definitions.md says what each changed):
# numbers carry the set they were computed by, and [metrics] definitions keeps an earlier set
# for a user who has published numbers with it.
Definitions = Literal["2026-12", "2026-11"]
DEFINITIONS: tuple[str, ...] = get_args(Definitions)
CURRENT_DEFINITIONS: str = DEFINITIONS[0]
# The sets that keep the rules 2026-12 changed: every switch between a rule and the one it
# replaced asks whether the chosen set is one of these.
BEFORE_2026_12: tuple[str, ...] = ("2026-11",)

# What the recovery KPIs count: tickets, failure episodes, or customers (all of a
# customer's failures as one).
Count = Literal["tickets", "episodes", "customers"]
COUNTS: tuple[str, ...] = get_args(Count)

# The calendar periods of trends and sliced metrics (--grain).
Grain = Literal["day", "week", "month", "quarter"]
GRAINS: tuple[str, ...] = get_args(Grain)

# How to read a slashed date such as 01/02/2025 in a file that does not show it.
DateOrder = Literal["day-first", "month-first"]
DATE_ORDERS: tuple[str, ...] = get_args(DateOrder)

# How survival curves split failed customers (turnaround survival --by), and what each means.
SURVIVAL_SPLITS: dict[str, str] = {
    "recovery_group": "recovery group at the landmark, never-failed customers included",
    "tta_bucket": "time to first reply on the failure that classifies the customer",
    "one_touch": "that failure solved in one touch, or not",
    "compensation": "compensation given on that failure, or none",
}

# What a cohort is made of: the customers who signed up, or first failed, in one month.
COHORT_KINDS: tuple[str, ...] = ("signup_month", "first_failure_month")

# Files of the time zone database that are no zone a warehouse knows by name.
NOT_ZONES = ("localtime", "posixrules", "Factory")


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zones a setting or an option may name (such as Europe/Berlin)."""
    names = {
        n
        for n in available_timezones()
        if n not in NOT_ZONES and not n.startswith(("posix/", "right/"))
    }
    return frozenset(names | {"UTC"})
