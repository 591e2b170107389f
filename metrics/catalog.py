"""Every KPI declared once, as data: what it means, its unit and direction, and its measure.

A measure names a fact set (built in metrics/facts.py, one row per ticket, customer or
response), a column of it, and an aggregate. ``share`` is the mean of a 0/1 flag whose
NULL marks a row outside the denominator; ``mean`` is the mean of a value (an NPS response
is +100, 0 or -100, so the mean is the NPS); ``quantile`` is linear interpolation between
closest ranks; ``count`` counts the fact rows. ``group`` keeps only rows of one customer
recovery group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from data_contracts.recovery_rules import IN_RECOVERY, NEVER_FAILED, RECOVERED, UNRECOVERED

Unit = Literal["minutes", "ratio", "nps", "count"]
FactSet = Literal["tickets", "retention", "attrition", "nps", "episodes"]
Aggregate = Literal["quantile", "share", "mean", "count"]

RECOVERY_GROUPS: tuple[str, ...] = (RECOVERED, NEVER_FAILED, UNRECOVERED, IN_RECOVERY)


@dataclass(frozen=True)
class Measure:
    """How a KPI is aggregated from one fact set."""

    facts: FactSet
    aggregate: Aggregate
    column: str
    q: float | None = None
    group: str | None = None


@dataclass(frozen=True)
class Kpi:
    """One KPI: its declaration for the CLI, the dashboard and the docs."""

    name: str
    label: str
    description: str
    unit: Unit
    higher_is_better: bool
    default_target: float | None
    measure: Measure


def _retention(group: str) -> Kpi:
    label = group.replace("_", "-")
    return Kpi(
        name=f"{group}_retention",
        label=f"Retention, {label} customers",
        description=(
            f"Share of customers active at as_of - H and {label} then that have not churned "
            "by as_of."
        ),
        unit="ratio",
        higher_is_better=True,
        default_target=None,
        measure=Measure("retention", "share", "is_retained", group=group),
    )


_KPIS = [
    Kpi(
        name="tta_median_minutes",
        label="Time to acknowledge, median",
        description="Median minutes from ticket creation to the first agent reply.",
        unit="minutes",
        higher_is_better=False,
        default_target=None,
        measure=Measure("tickets", "quantile", "tta_minutes", q=0.5),
    ),
    Kpi(
        name="tta_p90_minutes",
        label="Time to acknowledge, p90",
        description="90th percentile of minutes from ticket creation to the first agent reply.",
        unit="minutes",
        higher_is_better=False,
        default_target=60.0,
        measure=Measure("tickets", "quantile", "tta_minutes", q=0.9),
    ),
    Kpi(
        name="tta_within_target_pct",
        label="Acknowledged within target",
        description=(
            "Acknowledged tickets with TTA at most the target, over acknowledged tickets plus "
            "unsolved unacknowledged tickets already older than the target (a ticket whose "
            "source gives its reply time only as a bracket is neither)."
        ),
        unit="ratio",
        higher_is_better=True,
        default_target=0.9,
        measure=Measure("tickets", "share", "is_within_target"),
    ),
    Kpi(
        name="one_touch_rate",
        label="One-touch resolution",
        description=(
            "Solved or closed tickets with at most one agent reply (the `explore` preset; "
            "`dbt_zendesk`: exactly one), over all of them."
        ),
        unit="ratio",
        higher_is_better=True,
        default_target=None,
        measure=Measure("tickets", "share", "is_one_touch"),
    ),
    Kpi(
        name="handoff_rate",
        label="Handoff rate",
        description=(
            "Solved or closed tickets that passed through more than one assignee or group, "
            "over all of them."
        ),
        unit="ratio",
        higher_is_better=False,
        default_target=None,
        measure=Measure("tickets", "share", "is_handoff"),
    ),
    _retention(RECOVERED),
    _retention(NEVER_FAILED),
    _retention(UNRECOVERED),
    Kpi(
        name="attrition_rate_12m",
        label="Attrition, 12 months",
        description=(
            "Customers active at as_of - 365 days who churned since, over those active then."
        ),
        unit="ratio",
        higher_is_better=False,
        default_target=None,
        measure=Measure("attrition", "share", "is_churned"),
    ),
    Kpi(
        name="nps",
        label="NPS",
        description="Net Promoter Score of the responses of the last 365 days.",
        unit="nps",
        higher_is_better=True,
        default_target=None,
        measure=Measure("nps", "mean", "nps_points"),
    ),
    Kpi(
        name="nps_recovered",
        label="NPS, recovered customers",
        description=(
            "NPS of the last 365 days' responses of customers recovered at as_of, given after "
            "their last failure was solved (and once their last older failure had left the "
            "look-back)."
        ),
        unit="nps",
        higher_is_better=True,
        default_target=None,
        measure=Measure("nps", "mean", "nps_points", group=RECOVERED),
    ),
    Kpi(
        name="nps_never_failed",
        label="NPS, never-failed customers",
        description=(
            "NPS of the last 365 days' responses of customers with no service failure in the "
            "look-back, given once their last older failure had left it."
        ),
        unit="nps",
        higher_is_better=True,
        default_target=None,
        measure=Measure("nps", "mean", "nps_points", group=NEVER_FAILED),
    ),
]


def _ticket_kpi(name, label, description, unit, higher, aggregate, column, q=None, target=None):
    return Kpi(
        name=name,
        label=label,
        description=description,
        unit=unit,
        higher_is_better=higher,
        default_target=target,
        measure=Measure("tickets", aggregate, column, q=q),
    )


_ANALYST_KPIS = [
    _ticket_kpi(
        "ticket_volume",
        "Tickets",
        "Tickets created (in the period, or up to as_of).",
        "count",
        False,
        "count",
        "is_ticket",
    ),
    _ticket_kpi(
        "reopen_rate",
        "Reopen rate",
        "Solved or closed tickets reopened at least once, over solved or closed tickets with "
        "a known reopen count.",
        "ratio",
        False,
        "share",
        "is_reopened",
    ),
    _ticket_kpi(
        "csat_score",
        "CSAT",
        "Tickets rated good, over tickets rated good or bad (Zendesk's satisfaction score).",
        "ratio",
        True,
        "share",
        "is_csat_good",
    ),
    _ticket_kpi(
        "csat_response_rate",
        "CSAT response rate",
        "Tickets rated good or bad, over tickets whose survey was offered (rated or not).",
        "ratio",
        True,
        "share",
        "is_csat_rated",
    ),
    _ticket_kpi(
        "resolution_median_minutes",
        "Full resolution time, median",
        "Median minutes from creation to the last solve (solved_at), of tickets solved or "
        "closed by as_of.",
        "minutes",
        False,
        "quantile",
        "resolution_minutes",
        q=0.5,
    ),
    _ticket_kpi(
        "resolution_p90_minutes",
        "Full resolution time, p90",
        "90th percentile of minutes from creation to the last solve, of solved tickets.",
        "minutes",
        False,
        "quantile",
        "resolution_minutes",
        q=0.9,
    ),
    _ticket_kpi(
        "first_resolution_median_minutes",
        "First resolution time, median",
        "Median minutes from creation to the first solve, where the source measures it "
        "(Zendesk ticket_metrics `first_resolution_time_in_minutes`); null otherwise.",
        "minutes",
        False,
        "quantile",
        "first_resolution_minutes",
        q=0.5,
    ),
    _ticket_kpi(
        "first_resolution_p90_minutes",
        "First resolution time, p90",
        "90th percentile of minutes to the first solve, where the source measures it.",
        "minutes",
        False,
        "quantile",
        "first_resolution_minutes",
        q=0.9,
    ),
    _ticket_kpi(
        "failure_rate",
        "Failure rate",
        "Tickets that are service failures (type incident or problem, or a failure tag), "
        "over all tickets.",
        "ratio",
        False,
        "share",
        "is_failure",
    ),
    _ticket_kpi(
        "recovery_rate",
        "Recovery rate",
        "Solved or closed failures that are recovered (not reopened; under the 2026-11 "
        "definitions also CSAT not bad), over solved or closed failures.",
        "ratio",
        True,
        "share",
        "is_recovered",
    ),
    _ticket_kpi(
        "time_to_recover_median_minutes",
        "Time to recover, median",
        "Median minutes from creation to solve of recovered failures.",
        "minutes",
        False,
        "quantile",
        "recovery_minutes",
        q=0.5,
    ),
    _ticket_kpi(
        "time_to_recover_p90_minutes",
        "Time to recover, p90",
        "90th percentile of minutes from creation to solve of recovered failures.",
        "minutes",
        False,
        "quantile",
        "recovery_minutes",
        q=0.9,
    ),
    _ticket_kpi(
        "recovered_within_window_pct",
        "Recovered within window",
        "Failures recovered within the recovery window (default 24 hours) of their creation, "
        "over failures solved by as_of plus unsolved failures already older than the window.",
        "ratio",
        True,
        "share",
        "is_recovered_in_window",
    ),
    Kpi(
        name="failure_episodes",
        label="Failure episodes",
        description="A customer's failure tickets created within the episode window (default "
        "7 days) of the one before, counted once as one problem.",
        unit="count",
        higher_is_better=False,
        default_target=None,
        measure=Measure("episodes", "count", "is_episode"),
    ),
    Kpi(
        name="episode_tta_median_minutes",
        label="Episode TTA, median",
        description="Median minutes to the first reply on the first ticket of each failure "
        "episode (acknowledged by as_of).",
        unit="minutes",
        higher_is_better=False,
        default_target=None,
        measure=Measure("episodes", "quantile", "tta_minutes", q=0.5),
    ),
    Kpi(
        name="episode_one_touch_rate",
        label="Episode one-touch rate",
        description="Failure episodes solved with one touch across all their tickets (at most "
        "one agent reply; exactly one under the dbt_zendesk preset), over episodes whose "
        "tickets are all solved with known reply counts.",
        unit="ratio",
        higher_is_better=True,
        default_target=None,
        measure=Measure("episodes", "share", "is_one_touch"),
    ),
    _ticket_kpi(
        "business_tta_median_minutes",
        "Business-hours TTA, median",
        "Median business minutes from creation to the first reply: the source's "
        "`first_reply_business_minutes`, else counted on the configured schedule; null "
        "when neither is there.",
        "minutes",
        False,
        "quantile",
        "business_tta_minutes",
        q=0.5,
    ),
    _ticket_kpi(
        "business_tta_p90_minutes",
        "Business-hours TTA, p90",
        "90th percentile of business minutes to the first reply.",
        "minutes",
        False,
        "quantile",
        "business_tta_minutes",
        q=0.9,
    ),
    _ticket_kpi(
        "business_tta_within_target_pct",
        "Acknowledged within target, business hours",
        "Acknowledged tickets with business-hours TTA at most the target, over acknowledged "
        "tickets with a business-hours TTA plus, on a configured schedule, unsolved "
        "unacknowledged tickets whose business minutes since creation already pass the target; "
        "null when the source gives no business minutes and no schedule is configured.",
        "ratio",
        True,
        "share",
        "is_business_within_target",
        target=0.9,
    ),
    Kpi(
        name="customer_failure_rate",
        label="Customers with a failure",
        description=(
            "Customers active at as_of - 365 days with a failure ticket created since, over "
            "those active then."
        ),
        unit="ratio",
        higher_is_better=False,
        default_target=None,
        measure=Measure("attrition", "share", "has_failure"),
    ),
    Kpi(
        name="monthly_attrition_rate",
        label="Attrition, last full month",
        description=(
            "Customers active at the start of the last calendar month over by as_of (reporting "
            "time zone) who churned in it, over those active then (definitions 2026-11: "
            "as_of's month to date)."
        ),
        unit="ratio",
        higher_is_better=False,
        default_target=None,
        measure=Measure("attrition", "share", "is_churned_month"),
    ),
    Kpi(
        name="attrition_month_to_date",
        label="Attrition, month to date",
        description=(
            "Customers active at the start of as_of's calendar month (reporting time zone) "
            "who churned since, over those active then: a month not yet over."
        ),
        unit="ratio",
        higher_is_better=False,
        default_target=None,
        measure=Measure("attrition", "share", "is_churned_mtd"),
    ),
]

KPI_CATALOG: dict[str, Kpi] = {kpi.name: kpi for kpi in [*_KPIS, *_ANALYST_KPIS]}
# The twelve contract KPIs of `metrics --json`, in their order (docs/contract.md, JSON output).
CONTRACT_KPIS: tuple[str, ...] = tuple(kpi.name for kpi in _KPIS)


@dataclass(frozen=True)
class ParadoxDelta:
    """A recovery-paradox comparison: ``minuend - subtrahend``, both KPIs of the catalog."""

    name: str
    label: str
    minuend: str
    subtrahend: str
    unit: Unit
    # "customers": minuend and subtrahend are catalog KPIs of customer groups, compared crude,
    # like for like and per segment; "tickets": they name two groups of rated tickets
    # (metrics/clusters.py), compared crude only.
    compares: Literal["customers", "tickets"] = "customers"
    groups: tuple[str, str] = (RECOVERED, NEVER_FAILED)  # how "n" names the two groups


_DELTAS = [
    ParadoxDelta(
        name="nps_delta",
        label="NPS, recovered minus never-failed",
        minuend="nps_recovered",
        subtrahend="nps_never_failed",
        unit="nps",
    ),
    ParadoxDelta(
        name="retention_delta",
        label="Retention, recovered minus never-failed",
        minuend="recovered_retention",
        subtrahend="never_failed_retention",
        unit="ratio",
    ),
    ParadoxDelta(
        name="csat_delta",
        label="CSAT, recovered failures minus ordinary tickets",
        minuend="csat_recovered",
        subtrahend="csat_ordinary",
        unit="ratio",
        compares="tickets",
        groups=(RECOVERED, "ordinary"),
    ),
]

PARADOX_DELTAS: dict[str, ParadoxDelta] = {delta.name: delta for delta in _DELTAS}
# The comparison the paradox's verdict leads with (the Overview's sentence): retention,
# like for like. It is behaviour, not a stated intention; customers are its units; the
# matching takes out the tenure, segment and plan mix; and de Matos, Henrique & Rossi (2007)
# found no paradox on repurchase or word of mouth, only on satisfaction, so leading with CSAT
# would lead with the comparison most likely to look good. The others are secondary.
PRIMARY_DELTA = "retention_delta"
PRIMARY_COMPARISON = "matched"
# Said under the secondary comparisons wherever they are shown (dashboard, CLI).
MULTIPLE_COMPARISONS = (
    "Several comparisons are shown; one in twenty will look like an effect by chance."
)
