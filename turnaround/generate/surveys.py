"""Draw NPS survey responses: one row per response, ordered by answer time.

Every active customer is invited once a quarter (each on their own day of the quarter) once
they have been a customer for a month; each has their own propensity to answer. The score
depends on the customer's latent satisfaction (their mood, which sways their CSAT ratings
too) and on their recovery state when they answer (recovery.py: the product's group rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_contracts.recovery_rules import RECOVERED
from turnaround.generate import clock, settings
from turnaround.generate.recovery import STATE_NAMES, StateTimeline

CATEGORY_NAMES = list(settings.COMMENTS)  # promoter, passive, detractor


@dataclass
class Responses:
    customer: np.ndarray
    responded_at: np.ndarray  # int64 Unix seconds
    score: np.ndarray  # 0-10
    comment: list[str | None]


def _score_shifts(nps_effect: float) -> np.ndarray:
    shift = dict(settings.NPS_SHIFT)
    shift[RECOVERED] = settings.RECOVERED_NPS_SHIFT * nps_effect
    return np.asarray([shift[name] for name in STATE_NAMES])


def _comments(rng, score: np.ndarray) -> list[str | None]:
    category = np.where(score >= 9, 0, np.where(score >= 7, 1, 2))
    has_comment = rng.random(len(score)) < settings.COMMENT_SHARE
    pick = rng.random(len(score))
    texts = [settings.COMMENTS[name] for name in CATEGORY_NAMES]
    return [
        texts[c][int(p * len(texts[c]))] if h else None
        for c, p, h in zip(category.tolist(), pick.tolist(), has_comment.tolist(), strict=True)
    ]


def draw_responses(
    rng: np.random.Generator,
    signup_at: np.ndarray,
    mood: np.ndarray,
    churned_at: np.ndarray,
    timeline: StateTimeline,
    nps_effect: float,
) -> Responses:
    n = len(signup_at)
    interval = settings.SURVEY_INTERVAL_DAYS * clock.DAY
    waves = (clock.END - clock.START) // interval + 1
    phase = clock.START + rng.integers(0, interval, n)
    invited = phase[:, None] + np.arange(waves)[None, :] * interval
    leaves = np.where(churned_at >= 0, churned_at, clock.END + 1)
    answered = invited + rng.exponential(settings.RESPONSE_DELAY_HOURS * 3600, invited.shape)
    answered = answered.astype(np.int64)
    propensity = rng.beta(*settings.RESPONSE_PROPENSITY, n)
    keep = (
        (invited >= signup_at[:, None] + settings.SURVEY_MIN_TENURE_DAYS * clock.DAY)
        & (answered < leaves[:, None])
        & (answered <= clock.END)
        & (rng.random(invited.shape) < propensity[:, None])
    )
    customer = np.broadcast_to(np.arange(n)[:, None], invited.shape)[keep]
    responded_at = answered[keep]
    order = np.lexsort((customer, responded_at))
    customer, responded_at = customer[order], responded_at[order]

    state = timeline.state_at(customer, responded_at)
    latent = mood[customer] + _score_shifts(nps_effect)[state]
    latent = latent + rng.normal(0.0, settings.NPS_NOISE, len(customer))
    score = np.clip(np.rint(latent), 0, 10).astype(np.int64)
    return Responses(customer, responded_at, score, _comments(rng, score))
