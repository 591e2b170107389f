"""``turnaround calibrate``: generated worlds through the real loader and metrics, to show how
often each verdict claims an effect that is not there (docs/metrics.md, "Calibration").

Worlds alternate: odd-numbered ones have no recovery effect (every setting in EFFECTS at 0),
even-numbered ones the known effects of EFFECTS["effect"]. Each world is generated in the
canonical format, loaded into a fresh DuckDB warehouse in a temporary folder by the loader
(etl.pipeline.load), and measured by the metrics (compute_kpis, compute_survival) with the
metric parameters given (the command's config). Each
verdict's truth, per kind of world, comes from one large run of the generator alone
(truth.py). The verdicts are data (VERDICTS): one missing from the metrics' output is
reported as not available, and is calibrated once the metrics give it.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from metrics.calibration import (
    ALPHA,
    BAD_RATE,
    COVERAGE_FLOOR,
    FALSE_CLAIM_LIMIT,
    POWER_FLOOR,
    coverage,
    false_claims,
)
from metrics.calibration import status as judged_status
from metrics.params import MetricParams
from metrics.survival import COUNT_CAP
from turnaround.calibrate import truth
from turnaround.generate.model import Demo, simulate

NO_EFFECT, EFFECT = "no_effect", "effect"
# The generator's settings per kind of world. The effect world: recovered customers score
# about 0.6 points higher (+20 NPS points), churn at 0.95**10 = 0.60 of the never-failed
# hazard, and rate a recovered failure better (turnaround.generate).
EFFECTS: dict[str, dict[str, float]] = {
    NO_EFFECT: {"nps_effect": 0.0, "retention_effect": 0.0, "csat_effect": 0.0},
    EFFECT: {"nps_effect": 1.0, "retention_effect": 10.0, "csat_effect": 1.0},
}
TRUTH_CUSTOMERS = 100_000
SEED_STRIDE = 10_000  # world i of seed S is generated with seed S * SEED_STRIDE + i
MAX_WORLDS = SEED_STRIDE - 1
# Loads need a hash key; the generated worlds hold no email, so any fixed key will do, and
# the user's secrets file is never read or created.
HASH_KEY = "turnaround-calibrate"


@dataclass(frozen=True)
class Verdict:
    """One verdict the product gives: where a world's metrics put it, the generator setting
    that gives it an effect, and how its truth is computed from the generator alone
    (``truth(population, section, params)``, section the metrics' output it is read from)."""

    name: str
    label: str
    source: str  # "kpis" (compute_kpis) or "survival" (compute_survival)
    path: tuple[str, ...]
    effect: str
    truth: Callable[[Demo, dict, MetricParams], float | None]
    # False where the generator's world without an effect still has a difference (failures
    # rated worse than ordinary tickets): no false claim can be counted there.
    zero_without_effect: bool = True


def _survival_truth(demo: Demo, section: dict, params: MetricParams) -> float | None:
    """Survival on the fixed day from the landmark (as_of - max_day) within the same
    look-back ticket count: the same share as a retention from the landmark."""
    landmark = truth.AS_OF - dt.timedelta(days=section["max_day"])
    day = section["difference"]["day"]
    return truth.survival_difference(demo, landmark, day, params.lookback_days, COUNT_CAP)


def _retention_truth(matched: bool, demo: Demo, _: dict, params: MetricParams) -> float | None:
    horizon = params.horizon_days
    start = truth.AS_OF - dt.timedelta(days=horizon)
    return truth.retention_difference(demo, start, horizon, matched)


VERDICTS: tuple[Verdict, ...] = (
    Verdict(
        "retention_delta",
        "Retention, crude",
        "kpis",
        ("paradox", "retention_delta"),
        "retention_effect",
        partial(_retention_truth, False),
    ),
    Verdict(
        "retention_delta.matched",
        "Retention, like for like",
        "kpis",
        ("paradox", "retention_delta", "matched"),
        "retention_effect",
        partial(_retention_truth, True),
    ),
    Verdict(
        "nps_delta",
        "NPS, crude",
        "kpis",
        ("paradox", "nps_delta"),
        "nps_effect",
        lambda demo, *_: truth.nps_difference(demo),
    ),
    Verdict(
        "nps_delta.matched",
        "NPS, like for like",
        "kpis",
        ("paradox", "nps_delta", "matched"),
        "nps_effect",
        lambda demo, *_: truth.nps_difference(demo, matched=True),
    ),
    Verdict(
        "csat_delta",
        "Satisfaction (CSAT)",
        "kpis",
        ("paradox", "csat_delta"),
        "csat_effect",
        lambda demo, *_: truth.csat_difference(demo),
        zero_without_effect=False,
    ),
    Verdict(
        "survival.difference",
        "Survival on the fixed day",
        "survival",
        ("difference",),
        "retention_effect",
        _survival_truth,
    ),
)


def generator_settings(kind: str) -> dict[str, float]:
    """EFFECTS[kind] less the settings this generator does not have."""
    known = inspect.signature(simulate).parameters
    return {name: value for name, value in EFFECTS[kind].items() if name in known}


def world_kind(world: int) -> str:
    """Odd-numbered worlds (from 1) have no effect, even-numbered ones have one."""
    return NO_EFFECT if world % 2 else EFFECT


def _found(section: dict | None, path: tuple[str, ...]) -> dict | None:
    for key in path:
        if not isinstance(section, dict):
            return None
        section = section.get(key)
    return section if isinstance(section, dict) and "verdict" in section else None


@contextmanager
def _hash_key() -> Iterator[None]:
    from etl.identity import HASH_KEY_ENV

    before = os.environ.get(HASH_KEY_ENV)
    os.environ[HASH_KEY_ENV] = HASH_KEY
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(HASH_KEY_ENV, None)
        else:
            os.environ[HASH_KEY_ENV] = before


def run_world(
    customers: int,
    seed: int,
    kind: str,
    params: MetricParams = MetricParams(),  # noqa: B008
) -> dict[str, dict]:
    """One world generated, loaded into a fresh DuckDB warehouse and measured with
    ``params``: the metrics' output per source (``{"kpis": ..., "survival": ...}``)."""
    from etl.pipeline.load import load_paths
    from metrics import compute_kpis
    from metrics.survival import compute_survival
    from turnaround.generate import generate
    from warehouse import get_engine

    with tempfile.TemporaryDirectory(prefix="turnaround-calibrate-") as folder, _hash_key():
        data = Path(folder) / "world"
        generate(data, customers=customers, seed=seed, fmt="canonical", **generator_settings(kind))
        engine = get_engine(f"duckdb:///{Path(folder) / 'world.duckdb'}")
        try:
            load_paths(engine, [data])
            return {
                "kpis": compute_kpis(engine, params),
                "survival": compute_survival(engine, params),
            }
        finally:
            engine.dispose()


def _world_row(world: int, seed: int, kind: str, output: dict[str, dict]) -> dict:
    verdicts = {}
    for verdict in VERDICTS:
        found = _found(output.get(verdict.source), verdict.path)
        verdicts[verdict.name] = found and {
            key: found.get(key) for key in ("value", "ci_low", "ci_high", "verdict")
        }
    as_of = output["kpis"].get("as_of")
    return {"world": world, "seed": seed, "kind": kind, "as_of": as_of, "verdicts": verdicts}


def calibrate(
    worlds: int,
    customers: int,
    seed: int,
    truth_customers: int = TRUTH_CUSTOMERS,
    progress: Callable[[int, int], None] | None = None,
    params: MetricParams = MetricParams(),  # noqa: B008
) -> dict:
    """Run ``worlds`` worlds of ``customers`` customers, each measured with ``params``, and
    judge every verdict.

    ``{"status": "passed"|"failed"|"not_judged", "passed": bool, "message" (unless passed:
    the verdicts that failed, or could not be judged), "definitions_version",
    "settings": {...}, "limits": {...}, "effects": {...},
    "verdicts": [{"name", "label", "status", "reason", "worlds", "truth": {kind: value},
    "false_claims": metrics.calibration.false_claims, "coverage": {kind:
    metrics.calibration.coverage}}], "worlds": [{"world", "seed", "kind", "as_of",
    "verdicts": {name: {"value", "ci_low", "ci_high", "verdict"} or None}}]}``.
    ``progress(done, worlds)`` is called before each world and after the last. ``failed``
    when a verdict fails; else ``passed`` only when every verdict the metrics give passes
    (one not_available is not given to anyone), and ``not_judged`` otherwise.
    """
    rows, sections = [], {}
    for world in range(1, worlds + 1):
        if progress:
            progress(world - 1, worlds)
        kind = world_kind(world)
        output = run_world(customers, seed * SEED_STRIDE + world, kind, params)
        for verdict in VERDICTS:
            if _found(output.get(verdict.source), verdict.path):
                sections.setdefault(verdict.name, output[verdict.source])
        rows.append(_world_row(world, seed * SEED_STRIDE + world, kind, output))
    if progress:
        progress(worlds, worlds)
    truths = _truths(sections, seed * SEED_STRIDE, truth_customers, params)
    judged = [_judge(verdict, rows, truths.get(verdict.name, {})) for verdict in VERDICTS]
    failed = [v["name"] for v in judged if v["status"] == "fail"]
    unjudged = [v["name"] for v in judged if v["status"] in ("not_checked", "too_few_worlds")]
    if failed:
        outcome, message = "failed", f"verdicts that failed: {', '.join(failed)}"
    elif unjudged or not any(v["status"] == "pass" for v in judged):
        outcome = "not_judged"
        message = f"not enough worlds to judge: {', '.join(unjudged) or 'no verdict given'}"
    else:
        outcome, message = "passed", None
    return {
        "status": outcome,
        "passed": outcome == "passed",
        **({"message": message} if message else {}),
        "definitions_version": params.definitions,
        "settings": {
            "worlds": worlds,
            "customers": customers,
            "seed": seed,
            "truth_customers": truth_customers,
        },
        "limits": {
            "false_claim_rate": FALSE_CLAIM_LIMIT,
            "alpha": ALPHA,
            "coverage": COVERAGE_FLOOR,
            "bad_rate": BAD_RATE,
            "power": POWER_FLOOR,
        },
        "effects": {kind: generator_settings(kind) for kind in EFFECTS},
        "verdicts": judged,
        "worlds": rows,
    }


def _truths(
    sections: dict[str, dict], seed: int, customers: int, params: MetricParams
) -> dict[str, dict]:
    """Each present verdict's truth per kind of world, from one population per kind."""
    if not sections:
        return {}
    found: dict[str, dict] = {name: {} for name in sections}
    for kind in EFFECTS:
        demo = truth.population(customers, seed, generator_settings(kind))
        for verdict in VERDICTS:
            if verdict.name in sections:
                found[verdict.name][kind] = verdict.truth(demo, sections[verdict.name], params)
        del demo
    return found


def _judge(verdict: Verdict, rows: list[dict], truths: dict[str, float | None]) -> dict:
    given = [(row["kind"], row["verdicts"][verdict.name]) for row in rows]
    given = [(kind, found) for kind, found in given if found is not None]
    result = {"name": verdict.name, "label": verdict.label, "worlds": len(given)}
    reason = None
    if not given:
        reason = "the metrics do not give this verdict"
    elif verdict.effect not in generator_settings(EFFECT):
        reason = f"the generator has no {verdict.effect} setting"
    if reason:
        return result | {
            # a verdict the metrics give but the generator cannot test is not checked
            "status": "not_available" if not given else "not_checked",
            "reason": reason,
            "truth": dict.fromkeys(EFFECTS),
            "false_claims": false_claims([]),
            "coverage": {kind: coverage([], None) for kind in EFFECTS},
        }
    null = [found["verdict"] for kind, found in given if kind == NO_EFFECT]
    claims = false_claims(null if verdict.zero_without_effect else [])
    covered = {
        kind: coverage(
            [(f["ci_low"], f["ci_high"]) for k, f in given if k == kind], truths.get(kind)
        )
        for kind in EFFECTS
    }
    # Only the checks that apply: CSAT has no world where its comparison is 0.
    checks = [claims] if verdict.zero_without_effect else []
    outcome = judged_status(checks[0] if checks else None, *covered.values())
    missing = [kind for kind, found in covered.items() if found["passes"] is None]
    if not verdict.zero_without_effect:
        reason = "the generator has no world without a difference here: coverage only"
    elif claims["judged"] == 0:
        reason = "no world without an effect gave a verdict (groups too small)"
    if outcome == "not_checked" and missing:
        reason = (reason + "; " if reason else "") + (
            f"no interval or no truth in the worlds {' and '.join(missing)}"
        )
    elif outcome == "too_few_worlds":
        short = [
            f"{claims['judged']} verdicts without an effect"
            for check in checks
            if not check["enough_worlds"]
        ] + [
            f"{check['intervals']} intervals in the worlds {kind}"
            for kind, check in covered.items()
            if not check["enough_worlds"]
        ]
        reason = (reason + "; " if reason else "") + (
            f"not enough worlds to judge ({', '.join(short)}: too few to fail a "
            f"{100 * BAD_RATE:.0f}% rate of wrong answers at least half the time)"
        )
    return result | {
        "status": outcome,
        "reason": reason,
        "truth": {kind: truths.get(kind) for kind in EFFECTS},
        "false_claims": claims,
        "coverage": covered,
    }
