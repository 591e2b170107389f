"""Read commands: ``metrics`` and ``runs``. They open the warehouse read-only, never create or
migrate it, and wait out a load's short merge instead of failing."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from data_contracts.options import COHORT_KINDS, COUNTS, GRAINS, ONE_TOUCH_PRESETS, SURVIVAL_SPLITS
from data_contracts.times import parse_utc
from turnaround.commands.common import (
    ConfigOpt,
    JsonOpt,
    LogLevel,
    LogLevelOpt,
    WarehouseOpt,
    choices,
    fail,
    kpi_targets,
    metric_params,
    out,
    print_json,
    reader,
    reading,
    settings,
)


def _parse_as_of(value: str | None, as_json: bool) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_utc(value)
    except ValueError:
        fail(f"--as-of must be an ISO 8601 timestamp, not {value!r}", 2, as_json)
    if not 1900 <= parsed.year <= 9000:
        fail(f"--as-of must be a time from 1900 to 9000, not {value!r}", 2, as_json)
    return parsed


def _parse_day(value: str | None, option: str, as_json: bool) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date such as 2024-05-31, not {value!r}", 2, as_json)


AsOfOpt = Annotated[str | None, typer.Option(help="Point in time, ISO 8601 (default: latest data)")]
TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        help="Reporting time zone of periods, dates and cohort months (default: the config's "
        "metrics.reporting_timezone, else UTC)",
        show_default=False,
    ),
]


Grain = choices("Grain", GRAINS)


HorizonOpt = Annotated[
    int | None,
    typer.Option(
        min=1, max=36500, help="Retention horizon H in days (default: 90)", show_default=False
    ),
]


OneTouch = choices("OneTouch", ONE_TOUCH_PRESETS)
# Each preset's rule as data_contracts.options words it, so the help cannot drift from it.
ONE_TOUCH_HELP = (
    "One-touch definition: "
    + "; ".join(f"{name}, {rule}" for name, rule in ONE_TOUCH_PRESETS.items())
    + " (default: the config's metrics.one_touch, else explore)"
)
Count = choices("Count", COUNTS)

# Options `metrics` and `tickets` share: one declaration, so their help and bounds agree.
WhereOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--where", help="Keep only DIM=V1,V2 (repeat for more dimensions)", show_default=False
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="First day, YYYY-MM-DD (tickets created, responses given)",
        show_default=False,
    ),
]
ToOpt = Annotated[
    str | None,
    typer.Option(
        "--to", help="Last day, YYYY-MM-DD: everything measured as of its end", show_default=False
    ),
]
TargetOpt = Annotated[
    float | None,
    typer.Option(min=0, help="Acknowledgement target (default: 60)", show_default=False),
]
CountOpt = Annotated[
    Count | None,
    typer.Option(
        help="What the recovery KPIs count: tickets (default), failure episodes "
        "(failures within --episode-window-days of each other) or customers",
        show_default=False,
    ),
]
EpisodeWindowOpt = Annotated[
    float | None,
    typer.Option(min=0, max=3650, help="Episode window in days (default: 7)", show_default=False),
]


# KPIs of the readable sliced table when no --kpi is given (--json shows every KPI).
TABLE_KPIS = (
    "ticket_volume",
    "tta_median_minutes",
    "tta_within_target_pct",
    "one_touch_rate",
    "recovery_rate",
    "csat_score",
    "recovered_retention",
    "nps",
)


def metrics(
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Slice by a dimension (twice for two): channel, group, priority, type, "
            "failure_tag, product_area, assignee, segment, plan, region, signup_month, "
            "tenure_band, recovery_group",
            show_default=False,
        ),
    ] = None,
    grain: Annotated[
        Grain | None,
        typer.Option(help="One row per calendar period (reporting time zone)", show_default=False),
    ] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    where: WhereOpt = None,
    kpi: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi", help="Only this KPI (repeat for more; default: all)", show_default=False
        ),
    ] = None,
    as_of: AsOfOpt = None,
    horizon_days: HorizonOpt = None,
    target_minutes: TargetOpt = None,
    one_touch: Annotated[
        OneTouch | None,
        typer.Option(help=ONE_TOUCH_HELP, show_default=False),
    ] = None,
    min_group_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Smaller groups are flagged small (default: 30)", show_default=False
        ),
    ] = None,
    count: CountOpt = None,
    episode_window_days: EpisodeWindowOpt = None,
    timezone: TimezoneOpt = None,
    as_json: JsonOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Compute the recovery KPIs in the warehouse: for the whole company, or sliced by up to
    two dimensions, per day, week, month or quarter, for a filtered slice.

    Examples: `turnaround metrics --by channel --grain week`,
    `turnaround metrics --by plan --where region=emea --from 2026-01-01 --json`.
    """
    from metrics import compute_kpis
    from metrics.slices import (
        SliceError,
        SliceRequest,
        check_where_in_data,
        compute_slice,
        parse_where,
        validate,
    )

    run = settings(config, log_level, as_json, warehouse)
    params = metric_params(
        run,
        as_of=_parse_as_of(as_of, as_json),
        horizon_days=horizon_days,
        target_minutes=target_minutes,
        one_touch=one_touch.value if one_touch else None,
        min_group_size=min_group_size,
        count=count.value if count else None,
        episode_window_days=episode_window_days,
        reporting_timezone=timezone,
    )
    try:
        request = SliceRequest(
            kpis=tuple(dict.fromkeys(kpi or ())),
            by=tuple(by or ()),
            grain=grain.value if grain else None,
            where=parse_where(where or []),
            start=_parse_day(start, "--from", as_json),
            end=_parse_day(end, "--to", as_json),
        )
        validate(request)
    except SliceError as exc:
        fail(str(exc), 2, as_json)
    _, engine = reader(run)
    # a value not in the data (a typo) is refused, as a value outside a closed set is
    _computed(run, lambda: check_where_in_data(engine, params, request.where))
    if request.sliced:
        result = _computed(run, lambda: compute_slice(engine, params, request))
        if as_json:
            print_json(_versioned(result, params.definitions))
        else:
            _print_slice(result, request, kpi_targets(run))
        return
    result = _computed(run, lambda: compute_kpis(engine, params, request))
    if as_json:
        print_json(_versioned(result, params.definitions))
        return
    _print_kpis(result, kpi_targets(run))


def _versioned(result: dict, definitions: str) -> dict:
    """A metric command's JSON document with the set of definitions its numbers follow
    (docs/definitions.md)."""
    return result | {"definitions_version": definitions}


def _computed(run, work):
    """``work()`` against the warehouse; a slice that the data makes too large (or a range
    with no room) is bad usage, exit 2."""
    from metrics.slices import SliceError

    try:
        return reading(run, work)
    except SliceError as exc:
        fail(str(exc), 2, run.as_json)


def _print_kpis(result: dict, targets: dict[str, float]) -> None:
    from metrics import KPI_CATALOG, format_value

    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    title = f"Recovery KPIs as of {result['as_of']}"
    if "filters" in result:
        title += f" ({_filters_text(result['filters'])})"
    table = Table(title=title)
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for name, value in result["kpis"].items():
        target = targets.get(name)
        shown = format_value(name, value)
        if value is None and name in result.get("notes", {}):
            shown = "n/a"
        table.add_row(
            KPI_CATALOG[name].label, shown, "" if target is None else format_value(name, target)
        )
    out.print(table)
    if result.get("notes"):
        out.print(f"n/a: {next(iter(result['notes'].values()))}.", highlight=False)
    _print_paradox(result["paradox"])


def _print_paradox(paradox: dict) -> None:
    """The primary verdict first (``paradox["primary"]``, its ``primary_comparison``), then
    every other comparison as secondary, then the multiple-comparison caveat."""
    from metrics.catalog import MULTIPLE_COMPARISONS

    shown = []  # (delta name, "matched" or None for the crude comparison), in JSON order
    for name, delta in paradox.items():
        if isinstance(delta, dict):  # not "primary" or "primary_comparison", two names
            shown += [(name, None)] + ([(name, "matched")] if "matched" in delta else [])
    comparison = paradox.get("primary_comparison")
    primary = (
        paradox["primary"],
        comparison if comparison in paradox[paradox["primary"]] else None,
    )
    out.print(f"Recovery paradox, primary: {_paradox_line(paradox, *primary)}", highlight=False)
    out.print("Secondary:", highlight=False)
    for name, compared in shown:
        if (name, compared) != primary:
            out.print(f"  {_paradox_line(paradox, name, compared)}", highlight=False)
    out.print(MULTIPLE_COMPARISONS, highlight=False)


def _paradox_line(paradox: dict, name: str, comparison: str | None) -> str:
    """``retention delta, like for like (tenure_band, segment, plan): +3.2 pp (...): holds``."""
    delta, label = paradox[name], name.replace("_", " ")
    if comparison is not None:
        delta = delta[comparison]
        label += f", like for like ({', '.join(delta['matched_on'])})"
    return f"{label}: {_delta_text(name, delta)}"


def _delta_text(name: str, delta: dict) -> str:
    """``+12.5 (95% CI +1.0 to +24.0; n 40 recovered, 38 never failed): holds``."""
    from metrics import format_value

    verdict = (delta["verdict"] or "not enough data").replace("_", " ")
    sizes = delta.get("n", {})
    n = ", ".join(f"{count:,} {group.replace('_', ' ')}" for group, count in sizes.items())
    details = [] if not n else [f"n {n}"]
    if delta["value"] is not None:
        low, high = format_value(name, delta["ci_low"]), format_value(name, delta["ci_high"])
        details.insert(0, f"95% CI {low} to {high}")
    shown = format_value(name, delta["value"])
    return f"{shown} ({'; '.join(details)}): {verdict}" if details else f"{shown}: {verdict}"


def _filters_text(filters: dict) -> str:
    parts = [f"{name} = {', '.join(values)}" for name, values in filters["where"].items()]
    if filters["from"] or filters["to"]:
        parts.append(f"{filters['from'] or '…'} to {filters['to'] or '…'}")
    return "; ".join(parts)


def _print_slice(result: dict, request, targets: dict[str, float]) -> None:
    from metrics import KPI_CATALOG, format_value
    from metrics.names import name_field

    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    names = list(request.kpis) or [n for n in TABLE_KPIS if n not in result["notes"]]
    title = f"Recovery KPIs as of {result['as_of']}"
    title += f", by {' and '.join(result['by'])}" if result["by"] else ""
    title += f", per {result['grain']}" if result["grain"] else ""
    filtered = _filters_text(result["filters"])
    table = Table(title=title + (f" ({filtered})" if filtered else ""))
    for dim in result["by"]:
        table.add_column(dim.replace("_", " "))
    if result["grain"]:
        table.add_column(result["grain"])
    for name in names:
        target = targets.get(name)
        header = KPI_CATALOG[name].label
        if target is not None:
            header += f"\n(target {format_value(name, target)})"
        table.add_column(header, justify="right")
    any_small = any_incomplete = False
    for row in result["rows"]:
        # a group or an agent by name (their id where none is known): metrics/names.py
        shown = [row.get(name_field(dim), row[dim]) for dim in result["by"]]
        cells = ["(none)" if value is None else str(value) for value in shown]
        if result["grain"]:
            incomplete = not row.get("complete", True)
            any_incomplete = any_incomplete or incomplete
            cells.append(row["period_start"] + (" †" if incomplete else ""))
        for name in names:
            value, n = row["kpis"][name], row["n"][name]
            if n is None:
                cells.append("n/a")
            elif KPI_CATALOG[name].unit == "count":
                cells.append(format_value(name, value))
            else:
                cells.append(f"{format_value(name, value)} (n={n:,})")
        if row["small"]:
            any_small = True
            cells[0] = f"{cells[0]} *"
        table.add_row(*cells)
    out.print(table)
    if any_small:
        out.print(
            f"* small group: fewer than {result['min_group_size']} tickets or customers behind "
            "every KPI of the row.",
            highlight=False,
        )
    if any_incomplete:
        out.print(
            f"† incomplete: ended less than {result['maturity_days']:g} days before as_of, so "
            "its tickets may not yet be answered or solved; its values are provisional.",
            highlight=False,
        )
    if result["notes"]:
        out.print(f"Not shown: {next(iter(result['notes'].values()))}.", highlight=False)


CohortBy = choices("CohortBy", COHORT_KINDS)


def cohorts(
    by: Annotated[
        CohortBy,
        typer.Option(
            help="Cohorts by month of signup, or of the first service failure "
            "(split by recovery group)"
        ),
    ] = CohortBy.signup_month,
    months: Annotated[
        int, typer.Option(min=1, max=120, help="How many cohort months, up to as_of's month")
    ] = 12,
    as_of: AsOfOpt = None,
    timezone: TimezoneOpt = None,
    as_json: JsonOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """The retention triangle: the share of each monthly cohort still a customer at the end
    of each later month."""
    from metrics.cohorts import compute_cohorts

    run = settings(config, log_level, as_json, warehouse)
    params = metric_params(run, as_of=_parse_as_of(as_of, as_json), reporting_timezone=timezone)
    _, engine = reader(run)
    result = reading(run, lambda: compute_cohorts(engine, params, by.value, months))
    if as_json:
        print_json(_versioned(result, params.definitions))
        return
    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    split = by is CohortBy.first_failure_month
    table = Table(
        title=f"Customers still active k months after their {by.value.replace('_', ' ')} "
        f"(as of {result['as_of']}, months in {result['timezone']})"
    )
    table.add_column("cohort")
    if split:
        table.add_column("recovery group")
    table.add_column("customers", justify="right")
    width = max((len(c["months"]) for c in result["cohorts"]), default=0)
    for k in range(1, width + 1):
        table.add_column(f"+{k}", justify="right")
    for cohort in result["cohorts"]:
        cells = [cohort["cohort"]]
        if split:
            cells.append(cohort["recovery_group"].replace("_", " "))
        cells.append(f"{cohort['customers']:,}")
        cells += [f"{m['share'] * 100:.0f}%" for m in cohort["months"]]
        cells += [""] * (width - len(cohort["months"]))
        table.add_row(*cells)
    out.print(table)


def recovery(
    as_of: AsOfOpt = None,
    horizon_days: HorizonOpt = None,
    as_json: JsonOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """What recovery buys and how the company recovers: the value of recovery against the
    unrecovered path, its cost and return, proactive against customer-reported failures, and
    close-the-loop time after a detractor response or a bad rating."""
    from metrics.recovery import compute_recovery

    run = settings(config, log_level, as_json, warehouse)
    params = metric_params(run, as_of=_parse_as_of(as_of, as_json), horizon_days=horizon_days)
    _, engine = reader(run)
    result = reading(run, lambda: compute_recovery(engine, params))
    if as_json:
        print_json(_versioned(result, params.definitions))
        return
    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    _print_economics(result["economics"], params.currency)
    table = Table(title="Proactive and customer-reported failures")
    for column in ("reported", "failures", "recovery rate", "customers at t0", "retention"):
        table.add_column(column, justify="left" if column == "reported" else "right")
    for kind, row in result["disclosure"].items():
        table.add_row(
            "by the company" if kind == "proactive" else "by the customer",
            f"{row['failures']:,}",
            "—" if row["recovery_rate"] is None else f"{row['recovery_rate']:.1%}",
            f"{row['customers_at_t0']:,}",
            "—" if row["retention"] is None else f"{row['retention']:.1%}",
        )
    out.print(table)
    loop = result["close_the_loop"]
    median = "—" if loop["median_hours"] is None else f"{loop['median_hours']:.1f} h"
    share = "—" if loop["within_share"] is None else f"{loop['within_share']:.1%}"
    out.print(
        f"Close the loop: {loop['signals']:,} detractor responses and bad ratings in 365 days; "
        f"{loop['closed']:,} answered by an agent's reply since, median {median}; "
        f"{share} within {loop['within_hours']:g} h" + _undated_text(loop),
        highlight=False,
    )


def _undated_text(loop: dict) -> str:
    """``"; 2 bad ratings without a known time left out"``, or "" when none (or 2026-11,
    which does not count them)."""
    undated = loop.get("undated_bad_ratings") or 0
    if not undated:
        return ""
    return f"; {undated:,} bad rating{'s' if undated != 1 else ''} without a known time left out"


def _print_economics(money: dict, currency: str) -> None:
    """One account of what recovery buys: the value of recovery, its cost and return under
    the current definitions; the earlier compensation and revenue-kept lines under 2026-11
    (the JSON keeps both)."""

    def amount(value) -> str:
        return "—" if value is None else f"{currency} {value:,.0f}"

    out.print(
        f"Recovery economics (customers active at {money['at']}, followed "
        f"{money['horizon_days']} days):",
        highlight=False,
    )
    value = money.get("value_of_recovery")
    if value is None:  # definitions 2026-11
        roi = money["roi"]
        out.print(
            f"  compensation paid: {amount(money['compensation_total'])}; to recovered "
            f"customers {amount(money['compensation_recovered'])} "
            f"({amount(money['compensation_per_recovered_customer'])} each, "
            f"{money['recovered_customers']:,} customers)",
            highlight=False,
        )
        out.print(
            f"  monthly revenue kept by recovered customers: {amount(money['mrr_kept'])}; at "
            f"the unrecovered retention rate: {amount(money['mrr_kept_at_unrecovered_rate'])}; "
            f"gained {amount(money['mrr_gained'])} a month",
            highlight=False,
        )
        out.print(
            f"  net of compensation over the horizon: {amount(money['net_gain'])}"
            + ("" if roi is None else f" (ROI {roi:.1f}× the compensation)"),
            highlight=False,
        )
        return
    paid = value["cost_by_group"]
    returned = "—" if value["return"] is None else f"{value['return']:.1f}×"
    if value["return_ci_low"] is not None:
        returned += f" (95% CI {value['return_ci_low']:.1f}× to {value['return_ci_high']:.1f}×)"
    gain = amount(value["gain"])
    if value["gain_ci_low"] is not None:
        gain += f" (95% CI {amount(value['gain_ci_low'])} to {amount(value['gain_ci_high'])})"
    out.print(
        f"  value of recovery over {value['window_start']} to {value['window_end']}: gain "
        f"{gain} against the unrecovered path, cost {amount(value['cost'])} "
        f"(compensation to recovered {amount(paid['recovered'])}, unrecovered "
        f"{amount(paid['unrecovered'])}, in recovery {amount(paid['in_recovery'])}), return "
        f"(gain − cost) / cost {returned}",
        highlight=False,
    )
    effect = money["compensation_effect"]
    if effect["difference"] is not None:
        given, not_given = effect["compensated"], effect["not_compensated"]
        out.print(
            f"  compensation's own effect on {money['horizon_days']}-day retention: "
            f"compensated {given['retention']:.1%} ({given['customers']:,}), not "
            f"{not_given['retention']:.1%} ({not_given['customers']:,}), difference "
            f"{_points(effect['difference'], effect['ci_low'], effect['ci_high'])}",
            highlight=False,
        )


def _points(value: float, low: float, high: float) -> str:
    """A difference of two shares in percentage points with its signed interval, as the
    paradox deltas print: ``-1.3 pp (95% CI -2.2 to +7.6)``."""
    return f"{value * 100:+.1f} pp (95% CI {low * 100:+.1f} to {high * 100:+.1f})"


SurvivalBy = choices("SurvivalBy", SURVIVAL_SPLITS)


SURVIVAL_DAYS = (30, 90, 180, 365)


def survival(
    by: Annotated[
        SurvivalBy,
        typer.Option(
            help="Curves per recovery group at the landmark (never-failed customers too), or "
            "per recovery quality of the last failure solved by then: time to first reply, "
            "one touch, compensation"
        ),
    ] = SurvivalBy.recovery_group,
    days: Annotated[
        int,
        typer.Option(
            min=1,
            help="Follow customers from as_of minus this many days (the landmark) to as_of",
        ),
    ] = 365,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Retention curves (Kaplan-Meier) of the customers active at a landmark, by their group
    then, with 95% bands, a log-rank test and the recovered - never-failed difference."""
    from metrics.survival import compute_survival

    run = settings(config, log_level, as_json, warehouse)
    params = metric_params(run, as_of=_parse_as_of(as_of, as_json))
    _, engine = reader(run)
    result = reading(run, lambda: compute_survival(engine, params, by.value, days))
    if as_json:
        print_json(_versioned(result, params.definitions))
        return
    if result["as_of"] is None:
        out.print("The warehouse is empty: load exports with `turnaround load PATH...`.")
        return
    earlier = "max_day" not in result  # the 2026-11 definitions: from the first failure
    title = (
        "Customers still active d days after their first failure was solved "
        f"(never-failed: after the landmark; as of {result['as_of']})"
        if earlier
        else f"Customers still active d days after {result['landmark']}, by their group then "
        f"(as of {result['as_of']})"
    )
    table = Table(title=title)
    table.add_column(by.value.replace("_", " "))
    table.add_column("customers", justify="right")
    table.add_column("churned", justify="right")
    shown_days = [d for d in SURVIVAL_DAYS if earlier or d <= result["max_day"]]
    for day in shown_days:
        table.add_column(f"{day} d", justify="right")
    for group in result["groups"]:
        cells = [
            group["group"].replace("_", " "),
            f"{group['customers']:,}",
            f"{group['events']:,}",
        ]
        for day in shown_days:
            cells.append(_survival_at(group["curve"], day))
        table.add_row(*cells)
    out.print(table)
    if earlier and result["landmark"]:
        out.print(
            f"Never-failed customers are followed from {result['landmark']}, the median start "
            "of the failed customers' follow-up.",
            highlight=False,
        )
    difference = result.get("difference")
    if difference and difference["value"] is None:
        out.print(
            f"Recovered minus never failed on day {difference['day']}: not enough data to "
            "compare customers with as many look-back tickets",
            highlight=False,
        )
    elif difference:
        out.print(
            f"Recovered minus never failed on day {difference['day']}, customers with as many "
            "look-back tickets: "
            f"{_points(difference['value'], difference['ci_low'], difference['ci_high'])}, "
            f"{difference['verdict'].replace('_', ' ')}",
            highlight=False,
        )
    test = result["logrank"]
    if test["p_value"] is not None:
        tested = (
            ""
            if earlier
            else " of "
            + " and ".join(name.replace("_", " ") for name in test["groups"])
            + " customers with as many look-back tickets"
        )
        out.print(
            f"Log-rank test{tested}: chi-square {test['statistic']:.2f} on {test['df']} df, "
            f"p = {test['p_value']:.3g}"
            + (" (the curves differ)" if test["p_value"] < 0.05 else " (no difference shown)"),
            highlight=False,
        )


def _survival_at(curve: list[dict], day: int) -> str:
    """``94.1% (93.6-94.7)`` on ``day``, or blank when follow-up does not reach it."""
    from metrics.survival import survival_at

    found = survival_at(curve, day)
    if found is None:
        return ""
    return f"{found['survival']:.1%} ({found['ci_low']:.1%}-{found['ci_high']:.1%})"


def runs(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(min=1, help="Most recent runs to show")] = 20,
    warehouse: WarehouseOpt = None,
    config: ConfigOpt = None,
    log_level: LogLevelOpt = LogLevel.warning,
) -> None:
    """Show the ETL run history, newest first (with --json, each run's files and contract
    checks too)."""
    from metrics.runs import run_history
    from warehouse import journal
    from warehouse.schema import COUNT_COLUMNS

    run = settings(config, log_level, as_json, warehouse)
    target = run.warehouse()
    journalled = [] if target.file_exists() or not target.path else journal.pending(target.path)[0]
    if journalled:  # runs that failed before there was a warehouse: the journal has them
        history = [{**r, "journal": True} for r in journalled][:limit]
    else:
        target, engine = reader(run)
        history = reading(run, lambda: run_history(engine, target.path, limit))
    if as_json:
        print_json(history)
        return
    table = Table(title="ETL runs")
    table.add_column("batch", no_wrap=True)
    for column in ("started (UTC)", "status", "files"):
        table.add_column(column)
    for column in COUNT_COLUMNS:  # skipped: records no table uses (a CSAT row, a preview)
        table.add_column(column.removeprefix("rows_"), justify="right")
    table.add_column("message")
    for r in history:
        table.add_row(
            r["batch_id"],
            f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
            r["status"] + (" (journal)" if r.get("journal") else ""),
            str(r["files"]),
            *[f"{r[c] or 0:,}" for c in COUNT_COLUMNS],
            (r["message"] or "")[:80],
        )
    out.print(table)
