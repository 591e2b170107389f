"""Draw the customer base: one row per customer, ordered by signup."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from turnaround.generate import clock, settings

SEGMENT_NAMES = list(settings.SEGMENTS)
PLAN_NAMES = list(settings.MRR_BY_PLAN)
REGION_NAMES = list(settings.REGIONS)
FIRST_NAMES = settings.FIRST_NAMES.split()
LAST_NAMES = settings.LAST_NAMES.split()
_YEAR = 365.25 * clock.DAY
_MONTH = _YEAR / 12


@dataclass
class Customers:
    """Customer attributes as parallel arrays (index = customer number - 1)."""

    signup_at: np.ndarray  # int64 Unix seconds
    active_from: np.ndarray  # signup, or the window start for older customers
    segment: np.ndarray  # index into SEGMENT_NAMES
    plan: np.ndarray  # index into PLAN_NAMES
    region: np.ndarray  # index into REGION_NAMES
    mrr: np.ndarray  # float, 2 decimals
    ticket_rate: np.ndarray  # expected tickets per second while active
    churn_hazard: np.ndarray  # churn per second while never failed
    first_name: np.ndarray  # index into FIRST_NAMES
    last_name: np.ndarray
    mood: np.ndarray  # latent satisfaction: the customer's mean NPS score, which sways CSAT too

    def __len__(self) -> int:
        return len(self.signup_at)


def pick(rng: np.random.Generator, shares: dict, size: int) -> np.ndarray:
    """Indices into ``shares`` drawn with its probabilities."""
    p = np.asarray(list(shares.values()), dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _signups(rng: np.random.Generator, n: int) -> np.ndarray:
    is_existing = rng.random(n) < settings.EXISTING_SHARE
    tenure = rng.random(n) * settings.EXISTING_MAX_TENURE_DAYS * clock.DAY
    # New signups grow linearly over the window: invert the CDF of density 1 + g*x.
    g = settings.SIGNUP_GROWTH
    u = rng.random(n)
    x = (np.sqrt(1 + 2 * g * u * (1 + g / 2)) - 1) / g if g > 0 else u
    window = clock.END - clock.START
    signup = np.where(is_existing, clock.START - tenure, clock.START + x * window)
    return np.sort(signup.astype(np.int64))


def draw_customers(rng: np.random.Generator, n: int) -> Customers:
    signup_at = _signups(rng, n)
    segment = pick(rng, settings.SEGMENTS, n)
    plan = np.zeros(n, dtype=np.int64)
    for s, name in enumerate(SEGMENT_NAMES):
        rows = np.flatnonzero(segment == s)
        plan[rows] = pick(rng, settings.PLANS_BY_SEGMENT[name], len(rows))
    median, sigma = (np.asarray(v) for v in zip(*settings.MRR_BY_PLAN.values(), strict=True))
    mrr = np.round(median[plan] * rng.lognormal(0.0, sigma[plan]), 2)
    shape = settings.TICKET_RATE_SHAPE
    rate = rng.gamma(shape, settings.TICKETS_PER_ACTIVE_YEAR / shape, n) / _YEAR
    monthly = np.asarray(list(settings.MONTHLY_CHURN_BY_SEGMENT.values()))
    return Customers(
        signup_at=signup_at,
        active_from=np.maximum(signup_at, clock.START),
        segment=segment,
        plan=plan,
        region=pick(rng, settings.REGIONS, n),
        mrr=mrr,
        ticket_rate=rate,
        churn_hazard=-np.log1p(-monthly[segment]) / _MONTH,
        first_name=rng.integers(0, len(FIRST_NAMES), n),
        last_name=rng.integers(0, len(LAST_NAMES), n),
        mood=rng.normal(*settings.NPS_BASELINE, n),  # drawn last: the draws above stay as they were
    )
