"""Sign-in before any page runs when Streamlit's secrets configure it, and a warning when a
dashboard others can reach asks nobody (dashboard/sign_in.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from data_contracts.serving import reachable_from_elsewhere, secrets_have_sign_in
from tests.dashboard.conftest import APP, APP_TIMEOUT_SECONDS
from warehouse.engine import ENV_VAR

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-nobody-uses",
    "client_id": "turnaround",
    "client_secret": "not-a-secret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}


def test_a_signed_out_visitor_sees_a_sign_in_button_and_no_data(loaded_warehouse, monkeypatch):
    monkeypatch.setenv(ENV_VAR, loaded_warehouse)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert len(at.metric) == 0 and len(at.dataframe) == 0  # nothing of the warehouse shown
    # Signed in: the Overview's tiles, and who is signed in with a way out.
    signed = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    signed.secrets["auth"] = AUTH
    signed.user = {"is_logged_in": True, "email": "ann@example.com"}
    signed.run()
    assert not signed.exception and len(signed.metric) > 0
    assert "Signed in as ann@example.com" in [c.value for c in signed.sidebar.caption]
    assert "Sign out" in [b.label for b in signed.sidebar.button]
    # Without the secrets nobody is asked.
    plain = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS).run()
    assert len(plain.metric) > 0 and "Sign in" not in [b.label for b in plain.button]


@pytest.mark.parametrize(
    ("address", "reachable"),
    [
        (None, False),  # not set: not judged (turnaround dashboard always sets it)
        ("127.0.0.1", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("10.1.2.3", True),
        ("dashboard.example.com", True),
    ],
)
def test_which_addresses_other_machines_reach(address, reachable):
    assert reachable_from_elsewhere(address) is reachable


def test_the_secrets_files_the_dashboard_reads(tmp_path, monkeypatch):
    home, folder = tmp_path / "home", tmp_path / "here"
    monkeypatch.setenv("HOME", str(home))
    assert secrets_have_sign_in(folder) is False
    (folder / ".streamlit").mkdir(parents=True)
    (folder / ".streamlit" / "secrets.toml").write_text('[connections]\nx = "y"\n')
    assert secrets_have_sign_in(folder) is False  # secrets, but no [auth]
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text('[auth]\nredirect_uri = "http://h/cb"\n')
    assert secrets_have_sign_in(folder) is True


def test_serving_every_interface_without_sign_in_warns(tmp_path, monkeypatch):
    """The command warns before it becomes the server (the server itself is not started:
    os.execve is replaced by a stand-in that records the command)."""
    import turnaround.commands.serve as serve
    from turnaround.cli import app

    started: list[list[str]] = []

    def execve(path, command, env):
        started.append(command)
        raise SystemExit(0)

    monkeypatch.setattr(serve.os, "execve", execve)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    runner = CliRunner()
    wide = runner.invoke(app, ["dashboard", "--warehouse", warehouse, "--address", "0.0.0.0"])
    assert "reachable from other machines and no sign-in is configured" in " ".join(
        wide.stderr.split()
    )
    assert started and "0.0.0.0" in started[0]
    (Path(tmp_path) / ".streamlit").mkdir()
    (Path(tmp_path) / ".streamlit" / "secrets.toml").write_text("[auth]\n")
    signed = runner.invoke(app, ["dashboard", "--warehouse", warehouse, "--address", "0.0.0.0"])
    assert "no sign-in" not in signed.stderr
    local = runner.invoke(app, ["dashboard", "--warehouse", warehouse])
    assert "no sign-in" not in local.stderr
