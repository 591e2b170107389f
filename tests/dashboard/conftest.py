"""Dashboard fixtures: small warehouses in tmp_path, and the app run with AppTest against them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.data import CONFIG_ENV_VAR
from tests.conftest import insert_rows
from warehouse.engine import ENV_VAR

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
APP_TIMEOUT_SECONDS = 300  # a safety net for a page run on a loaded machine

# The warehouse's latest timestamp, so compute_kpis reports this as_of.
AS_OF = dt.datetime(2026, 10, 31, 23, 59, 59)
# A date range holding every ticket and response of ``loaded_warehouse`` (the page's default
# is the last 30 days), as the URL gives it and as metrics take it.
ALL_DATES = ["2025-01-01", "2026-10-31"]
ALL_RANGE = (dt.date(2025, 1, 1), dt.date(2026, 10, 31))
SIGNUP = dt.datetime(2025, 1, 1)
FAILURE_AT = dt.datetime(2026, 6, 1, 9, 0)


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test reads its own warehouse, not results cached by an earlier test."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def run_app(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Run the dashboard's entry script against the warehouse at a URL: its default page, or
    ``page`` (``views/tickets.py``...), with ``query`` as the URL's query string (a select
    box's value there is its label, as Streamlit writes it; ``link``: more of the query
    string, for keys such as ``page`` that name an argument here)."""

    def run(
        url: str,
        page: str | None = None,
        config: Path | None = None,
        link: dict | None = None,
        **query,
    ) -> AppTest:
        monkeypatch.setenv(ENV_VAR, url)
        if config is not None:
            monkeypatch.setenv(CONFIG_ENV_VAR, str(config))
        at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
        if page is not None:  # as a shared link opens the page (its path is its file's name)
            at.switch_page(page)
        at.query_params.update(query | (link or {}))
        return at.run()

    return run


def _customers(prefix: str, count: int, churned: int) -> list[dict]:
    churned_at = AS_OF - dt.timedelta(days=30)
    return [
        {
            "customer_id": f"{prefix}{i:02d}",
            "signup_at": SIGNUP,
            "churned_at": churned_at if i < churned else None,
            "plan": "pro",
        }
        for i in range(count)
    ]


def _ticket(ticket_id: str, customer_id: str, created_at: dt.datetime, **columns) -> dict:
    return {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "created_at": created_at,
        "first_reply_at": created_at + dt.timedelta(minutes=30),
        "solved_at": created_at + dt.timedelta(days=1),
        "status": "solved",
        "type": "question",
        "agent_replies": 1,
        "reopens": 0,
        "assignee_stations": 1,
        "group_stations": 1,
        "csat": None,
        "updated_at": created_at + dt.timedelta(days=1),
    } | columns


def _responses(customer_ids: list[str], scores: list[int]) -> list[dict]:
    responded_at = AS_OF - dt.timedelta(days=20)
    return [
        {
            "response_id": f"nps-{customer_id}",
            "customer_id": customer_id,
            "responded_at": responded_at,
            "score": score,
        }
        for customer_id, score in zip(customer_ids, scores, strict=True)
    ]


@pytest.fixture
def loaded_warehouse(engine: sa.Engine, warehouse_url: str) -> str:
    """40 recovered, 40 never-failed and 10 unrecovered customers; recovered ones are loyal.

    Recovered customers had one incident, solved in a day, not reopened, csat good; the
    unrecovered had one reopened with bad csat; never-failed customers asked questions over
    the last weeks. Returns the warehouse URL.
    """
    recovered = _customers("r", 40, churned=2)
    never_failed = _customers("n", 40, churned=12)
    unrecovered = _customers("u", 10, churned=6)
    insert_rows(engine, "customers", recovered + never_failed + unrecovered)

    tickets = [
        _ticket(
            f"t-{c['customer_id']}",
            c["customer_id"],
            FAILURE_AT + dt.timedelta(hours=i),
            type="incident",
            csat="good",
        )
        for i, c in enumerate(recovered)
    ]
    tickets += [
        _ticket(
            f"t-{c['customer_id']}",
            c["customer_id"],
            FAILURE_AT + dt.timedelta(hours=i),
            type="incident",
            csat="bad",
            reopens=1,
            agent_replies=4,
            assignee_stations=2,
        )
        for i, c in enumerate(unrecovered)
    ]
    first_week = AS_OF - dt.timedelta(weeks=10)
    tickets += [
        _ticket(
            f"t-{c['customer_id']}",
            c["customer_id"],
            first_week + dt.timedelta(days=2 * i),
            first_reply_at=first_week + dt.timedelta(days=2 * i, minutes=10 + 5 * i),
            agent_replies=1 + i % 3,
        )
        for i, c in enumerate(never_failed[:30])
    ]
    # An unacknowledged open ticket, and the latest event in the warehouse.
    tickets.append(
        _ticket(
            "t-open",
            "n39",
            AS_OF - dt.timedelta(days=1),
            first_reply_at=None,
            solved_at=None,
            status="open",
            updated_at=AS_OF,
        )
    )
    insert_rows(engine, "tickets", tickets)

    ids = [c["customer_id"] for c in recovered + never_failed]
    scores = [10] * 30 + [8] * 10 + [10] * 10 + [3] * 30
    insert_rows(engine, "nps_responses", _responses(ids, scores))
    return warehouse_url
