"""Viewers never see an error's details: an uncaught exception, served with the dashboard's
own Streamlit options and read by Debian's chromium, shows Streamlit's generic sentence,
not the exception's type, message or traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from streamlit.config import ShowErrorDetailsConfigOptions

from tests.dashboard.serving import chromium, require_browser
from tests.postgres_server import free_port
from turnaround.commands.serve import STREAMLIT_OPTIONS, streamlit_command

pytestmark = pytest.mark.browser

SECRET = "postgresql://reader:hunter2@dwh.internal/analytics"
FAILING_APP = f"""
import streamlit as st

st.write("before the error")
raise RuntimeError({SECRET!r})
"""


def test_the_option_is_one_this_streamlit_knows():
    valid = {option.value for option in ShowErrorDetailsConfigOptions}
    assert STREAMLIT_OPTIONS["client.showErrorDetails"] in valid
    assert STREAMLIT_OPTIONS["client.showErrorDetails"] == "none"


def test_a_viewer_sees_no_error_details(tmp_path: Path):
    require_browser()
    app = tmp_path / "failing_app.py"
    app.write_text(FAILING_APP)
    port = free_port()
    server = subprocess.Popen(
        streamlit_command(app, "127.0.0.1", port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for line in server.stdout:  # Streamlit prints its URL once it serves
            if f":{port}" in line:
                break
        else:
            raise AssertionError(f"streamlit ended without serving (exit {server.wait()})")
        with chromium() as context:
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}")
            page.wait_for_selector('[data-testid="stException"]', timeout=60_000)
            shown = page.inner_text("body")
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert "before the error" in shown
    assert "This app has encountered an error" in shown
    assert "hunter2" not in shown and "RuntimeError" not in shown and "Traceback" not in shown
