"""``turnaround calibrate`` as make test runs it: 20 small worlds through the real loader and
metrics, its JSON checked against the worlds it lists (make calibrate runs the full size)."""

from __future__ import annotations

import pytest

from metrics.calibration import ALPHA, COVERAGE_FLOOR, JUDGED
from tests.processes import cli, json_out

pytestmark = pytest.mark.slow
WORLDS = 20
PRESENT = ("retention_delta", "retention_delta.matched", "nps_delta", "nps_delta.matched")


@pytest.fixture(scope="module")
def run():
    result = cli(
        "calibrate",
        *("--worlds", str(WORLDS), "--customers", "300", "--seed", "1"),
        *("--truth-customers", "10000", "--json"),
    )
    assert result.returncode in (0, 1), result.stderr
    return result, json_out(result)


def test_the_worlds_alternate_and_every_world_gives_the_paradox_verdicts(run) -> None:
    _, found = run
    assert found["settings"] == {
        "worlds": WORLDS,
        "customers": 300,
        "seed": 1,
        "truth_customers": 10_000,
    }
    worlds = found["worlds"]
    assert [w["world"] for w in worlds] == list(range(1, WORLDS + 1))
    assert [w["kind"] for w in worlds] == ["no_effect", "effect"] * (WORLDS // 2)
    assert len({w["seed"] for w in worlds}) == WORLDS
    for world in worlds:
        for name in PRESENT:
            given = world["verdicts"][name]
            assert given["verdict"] in ("holds", "not_detected", "reversed", "not_enough_data")


def test_false_claims_are_the_claims_of_the_worlds_without_an_effect(run) -> None:
    _, found = run
    verdicts = {v["name"]: v for v in found["verdicts"]}
    for name in PRESENT:
        given = [
            w["verdicts"][name]["verdict"] for w in found["worlds"] if w["kind"] == "no_effect"
        ]
        judged = [v for v in given if v != "not_enough_data"]
        claims = verdicts[name]["false_claims"]
        assert claims["worlds"] == WORLDS // 2
        assert claims["judged"] == len(judged)
        assert claims["claims"] == sum(v in ("holds", "reversed") for v in judged)
        if claims["judged"]:
            assert claims["rate"] == claims["claims"] / claims["judged"]
            assert claims["ci_low"] <= claims["rate"] <= claims["ci_high"]
            assert claims["passes"] == (claims["p_value"] >= ALPHA)


def test_coverage_is_the_share_of_intervals_holding_the_truth(run) -> None:
    _, found = run
    for verdict in found["verdicts"]:
        if verdict["name"] not in PRESENT:
            continue
        for kind in ("no_effect", "effect"):
            truth = verdict["truth"][kind]
            intervals = [
                (
                    w["verdicts"][verdict["name"]]["ci_low"],
                    w["verdicts"][verdict["name"]]["ci_high"],
                )
                for w in found["worlds"]
                if w["kind"] == kind
            ]
            covered = sum(low <= truth <= high for low, high in intervals)
            shown = verdict["coverage"][kind]
            assert (shown["intervals"], shown["covered"]) == (len(intervals), covered)
            assert shown["passes"] == (covered / len(intervals) >= COVERAGE_FLOOR)


def test_the_effect_worlds_have_the_effect_in_their_truth(run) -> None:
    _, found = run
    truth = {v["name"]: v["truth"] for v in found["verdicts"]}
    # nps_effect 1: about +0.6 points of mean score, some +20 NPS points
    assert truth["nps_delta"]["effect"] > truth["nps_delta"]["no_effect"] + 10
    # retention_effect 10: recovered customers churn at 0.60 of the never-failed hazard
    assert truth["retention_delta"]["effect"] > truth["retention_delta"]["no_effect"]


def test_the_exit_code_says_whether_a_verdict_failed(run) -> None:
    result, found = run
    statuses = {v["name"]: v["status"] for v in found["verdicts"]}
    failed = "fail" in statuses.values()
    assert found["status"] == ("failed" if failed else "not_judged")
    assert found["passed"] is False  # 10 worlds without an effect are too few to judge
    if failed:
        assert found["message"].startswith("verdicts that failed: ")
    else:
        assert found["message"].startswith("not enough worlds to judge: ")
    assert result.returncode == (1 if failed else 0)
    for verdict in found["verdicts"]:
        if verdict["name"] in PRESENT:  # a false-claim check: 10 verdicts at most, too few
            assert verdict["status"] in ("fail", "too_few_worlds", "not_checked")
        if verdict["status"] not in ("fail", "pass"):
            assert verdict["reason"]
    assert found["definitions_version"] == "2026-12"


def _two_worlds(tmp_path, config: str) -> tuple:
    """Two worlds of 300 customers, seed 1 (the same first two worlds as ``run``), measured
    with ``config``."""
    path = tmp_path / "turnaround.toml"
    path.write_text(config)
    result = cli(
        "calibrate",
        *("--worlds", "2", "--customers", "300", "--seed", "1", "--truth-customers", "2000"),
        *("--json", "--config", str(path)),
    )
    assert result.returncode in (0, 1), result.stderr
    return result, json_out(result)


def test_the_config_reaches_every_world(run, tmp_path) -> None:
    _, default = run
    # The same first world with the default parameters gives a retention verdict...
    assert default["worlds"][0]["verdicts"]["retention_delta"]["verdict"] != "not_enough_data"
    # ...and none when every group must have 100,000 customers.
    result, found = _two_worlds(tmp_path, "[metrics]\nmin_group_size = 100000\n")
    assert [w["seed"] for w in found["worlds"]] == [w["seed"] for w in default["worlds"][:2]]
    for world in found["worlds"]:
        assert world["verdicts"]["retention_delta"]["verdict"] == "not_enough_data"
    verdicts = {v["name"]: v for v in found["verdicts"]}
    assert verdicts["retention_delta"]["false_claims"]["judged"] == 0
    assert verdicts["retention_delta"]["status"] == "not_checked"
    # Two worlds are never enough: not passed, said plainly, exit 0 without a failure.
    assert (found["passed"], found["status"]) == (False, "not_judged")
    assert result.returncode == 0
    text = cli(
        "calibrate",
        *("--worlds", "2", "--customers", "300", "--truth-customers", "2000"),
        *("--config", str(tmp_path / "turnaround.toml")),
    )
    assert "Not enough worlds to judge: " in text.stdout
    assert text.returncode == 0


def test_the_earlier_definitions_are_calibrated_when_configured(tmp_path) -> None:
    _, found = _two_worlds(tmp_path, '[metrics]\ndefinitions = "2026-11"\n')
    assert found["definitions_version"] == "2026-11"
    # The 2026-11 survival follows customers from their first failure and gives no verdict.
    survival = {v["name"]: v for v in found["verdicts"]}["survival.difference"]
    assert (survival["status"], survival["worlds"]) == ("not_available", 0)
    for world in found["worlds"]:
        assert world["verdicts"]["survival.difference"] is None
        assert world["verdicts"]["retention_delta"]["verdict"] in JUDGED + ("not_enough_data",)


def test_a_bad_config_is_exit_2(tmp_path) -> None:
    path = tmp_path / "turnaround.toml"
    path.write_text('[metrics]\ndefinitions = "2025-01"\n')
    result = cli("calibrate", "--worlds", "2", "--json", "--config", str(path))
    assert result.returncode == 2
    assert "definitions" in json_out(result)["message"]


def test_bad_usage_is_exit_2_with_json() -> None:
    result = cli("calibrate", "--worlds", "1", "--json")
    assert result.returncode == 2
    assert json_out(result)["status"] == "error"
    assert "--worlds" in json_out(result)["message"]


def test_the_page_make_calibrate_writes(run) -> None:
    import datetime as dt
    import importlib.util

    from tests.repository_guard import REPO_ROOT

    spec = importlib.util.spec_from_file_location(
        "calibration_page", REPO_ROOT / "scripts" / "calibration_page.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    _, found = run
    when = dt.datetime(2026, 12, 7, 12, 30, tzinfo=dt.UTC)
    text = script.page(found, "turnaround calibrate --worlds 20", when, "abc1234")
    assert "- Command: `turnaround calibrate --worlds 20`" in text
    assert "- Date: 2026-12-07 12:30 UTC" in text
    assert "- Commit: abc1234" in text
    assert "fewer than the 400 the verdicts are judged on" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(found["verdicts"])  # the header and one row per verdict
    assert "A verdict **fails**" in text
    assert "verdict **passes** only when every check" in text
