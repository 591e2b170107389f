"""``turnaround pull`` against a local server playing Zendesk's and Delighted's APIs: pages in
their real shapes, rate limits, server errors, refused credentials, dropped connections, a
pull killed between two pages; every row loads exactly once and no credential is kept."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import signal
import stat
import subprocess
import time

import pytest
import sqlalchemy as sa

from etl.pipeline.load_options import LoadError
from etl.sources.pull.run import PullSettings, pull
from tests.api_server import (
    DELIGHTED_KEY,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    Scenario,
    api_server,
)
from tests.processes import SAFETY_SECONDS, TURNAROUND, cli, json_out

SECRETS = (
    ZENDESK_TOKEN,
    DELIGHTED_KEY,
    base64.b64encode(f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode(),
    base64.b64encode(f"{DELIGHTED_KEY}:".encode()).decode(),
)

pytestmark = pytest.mark.concurrency  # make stress loops these under load


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("ZENDESK_EMAIL", ZENDESK_EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", ZENDESK_TOKEN)
    monkeypatch.setenv("DELIGHTED_API_KEY", DELIGHTED_KEY)


def _settings(tmp_path, url: str, source: str = "zendesk") -> PullSettings:
    return PullSettings(source, base_url=url, folder=tmp_path / "pulls", time_limit=60)


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {table}")).scalar()


def _positions(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select name, value from warehouse_meta where name like 'pull:%'")
        ).all()
    return {name: json.loads(value) for name, value in rows}


def _everything_stored(engine) -> str:
    with engine.connect() as conn:
        return " ".join(
            str(row)
            for table in sa.inspect(conn).get_table_names()
            for row in conn.execute(sa.text(f"select * from {table}"))
        )


def test_a_first_and_a_second_zendesk_pull(any_engine, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    scenario = Scenario()
    with api_server(scenario) as url:
        first = pull(any_engine, _settings(tmp_path, url))
        assert first.status == "succeeded"
        assert (_count(any_engine, "tickets"), _count(any_engine, "customer_identities")) == (
            91,
            100,
        )
        assert _count(any_engine, "ticket_groups") == 1
        with any_engine.connect() as conn:
            replies = conn.execute(
                sa.text("select agent_replies from tickets where ticket_id = '29'")
            ).scalar()
        assert replies == 29 % 3  # the side-loaded metric_set reached its ticket
        [(name, positions)] = _positions(any_engine).items()
        assert name.startswith("pull:zendesk:127.0.0.1:")
        assert positions == {"tickets": "t2", "users": "u1"}
        asked_before = len(scenario.queries)
        second = pull(any_engine, _settings(tmp_path, url))
        assert second.totals()["rows_loaded"] == 0
        assert _positions(any_engine)[name] == positions  # nothing new: the cursor stays
        again = {p: q for p, q in scenario.queries[asked_before:]}
        assert again["/api/v2/incremental/tickets/cursor.json"]["cursor"] == "t2"
        assert again["/api/v2/incremental/users/cursor.json"]["cursor"] == "u1"
        assert _count(any_engine, "tickets") == 91
    pages = sorted((tmp_path / "pulls" / "zendesk").rglob("*.json"))
    assert pages and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in pages)
    assert stat.S_IMODE((tmp_path / "pulls" / "zendesk").stat().st_mode) == 0o700
    kept = " ".join(p.read_text() for p in pages)
    assert not any(secret in kept for secret in SECRETS)
    assert not any(secret in caplog.text for secret in SECRETS)
    assert not any(secret in _everything_stored(any_engine) for secret in SECRETS)


def test_a_pull_waits_out_a_429_and_retries_a_500_and_a_dropped_connection(engine, tmp_path):
    scenario = Scenario(
        failures={
            ("/api/v2/incremental/tickets/cursor.json", 1): "429",
            ("/api/v2/incremental/tickets/cursor.json", 2): "drop",
            ("/api/v2/incremental/users/cursor.json", 1): "500",
        },
        retry_after=1.5,
    )
    waits = []
    with api_server(scenario) as url:
        report = pull(engine, _settings(tmp_path, url), sleep=waits.append)
    assert report.status == "succeeded"
    assert _count(engine, "tickets") == 91 and _count(engine, "customer_identities") == 100
    assert waits[0] == 1.5  # what Retry-After said
    assert len(waits) == 3 and all(w <= 60 for w in waits)
    assert scenario.calls["/api/v2/incremental/tickets/cursor.json"] == 4  # 429, drop, 2 pages


def test_refused_credentials_stop_the_pull_naming_the_settings(engine, tmp_path):
    scenario = Scenario(failures={("/api/v2/incremental/tickets/cursor.json", 1): "401"})
    with api_server(scenario) as url:
        with pytest.raises(LoadError, match="check ZENDESK_EMAIL and ZENDESK_API_TOKEN") as failed:
            pull(engine, _settings(tmp_path, url))
        assert scenario.calls["/api/v2/incremental/tickets/cursor.json"] == 1  # no retry
    assert ZENDESK_TOKEN not in str(failed.value)
    with engine.connect() as conn:
        status, message = conn.execute(sa.text("select status, message from etl_runs")).one()
    assert status == "failed" and "HTTP 401" in message and ZENDESK_TOKEN not in message
    assert _count(engine, "tickets") == 0


def test_the_command_line_exits_1_on_401_and_2_without_credentials(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    with api_server(
        Scenario(failures={("/api/v2/incremental/tickets/cursor.json", 1): "401"})
    ) as url:
        refused = cli("pull", "zendesk", "--base-url", url, "--warehouse", warehouse, env=env)
    assert refused.returncode == 1
    assert "check ZENDESK_EMAIL and ZENDESK_API_TOKEN" in refused.stderr
    assert (
        "Traceback" not in refused.stderr and ZENDESK_TOKEN not in refused.stderr + refused.stdout
    )
    without = {k: v for k, v in env.items() if k != "ZENDESK_API_TOKEN"}
    missing = cli(
        "pull", "zendesk", "--base-url", "http://127.0.0.1:9", "--warehouse", warehouse, env=without
    )
    assert (
        missing.returncode == 2
        and "set the environment variable ZENDESK_API_TOKEN" in missing.stderr
    )


def _pull_held_at(scenario: Scenario, url: str, warehouse: str, env: dict):
    """A ``turnaround pull zendesk`` process, once it has asked for the page the server holds
    (until the test sets ``scenario.released``)."""
    process = subprocess.Popen(
        [TURNAROUND, "pull", "zendesk", "--base-url", url, "--warehouse", warehouse],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(SAFETY_SECONDS):  # each second, a look that the pull has not died instead
        if scenario.held.wait(timeout=1):
            return process
        assert process.poll() is None, "the pull ended before it asked for the held page"
    process.kill()
    raise AssertionError(f"the pull did not ask for the held page within {SAFETY_SECONDS} s")


def test_a_pull_killed_between_two_pages_then_run_again_loads_every_row_once(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    scenario = Scenario(failures={("/api/v2/incremental/tickets/cursor.json", 2): "hold"})
    with api_server(scenario) as url:
        process = _pull_held_at(scenario, url, warehouse, env)
        process.send_signal(signal.SIGKILL)  # the first page is in, the second on its way
        process.wait(30)
        scenario.released.set()
        again = cli(
            "pull", "zendesk", "--base-url", url, "--warehouse", warehouse, "--json", env=env
        )
    assert again.returncode == 0, again.stderr
    # tickets, their metric sets, users, the group, the 3 agents and admins: each once
    assert json_out(again)["rows_loaded"] == 91 + 91 + 100 + 1 + 3
    engine = sa.create_engine(warehouse)
    with engine.connect() as conn:
        tickets = conn.execute(sa.text("select ticket_id from tickets")).scalars().all()
        runs = conn.execute(sa.text("select status from etl_runs")).scalars().all()
    engine.dispose()
    assert len(tickets) == 91
    assert runs == ["succeeded"]  # the killed pull committed nothing


def test_a_delighted_pull_and_a_second_that_finds_nothing_new(any_engine, tmp_path):
    scenario = Scenario()
    with api_server(scenario) as url:
        first = pull(any_engine, _settings(tmp_path, url, "delighted"))
        assert first.status == "succeeded"
        assert _count(any_engine, "nps_responses") == 130
        assert scenario.calls["/v1/survey_responses.json"] == 2  # pages of 100
        [(name, positions)] = _positions(any_engine).items()
        assert positions == {"survey_responses": str(1717000000 + 60 * 130)}
        asked_before = len(scenario.queries)
        second = pull(any_engine, _settings(tmp_path, url, "delighted"))
        assert second.totals()["rows_loaded"] == 0
        assert _positions(any_engine)[name] == positions
        [(_, asked)] = scenario.queries[asked_before:]
        assert asked["updated_since"] == positions["survey_responses"]
    with any_engine.connect() as conn:
        ids = dict(
            conn.execute(sa.text("select response_id, customer_id from nps_responses")).all()
        )
    assert ids["503"] == "CRM-3" and ids["501"].startswith("email:")
    assert "example.com" not in _everything_stored(any_engine)


def test_a_response_edited_while_a_delighted_pull_pages_costs_no_other_response(
    engine, tmp_path, monkeypatch
):
    from etl.sources.delighted import pull as delighted

    started = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)]  # when a pull starts, as it sees
    monkeypatch.setattr(delighted, "now", lambda: started[0])

    def edit(scenario: Scenario) -> None:  # response 511, on the first page, gets a comment
        [edited] = [r for r in scenario.responses if r["id"] == "511"]
        edited["comment"] = "later thoughts"
        edited["updated_at"] = int(started[0].timestamp()) + 1  # while the pull pages

    scenario = Scenario(failures={("/v1/survey_responses.json", 2): "edit"}, edit=edit)
    with api_server(scenario) as url:
        first = pull(engine, _settings(tmp_path, url, "delighted"))
        assert first.status == "succeeded"
        with engine.connect() as conn:
            ids = set(conn.execute(sa.text("select response_id from nps_responses")).scalars())
        # all of them: page 2 is asked from page 1's last time, so the edit, which takes 511
        # out of the window (it ends at the pull's start), moves no other out of reach
        assert ids == {str(500 + i) for i in range(1, 131)}
        started[0] += dt.timedelta(seconds=2)  # the next pull starts past the edit's second
        second = pull(engine, _settings(tmp_path, url, "delighted"))
        assert (second.totals()["rows_loaded"], second.totals()["rows_replaced"]) == (0, 1)
        [[_, asked]] = [q for q in scenario.queries[-1:]]
        assert asked["order"] == "asc:updated_at"
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("select response_id, comment from nps_responses")).all())
    assert len(rows) == 130 and rows["511"] == "later thoughts"


def test_a_delighted_second_holding_more_than_a_page_is_paged_through(engine, tmp_path):
    from tests.api_server import delighted_responses

    responses = [  # 260 responses, all updated in one second: an import, say
        {**r, "id": str(1000 + i), "updated_at": 1717000000}
        for i, r in enumerate(delighted_responses() * 2)
    ]
    scenario = Scenario(responses=responses)
    with api_server(scenario) as url:
        assert pull(engine, _settings(tmp_path, url, "delighted")).status == "succeeded"
    assert _count(engine, "nps_responses") == 260
    asked = [(q.get("updated_since"), q["page"]) for _, q in scenario.queries]
    assert asked == [(None, "1"), ("1716999999", "1"), ("1716999999", "2"), ("1716999999", "3")]


def test_refresh_loads_the_sources_that_work_and_fails_for_the_one_that_does_not(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "DELIGHTED_KEY_THAT_IS_WRONG": "not-the-key"}
    with api_server(Scenario()) as url:
        config = tmp_path / "turnaround.toml"
        config.write_text(
            f'[pull]\nfolder = "{tmp_path / "pulls"}"\n\n'
            f'[pull.zendesk]\nbase_url = "{url}"\n\n'
            f'[pull.delighted]\nbase_url = "{url}"\napi_key_env = "DELIGHTED_KEY_THAT_IS_WRONG"\n\n'
            '[refresh]\nsources = ["zendesk", "delighted"]\n'
        )
        done = cli("refresh", "--config", str(config), "--warehouse", warehouse, "--json", env=env)
    assert done.returncode == 1, done.stderr
    result = json_out(done)
    assert [(s["source"], s["status"]) for s in result["sources"]] == [
        ("zendesk", "succeeded"),
        ("delighted", "failed"),
    ]
    assert "DELIGHTED_KEY_THAT_IS_WRONG" in result["problems"][0]
    runs = json_out(cli("runs", "--json", "--warehouse", warehouse, env=env))
    assert sorted(r["status"] for r in runs) == ["failed", "succeeded"]
    assert "not-the-key" not in done.stdout + done.stderr


def test_zendesk_rate_limit_headers_pause_the_next_request(engine, tmp_path, monkeypatch):
    from etl.sources.pull import http

    class Clock:  # the client's clock moves only when it sleeps: waits come out exact
        def __init__(self) -> None:
            self.now, self.waits = 1000.0, []

        def monotonic(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.waits.append(seconds)
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(http, "time", clock)
    scenario = Scenario(remaining="0", reset="2")
    with api_server(scenario) as url:
        pull(engine, _settings(tmp_path, url), sleep=clock.sleep)
    calls = sum(scenario.calls.values())
    assert calls > 1 and clock.waits == [2.0] * (calls - 1)  # ratelimit-reset, before each next


def test_the_kept_pages_replay_with_load_and_old_ones_are_pruned(engine, tmp_path):
    from etl.pipeline.load import load_paths
    from etl.sources.pull.raw import prune

    with api_server(Scenario()) as url:
        report = pull(engine, _settings(tmp_path, url))
    [folder] = [p for p in (tmp_path / "pulls" / "zendesk").iterdir()]
    assert folder.name == report.batch_id
    replay = sa.create_engine(f"duckdb:///{tmp_path / 'replay.duckdb'}")
    load_paths(replay, [folder])
    assert _count(replay, "tickets") == 91 and _count(replay, "customer_identities") == 100
    replay.dispose()
    old = time.time() - 20 * 86400
    # what else an operator keeps in the folder, as old, is not the pull's to delete
    theirs = [
        tmp_path / "pulls" / "reports" / "2026",
        tmp_path / "pulls" / "zendesk" / "notes",
        tmp_path / "pulls" / "backup" / folder.name,  # a run's name, outside a pull source
    ]
    for other in theirs:
        other.mkdir(parents=True)
        os.utime(other, (old, old))
    os.utime(folder, (old, old))
    assert prune(tmp_path / "pulls", 14, ["zendesk", "reports"]) == [folder]
    assert not folder.exists() and all(other.is_dir() for other in theirs)


def test_a_pull_into_a_folder_of_its_own_leaves_the_folder_mode_as_it_was(engine, tmp_path):
    root = tmp_path / "pulls"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    with api_server(Scenario()) as url:
        pull(engine, _settings(tmp_path, url, "delighted"))
    [run] = (root / "delighted").iterdir()
    assert stat.S_IMODE(root.stat().st_mode) == 0o755  # the operator's folder, as it was
    assert stat.S_IMODE((root / "delighted").stat().st_mode) == 0o700  # made by the pull
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert {stat.S_IMODE(page.stat().st_mode) for page in run.iterdir()} == {0o600}


def test_readers_answer_while_a_pull_is_fetching(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    with api_server(Scenario()) as url:  # a first pull makes the warehouse
        assert (
            cli("pull", "zendesk", "--base-url", url, "--warehouse", warehouse, env=env).returncode
            == 0
        )
    scenario = Scenario(failures={("/api/v2/incremental/tickets/cursor.json", 1): "hold"})
    with api_server(scenario) as url:
        process = _pull_held_at(scenario, url, warehouse, env)
        metrics = cli(
            "metrics", "--json", "--warehouse", warehouse, "--log-level", "error", env=env
        )
        # The page is held until the line below: the answer came while the pull was fetching,
        # not queued behind it (its lock is not held while fetching).
        assert process.poll() is None
        scenario.released.set()
        assert process.wait(SAFETY_SECONDS) == 0
    assert metrics.returncode == 0, metrics.stderr
    assert json_out(metrics)["kpis"]["tta_median_minutes"] is not None


def test_refresh_fails_for_a_source_whose_newest_data_is_too_old(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    with api_server(Scenario()) as url:
        config = tmp_path / "turnaround.toml"
        config.write_text(
            f'[pull]\nfolder = "{tmp_path / "pulls"}"\n\n[pull.zendesk]\nbase_url = "{url}"\n\n'
            '[refresh]\nsources = ["zendesk"]\nstale_after_hours = 36\n'
        )
        done = cli("refresh", "--config", str(config), "--warehouse", warehouse, "--json")
    assert done.returncode == 1
    result = json_out(done)
    assert result["sources"][0]["status"] == "succeeded"  # it loaded, but the data is old
    assert result["problems"] == [
        "zendesk: its newest data is older than 36 h (last at 2024-02-08 17:44 UTC)"
    ]


def test_a_first_pull_since_a_date_and_ratings_from_the_newest_seen(engine, tmp_path):
    import datetime as dt

    from tests.api_server import satisfaction_rating

    scenario = Scenario(ratings=[satisfaction_rating(1, "bad", "2024-02-01T10:00:00Z", 1706781600)])
    with api_server(scenario) as url:
        pull(engine, _settings(tmp_path, url), since=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        pull(engine, _settings(tmp_path, url))
    first = [q for p, q in scenario.queries if p == "/api/v2/incremental/tickets/cursor.json"][0]
    assert first == {"include": "metric_sets", "start_time": "1704067200"}  # 2024-01-01 UTC
    ratings = [q for p, q in scenario.queries if p == "/api/v2/satisfaction_ratings.json"]
    assert [q["start_time"] for q in ratings] == ["1704067200", "1706781600"]
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select ticket_id, score from ticket_ratings")).all()
    assert stored == [("1", "bad")]
    assert list(_positions(engine).values())[0]["satisfaction_ratings"] == "2024-02-01T10:00:00Z"


def test_a_load_that_fails_after_the_fetch_leaves_the_positions(engine, tmp_path, monkeypatch):
    from etl.pipeline import apply as apply_module

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    with api_server(Scenario()) as url:
        with monkeypatch.context() as patched:
            patched.setattr(apply_module, "write_quarantine", crash)
            with pytest.raises(RuntimeError):
                pull(engine, _settings(tmp_path, url))
        assert _positions(engine) == {} and _count(engine, "tickets") == 0
        pull(engine, _settings(tmp_path, url))
    assert _count(engine, "tickets") == 91


def test_ratings_come_in_cursor_pages_and_a_page_past_the_sniff_limit_loads(engine, tmp_path):
    from tests.api_server import satisfaction_rating

    ratings = [
        {**satisfaction_rating(n, "good", "2024-02-01T10:00:00Z", 1706781600), "comment": "x" * 900}
        for n in range(1, 151)
    ]
    scenario = Scenario(ratings=ratings)
    with api_server(scenario) as url:
        report = pull(engine, _settings(tmp_path, url))
    assert report.status == "succeeded"
    pages = sorted((tmp_path / "pulls").rglob("*-satisfaction_ratings.json"))
    assert len(pages) == 2 and pages[0].stat().st_size > 64 * 1024
    assert _count(engine, "ticket_ratings") == 150


def test_no_credential_in_what_a_failing_pull_prints(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    scenario = Scenario(
        failures={
            ("/api/v2/incremental/tickets/cursor.json", 1): "500",
            ("/api/v2/incremental/tickets/cursor.json", 2): "401",
        }
    )
    with api_server(scenario) as url:
        done = cli(
            "pull",
            "zendesk",
            "--base-url",
            url,
            "--warehouse",
            warehouse,
            "--json",
            "--log-level",
            "debug",
            env=env,
        )
    assert done.returncode == 1
    printed = done.stdout + done.stderr
    assert "trying again" in printed  # the 500 was retried, and said so
    assert not any(secret in printed for secret in SECRETS)
    assert json_out(done)["status"] == "failed"


def test_a_base_url_with_credentials_in_it_is_refused(tmp_path):
    done = cli(
        "pull",
        "zendesk",
        "--base-url",
        "https://me:secret@example.zendesk.com",
        "--warehouse",
        f"duckdb:///{tmp_path / 'w.duckdb'}",
    )
    assert done.returncode == 2 and "must not hold a user or password" in done.stderr
    assert "secret" not in done.stderr.replace("must not hold a user or password", "")


def test_a_credential_written_into_the_config_is_refused_and_never_printed(tmp_path):
    config = tmp_path / "turnaround.toml"
    warehouse = ("--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "--config", str(config))
    config.write_text(f'[pull.zendesk]\ntoken = "{ZENDESK_TOKEN}"\n')
    done = cli("pull", "zendesk", *warehouse)
    assert done.returncode == 2 and "'token' is not one of them" in done.stderr
    assert "credentials come from the environment only" in done.stderr
    config.write_text(f'[pull.zendesk]\n{ZENDESK_TOKEN} = "x"\n')  # the token as a key
    as_key = cli("pull", "zendesk", *warehouse)
    assert as_key.returncode == 2 and "a key is not one of them" in as_key.stderr
    config.write_text(f'[pull.delighted]\napi_key_env = "{DELIGHTED_KEY}"\n')  # a key, not a name
    named = cli("pull", "delighted", *warehouse)
    assert named.returncode == 2
    assert "api_key_env is the name of an environment variable" in named.stderr
    for printed in (done, as_key, named):
        assert not any(secret in printed.stderr + printed.stdout for secret in SECRETS)


def test_a_subdomain_that_is_a_host_is_refused_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ZENDESK_SUBDOMAIN", "acme.zendesk.com")
    done = cli("pull", "zendesk", "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert done.returncode == 2
    assert "ZENDESK_SUBDOMAIN must be the Zendesk account's subdomain (acme for" in done.stderr


def test_a_retry_wait_past_the_time_limit_fails_the_request_instead(tmp_path):
    from etl.sources.pull.http import ApiClient, ApiError

    slept: list[float] = []
    scenario = Scenario(failures={("/api/v2/groups.json", 1): "429"}, retry_after=30)
    with api_server(scenario) as url:
        auth = (f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
        client = ApiClient(url, auth, time_limit=5, sleep=slept.append)
        with pytest.raises(ApiError, match=f"GET {url}/api/v2/groups.json still failed"):
            client.get_json("/api/v2/groups.json")
        client.close()
    assert slept == [] and scenario.calls["/api/v2/groups.json"] == 1


def test_since_in_the_future_is_refused_and_on_a_later_pull_it_is_said_to_be_unused(
    engine, tmp_path, caplog
):
    done = cli(
        "pull", "delighted", "--since", "2999-01-01", "--warehouse", f"duckdb:///{tmp_path}/w.db"
    )
    assert done.returncode == 2 and "--since 2999-01-01 is in the future" in done.stderr
    with api_server(Scenario()) as url:
        pull(engine, _settings(tmp_path, url, "delighted"))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="turnaround.pull"):
            since = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
            pull(engine, _settings(tmp_path, url, "delighted"), since=since)
    assert "--since is for a stream's first pull; survey_responses go on from" in caplog.text


def test_refresh_with_an_inbox_that_is_no_folder_is_a_bad_configuration(tmp_path):
    config = tmp_path / "turnaround.toml"
    config.write_text(f'[refresh]\ninbox = "{tmp_path / "missing"}"\n')
    done = cli(
        "refresh", "--config", str(config), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}"
    )
    assert done.returncode == 2 and "is not a folder" in done.stderr


def test_a_record_with_a_lone_surrogate_is_quarantined_and_the_next_pull_moves_on(tmp_path):
    """``\\ud83d`` alone (half an emoji) in one ticket's tags: that ticket is quarantined, the
    pull loads the rest and keeps its positions past the page, and the next pull goes on
    from there instead of fetching the same page and failing again."""
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    scenario = Scenario()
    bad = scenario.zendesk["tickets"][None]["tickets"][3]
    bad["tags"] = ["vip", "cut\ud83d"]
    with api_server(scenario) as url:
        command = ("pull", "zendesk", "--base-url", url, "--warehouse", warehouse, "--json")
        first = cli(*command, env=env)
        asked_before = len(scenario.queries)
        second = cli(*command, env=env)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert json_out(first)["rows_quarantined"] == 1
    again = dict(scenario.queries[asked_before:])
    assert again["/api/v2/incremental/tickets/cursor.json"]["cursor"] == "t2"
    assert second.returncode == 0, second.stderr
    assert json_out(second)["rows_quarantined"] == 0
    engine = sa.create_engine(warehouse)
    with engine.connect() as conn:
        tickets = conn.execute(sa.text("select count(*) from tickets")).scalar()
        [(ticket, reason)] = conn.execute(
            sa.text("select raw_row, reason from quarantine where target_table = 'tickets'")
        ).all()
    engine.dispose()
    assert tickets == 90
    assert json.loads(ticket)["id"] == bad["id"]
    assert reason == "tags: holds \\ud83d, half of a UTF-16 surrogate pair, which is not text"


def test_a_small_pull_with_one_bad_record_quarantines_it_and_moves_on(any_engine, tmp_path):
    """A nightly pull of three responses, one with a half emoji in its comment: one bad
    record in three is over the 10% limit as a file, but a pull is judged as one export of at
    least 100 records, so the two good responses load, the bad one is quarantined and the
    positions move past it (the next pull does not fetch it and fail again)."""
    scenario = Scenario()
    scenario.responses = scenario.responses[:3]
    scenario.responses[1]["comment"] = "cut \ud83d"
    with api_server(scenario) as url:
        first = pull(any_engine, _settings(tmp_path, url, "delighted"))
        assert first.status == "succeeded"
        totals = first.totals()
        assert (totals["rows_loaded"], totals["rows_quarantined"]) == (2, 1)
        asked_before = len(scenario.queries)
        second = pull(any_engine, _settings(tmp_path, url, "delighted"))
        [(_, asked)] = scenario.queries[asked_before:]
    assert second.totals()["rows_quarantined"] == 0
    assert asked["updated_since"] == str(1717000000 + 60 * 3)
    assert _count(any_engine, "nps_responses") == 2


def test_a_pull_whose_records_fail_wholesale_is_still_refused(engine, tmp_path):
    """The pull's limit still stops an API that sends broken records: 14 of 130 responses
    failing (11%) refuse the pull, and its positions stay where they were."""
    scenario = Scenario()
    for response in scenario.responses[:14]:
        response["comment"] = "cut \ud83d"
    with api_server(scenario) as url, pytest.raises(LoadError, match="quarantine limit"):
        pull(engine, _settings(tmp_path, url, "delighted"))
    assert _positions(engine) == {}
    assert _count(engine, "nps_responses") == 0


def test_the_replay_of_a_small_pull_is_judged_as_the_pull_was(engine, tmp_path):
    """``turnaround load FOLDER`` of a pull's kept pages judges them together as the pull
    did: the pull that loaded with one bad record in three loads again on replay. Files of
    an ordinary folder are still judged one by one."""
    scenario = Scenario()
    scenario.responses = scenario.responses[:3]
    scenario.responses[1]["comment"] = "cut \ud83d"
    with api_server(scenario) as url:
        assert pull(engine, _settings(tmp_path, url, "delighted")).status == "succeeded"
    [folder] = (tmp_path / "pulls" / "delighted").iterdir()
    replay = f"duckdb:///{tmp_path / 'replay.duckdb'}"
    done = cli("load", str(folder), "--warehouse", replay, "--json")
    assert done.returncode == 0, done.stderr
    assert (json_out(done)["rows_loaded"], json_out(done)["rows_quarantined"]) == (2, 1)

    copied = tmp_path / "copied"  # the same pages outside a pull's folder: files of their own
    copied.mkdir()
    for page in folder.iterdir():
        (copied / page.name).write_bytes(page.read_bytes())
    other = f"duckdb:///{tmp_path / 'other.duckdb'}"
    refused = cli("load", str(copied), "--warehouse", other, "--json")
    assert refused.returncode == 1
    assert "more than the quarantine limit of 10%; the file was refused" in refused.stdout
