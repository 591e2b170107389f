"""The truths ``turnaround calibrate`` judges intervals against (turnaround.calibrate.truth),
on a hand-made generator world of five customers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from turnaround.calibrate.truth import (
    csat_difference,
    nps_difference,
    retention_difference,
    survival_difference,
)
from turnaround.generate.model import Demo
from turnaround.generate.recovery import IN_RECOVERY, NEVER_FAILED, RECOVERED, StateTimeline

START = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
T = int(START.timestamp())
DAY = 86_400
LONG_AGO = T - 1000 * DAY  # every customer signed up then: tenure over 2 years

# C1: recovered since T - 100 days (in recovery from T - 300 days), stays.
# C2: recovered since T - 100 days, churns 5 days after START; plan "basic".
# C3: never failed, stays. C4: never failed, churns 20 days after START.
# C5: never failed, churned a second before START (not active then).
CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["C000001", "C000002", "C000003", "C000004", "C000005"],
        "signup_at": [LONG_AGO] * 5,
        "churned_at": [None, T + 5 * DAY, None, T + 20 * DAY, T - 1],
        "segment": ["smb"] * 5,
        "plan": ["pro", "basic", "pro", "pro", "pro"],
    }
)
TIMELINE = StateTimeline(
    customer=np.asarray([0, 0, 0, 1, 1, 2, 3, 4]),
    at=np.asarray(
        [LONG_AGO, T - 300 * DAY, T - 100 * DAY, LONG_AGO, T - 100 * DAY]
        + [LONG_AGO, LONG_AGO, LONG_AGO]
    ),
    state=np.asarray(
        [NEVER_FAILED, IN_RECOVERY, RECOVERED, NEVER_FAILED, RECOVERED]
        + [NEVER_FAILED, NEVER_FAILED, NEVER_FAILED]
    ),
)
AS_OF = START + dt.timedelta(days=30)
A = int(AS_OF.timestamp())
RESPONSES = pl.DataFrame(
    {
        "customer_id": ["C000001", "C000001", "C000003", "C000003", "C000003", "C000005"],
        # C1: one after their recovery, one while in recovery; C3: one older than 365 days.
        "responded_at": [T, T - 200 * DAY, T, T + DAY, A - 400 * DAY, T - 10 * DAY],
        "score": [10, 0, 6, 8, 0, 9],
    }
)
TICKETS = pl.DataFrame(
    {
        "type": ["incident", "incident", "question", None, "incident", "question"],
        "tags": [[], [], [], ["how_to"], [], []],
        "solved_at": [A - DAY] * 6,
        "reopens": [0, 0, 0, 0, 1, 0],
        "csat": ["good", "bad", "good", "good", "good", None],
    },
    schema_overrides={"tags": pl.List(pl.String)},
)


def world() -> Demo:
    return Demo(CUSTOMERS, TICKETS, RESPONSES, TIMELINE)


def test_retention_difference_by_hand() -> None:
    # Active at START: C1..C4. Not churned by START + 10 days:
    # recovered C1 yes, C2 no -> 1/2; never failed C3 yes, C4 yes (day 20) -> 2/2.
    assert retention_difference(world(), START, 10) == pytest.approx(0.5 - 1.0)


def test_matched_retention_leaves_out_strata_without_never_failed_customers() -> None:
    # Strata (tenure over 2 years, smb, plan): "pro" holds C1 (1) against C3, C4 (1, 1);
    # "basic" holds only C2, recovered: left out. 1 * (1 - 1) = 0.
    assert retention_difference(world(), START, 10, matched=True) == pytest.approx(0.0)


def test_survival_difference_compares_customers_with_as_many_look_back_tickets() -> None:
    # Tickets created in (START - 365 days, START], by customer: C1 two, C2 one, C3 one, C4
    # two (one of C4's is older than the look-back, one of C1's is after START).
    tickets = pl.DataFrame(
        {
            "customer_id": ["C000001"] * 3 + ["C000002", "C000003"] + ["C000004"] * 3,
            "created_at": [T - 300 * DAY, T - 100 * DAY, T + DAY, T - 50 * DAY, T - 9 * DAY]
            + [T - 400 * DAY, T - 20 * DAY, T],
        }
    )
    demo = Demo(CUSTOMERS, tickets, RESPONSES, TIMELINE)
    # Kept at START + 10 days: C1 yes, C2 no, C3 yes, C4 yes. One ticket: C2 (0) against
    # C3 (1); two tickets: C1 (1) against C4 (1). Weights 1/2 each (one recovered customer
    # in each): 1/2 * (0 - 1) + 1/2 * (1 - 1) = -1/2.
    assert survival_difference(demo, START, 10, 365, 3) == pytest.approx(-0.5)
    # Capped at one ticket, all four are in one stratum: the crude difference.
    assert survival_difference(demo, START, 10, 365, 1) == pytest.approx(0.5 - 1.0)
    # A look-back of 30 days, (START - 30 days, START]: recovered C1 and C2 have no ticket
    # in it, never-failed C3 one and C4 two: no stratum holds both groups.
    assert survival_difference(demo, START, 10, 30, 3) is None


def test_nps_difference_by_hand() -> None:
    # Responses in (AS_OF - 365 days, AS_OF]: C1's at T (recovered since T - 100 days: +100);
    # C1's 0 at T - 200 days was given in recovery: left out. Never failed: C3 6 (-100) and
    # 8 (0), C5 9 (+100, by their group when they left); C3's 0 is older than 365 days.
    # 100 - (-100 + 0 + 100) / 3 = 100
    assert nps_difference(world(), AS_OF) == pytest.approx(100.0)


def test_csat_difference_by_hand() -> None:
    # Rated, never reopened, solved in the window: failures good, bad -> 1/2; other tickets
    # good, good -> 2/2 (the reopened failure and the unrated ticket are left out).
    assert csat_difference(world(), AS_OF) == pytest.approx(0.5 - 1.0)
