"""The command line as a user and an operator meet it: readers that never create or migrate a
warehouse, read-only mounts, older schemas, bad settings, and the --json promise."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.etl.test_forget_and_migrate import make_version_1
from tests.processes import SAFETY_SECONDS, cli, json_out
from warehouse.schema import SCHEMA_VERSION

USERS_PAGE = FIXTURES / "real" / "zendesk_api_users_page.json"
TICKETS_PAGE = FIXTURES / "real" / "zendesk_api_tickets_page_offset.json"


@pytest.fixture
def loaded(tmp_path) -> str:
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    assert cli("load", str(TICKETS_PAGE), str(USERS_PAGE), "--warehouse", url).returncode == 0
    return url


@pytest.mark.parametrize("command", ["metrics", "runs"])
def test_a_mistyped_warehouse_path_is_an_error_and_creates_nothing(command, tmp_path):
    missing = tmp_path / "typo" / "turnaroud.duckdb"
    result = cli(command, "--warehouse", f"duckdb:///{missing}", "--json")
    assert result.returncode == 1
    assert f"no warehouse at {missing}; load data first" in result.stderr
    assert json_out(result)["status"] == "failed"
    assert not missing.exists() and not missing.parent.exists()


@pytest.fixture
def read_only_copy(loaded, tmp_path):
    """The loaded warehouse on a read-only bind mount of its folder."""
    source = Path(loaded.removeprefix("duckdb:///"))
    folder, mount = tmp_path / "ro-source", tmp_path / "ro"
    folder.mkdir()
    mount.mkdir()
    shutil.copy(source, folder / "turnaround.duckdb")
    for command in (["mount", "--bind", folder, mount], ["mount", "-o", "remount,bind,ro", mount]):
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, f"cannot make a read-only mount here: {done.stderr}"
    try:
        yield f"duckdb:///{mount / 'turnaround.duckdb'}", mount
    finally:
        subprocess.run(["umount", mount], capture_output=True)


def test_readers_work_on_a_read_only_mount(read_only_copy, loaded):
    url, mount = read_only_copy
    with pytest.raises(OSError):
        (mount / "probe").write_text("x")  # the mount really is read-only
    metrics = cli("metrics", "--json", "--warehouse", url)
    assert metrics.returncode == 0, metrics.stderr
    assert json_out(metrics) == json_out(cli("metrics", "--json", "--warehouse", loaded))
    runs = cli("runs", "--json", "--warehouse", url)
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout)[0]["status"] == "succeeded"
    assert sorted(p.name for p in mount.iterdir()) == ["turnaround.duckdb"]


def test_an_older_warehouse_asks_for_migrate_and_migrate_upgrades_it(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    make_version_1(url, "kept-inside").dispose()
    for command in (["metrics"], ["runs"], ["load", str(USERS_PAGE)]):
        result = cli(*command, "--warehouse", url)
        assert result.returncode == 1, (command, result.stderr)
        assert "run `turnaround migrate`" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    secrets = tmp_path / "secrets.toml"
    env = {k: v for k, v in __import__("os").environ.items() if k != "TURNAROUND_HASH_KEY"}
    env["TURNAROUND_SECRETS_FILE"] = str(secrets)
    migrated = cli("migrate", "--warehouse", url, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert f"from schema version 1 to {SCHEMA_VERSION}" in migrated.stdout
    assert 'hash_key = "kept-inside"' in secrets.read_text()
    assert cli("load", str(USERS_PAGE), "--warehouse", url, env=env).returncode == 0
    assert cli("metrics", "--warehouse", url, env=env).returncode == 0
    again = cli("migrate", "--warehouse", url, env=env)
    assert again.returncode == 0 and f"already at schema version {SCHEMA_VERSION}" in again.stdout


def test_forget_from_the_command_line(loaded):
    result = cli("forget", "automationsqa@z3nmail.com", "--warehouse", loaded, "--json")
    assert result.returncode == 0, result.stderr
    report = json_out(result)
    assert report["status"] == "erased"
    assert report["erased"]["tickets"] == 87 and report["erased"]["customer_identities"] == 1
    again = cli("forget", "automationsqa@z3nmail.com", "--warehouse", loaded)
    assert again.returncode == 0 and "nothing was erased" in again.stdout


def test_a_bad_config_exits_2_naming_the_key(tmp_path, loaded):
    config = tmp_path / "turnaround.toml"
    config.write_text("[load]\nquarantine_limit = 1.5\n")
    result = cli("metrics", "--config", str(config), "--warehouse", loaded, "--json")
    assert result.returncode == 2
    assert "load.quarantine_limit must be between 0 and 1, not 1.5" in result.stderr
    assert json_out(result)["status"] == "error"
    config.write_text("[load]\nquarantine_limt = 0.2\n")
    result = cli("load", str(USERS_PAGE), "--config", str(config), "--warehouse", loaded)
    assert result.returncode == 2 and "unknown setting load.quarantine_limt" in result.stderr
    result = cli("runs", "--log-level", "chatty", "--warehouse", loaded, "--json")
    assert result.returncode == 2 and "'chatty' is not one of 'debug'" in result.stderr
    assert json_out(result)["status"] == "error"  # usage errors keep the --json promise too


def test_the_config_file_in_the_working_folder_is_read(tmp_path, loaded):
    (tmp_path / "turnaround.toml").write_text(f'[warehouse]\nurl = "{loaded}"\n')
    result = cli("runs", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["status"] == "succeeded"


def test_bad_usage_exits_2_with_json_when_asked(tmp_path, loaded):
    result = cli("load", str(USERS_PAGE), "--encoding", "klingon", "--warehouse", loaded, "--json")
    assert result.returncode == 2
    assert json_out(result) == {
        "status": "error",
        "message": "--encoding 'klingon' is not a text encoding Python knows",
    }
    neither = cli("load", "--warehouse", loaded)
    assert neither.returncode == 2 and "--from-warehouse SOURCE: one of them" in neither.stderr


def _modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=SAFETY_SECONDS,
    )
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split())
    assert "sqlalchemy" in modules  # the list is the process's real modules
    return modules


@pytest.mark.parametrize(
    "args",
    [["metrics", "--json"], ["runs", "--json"], ["load", str(USERS_PAGE)]],
    ids=["metrics", "runs", "a-skipped-load"],
)
def test_reading_and_skipping_never_import_great_expectations(loaded, args):
    code = f"""
        import sys
        from typer.testing import CliRunner
        from turnaround.cli import app
        result = CliRunner().invoke(app, {args!r} + ["--warehouse", {loaded!r}])
        assert result.exit_code == 0, result.output
        print(" ".join(sys.modules))
        """
    assert "great_expectations" not in _modules_after(code)


def test_the_dashboard_code_never_imports_great_expectations():
    code = """
        import sys
        import dashboard.data, dashboard.charts, dashboard.kpi_tiles, dashboard.wording
        print(" ".join(sys.modules))
        """
    assert "great_expectations" not in _modules_after(code)
