"""The true value of each compared difference, from a large run of the generator alone.

No loader and no metrics: the generator's own model (``Demo``: its customers, churn times,
responses, tickets, and the recovery-state timeline that drove churn and NPS) is read
directly, at the export moment ``settings.END_AT``. Each function computes the comparison the
product computes, by the product's rule for it (docs/metrics.md, "Recovery paradox"), with
the generator's group of each customer in place of the group read from the tickets. A large
population (100,000 customers by default) makes the sampling error of the truth small
beside a world's interval.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from data_contracts.recovery_rules import FAILURE_TYPES, NEVER_FAILED, RECOVERED
from metrics.dimensions import TENURE_BANDS
from metrics.params import MetricParams
from turnaround.generate import settings
from turnaround.generate.model import Demo, simulate
from turnaround.generate.recovery import STATE_NAMES

AS_OF = settings.END_AT
NPS_WINDOW_DAYS = 365  # the NPS's responses: (as_of - 365 days, as_of]
DAY = 86_400


def population(customers: int, seed: int, effects: dict[str, float]) -> Demo:
    """The generator's world of ``customers`` at ``effects``, without writing a file."""
    return simulate(customers, seed, **effects)


def _seconds(at: dt.datetime) -> int:
    return int(at.timestamp())


def _tenure_band(days: pl.Expr) -> pl.Expr:
    """The product's tenure band (metrics.dimensions.TENURE_BANDS) of a tenure in days."""
    bands = [(limit, label) for label, limit in TENURE_BANDS if limit is not None]
    expr = pl.when(days < bands[0][0]).then(pl.lit(bands[0][1]))
    for limit, label in bands[1:]:
        expr = expr.when(days < limit).then(pl.lit(label))
    return expr.otherwise(pl.lit(TENURE_BANDS[-1][0]))


MATCHED = ("tenure_band", "segment", "plan")  # the matched comparisons' strata


def _difference(rows: pl.DataFrame, value: str, strata: tuple[str, ...] = ()) -> float | None:
    """Mean of ``value`` of recovered rows minus never-failed rows, within the ``strata``
    columns' strata (none: crude), the never-failed rows directly standardised to the
    recovered rows' mix of strata, strata without never-failed rows left out
    (metrics.paradox, metrics.survival)."""
    rows = rows.with_columns(
        stratum=pl.concat_str(*strata, separator="|") if strata else pl.lit("all")
    )
    means = rows.group_by("stratum", "group").agg(mean=pl.col(value).mean(), n=pl.len())
    recovered = means.filter(pl.col("group") == RECOVERED)
    never = means.filter(pl.col("group") == NEVER_FAILED)
    both = recovered.join(never, on="stratum", suffix="_never")
    if both.is_empty():
        return None
    weights = both["n"] / both["n"].sum()
    return float((weights * (both["mean"] - both["mean_never"])).sum())


def retention_difference(
    demo: Demo, start: dt.datetime, days: int, matched: bool = False
) -> float | None:
    """Recovered minus never-failed share of customers active at ``start`` (by their group
    then) not churned by ``start + days``: H-day retention with start = as_of - H."""
    return _difference(_kept(demo, start, days), "kept", MATCHED if matched else ())


def survival_difference(
    demo: Demo, landmark: dt.datetime, days: int, lookback_days: int, cap: int
) -> float | None:
    """Survival on a fixed day from a landmark: as ``retention_difference`` from the
    landmark, within the same look-back ticket count (tickets created in (landmark -
    ``lookback_days``, landmark], ``cap`` and more one stratum), as compute_survival's
    ``difference``."""
    at = _seconds(landmark)
    since = at - lookback_days * DAY
    written = pl.col("created_at")
    counts = (
        demo.tickets.filter(written > since, written <= at)
        .group_by("customer_id")
        .agg(tickets=pl.len())
    )
    rows = (
        _kept(demo, landmark, days)
        .join(counts, on="customer_id", how="left")
        .with_columns(tickets=pl.min_horizontal(pl.col("tickets").fill_null(0), cap))
    )
    return _difference(rows, "kept", ("tickets",))


def _kept(demo: Demo, start: dt.datetime, days: int) -> pl.DataFrame:
    """Customers active at ``start`` with their group then, customer columns, tenure_band
    and kept (1.0 when not churned by ``start + days``)."""
    end = _seconds(start + dt.timedelta(days=days))
    churned = pl.col("churned_at")
    return (
        demo.groups_at(start)
        .rename({"recovery_group": "group"})
        .join(demo.customers, on="customer_id")
        .with_columns(
            kept=(churned.is_null() | (churned > end)).cast(pl.Float64),
            tenure_band=_tenure_band((_seconds(start) - pl.col("signup_at")) / DAY),
        )
    )


def _rows(demo: Demo, customer: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each customer's row of the state timeline at ``t`` (the state's start)."""
    timeline = demo.timeline
    keys = (timeline.customer << 32) | timeline.at
    return np.searchsorted(keys, (customer << 32) | t, side="right") - 1


def nps_difference(demo: Demo, as_of: dt.datetime = AS_OF, matched: bool = False) -> float | None:
    """NPS of recovered minus never-failed responders over the responses in (as_of - 365
    days, as_of], each responder by their group at as_of (or when they left), and only the
    responses given in the state the customer is still in then (for a recovered customer,
    once their last failure was solved; for any, once their last failure to leave the
    look-back left it)."""
    end = _seconds(as_of)
    responses = demo.responses.filter(
        pl.col("responded_at") > end - NPS_WINDOW_DAYS * DAY, pl.col("responded_at") <= end
    ).join(
        demo.customers.select("customer_id", "churned_at", "signup_at", "segment", "plan"),
        on="customer_id",
    )
    index = responses["customer_id"].str.slice(1).cast(pl.Int64).to_numpy() - 1
    left = responses["churned_at"].fill_null(end + 1).to_numpy()
    judged_at = np.minimum(end, left - 1)  # the tickets end when the customer leaves
    at_end = _rows(demo, index, judged_at)
    state = np.asarray(STATE_NAMES)[demo.timeline.state[at_end]]
    since = at_end == _rows(demo, index, responses["responded_at"].to_numpy())
    score = pl.col("score")
    rows = responses.with_columns(
        group=pl.Series(np.where(since, state, "")),
        points=pl.when(score >= 9).then(100.0).when(score >= 7).then(0.0).otherwise(-100.0),
        tenure_band=_tenure_band((pl.col("responded_at") - pl.col("signup_at")) / DAY),
    )
    return _difference(rows, "points", MATCHED if matched else ())


def csat_difference(demo: Demo, as_of: dt.datetime = AS_OF) -> float | None:
    """Good share of rated, never reopened failures minus other rated, never reopened tickets,
    solved in (as_of - 365 days, as_of] (failures by the default failure rule)."""
    end = _seconds(as_of)
    tags = MetricParams().failure_tags
    is_failure = pl.col("type").is_in(FAILURE_TYPES).fill_null(False) | pl.col("tags").list.eval(
        pl.element().is_in(tags)
    ).list.any().fill_null(False)
    rated = demo.tickets.filter(
        pl.col("solved_at") > end - NPS_WINDOW_DAYS * DAY,
        pl.col("solved_at") <= end,
        pl.col("reopens") == 0,
        pl.col("csat").is_in(["good", "bad"]),
    ).with_columns(
        group=pl.when(is_failure).then(pl.lit(RECOVERED)).otherwise(pl.lit(NEVER_FAILED)),
        good=(pl.col("csat") == "good").cast(pl.Float64),
    )
    return _difference(rated, "good")
