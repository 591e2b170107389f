"""Group and agent names: read from Zendesk groups and agent users and from the canonical
groups.csv and agents.csv, shown beside the ids of a slice (the id kept for filters),
pseudonymised on request, and erased by ``forget``; on DuckDB and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from etl.admin.forget import forget
from etl.identity import agent_pseudonym, email_customer_id
from etl.pipeline.load import LoadOptions, load_paths
from metrics import MetricParams
from metrics.slices import SliceRequest, compute_slice
from tests.conftest import FIXTURES, TEST_HASH_KEY
from warehouse import Warehouse

NAMES = FIXTURES / "names"
ZENDESK = [NAMES / f"zendesk_{name}_page.json" for name in ("tickets", "users", "groups")]
CANONICAL = [NAMES / name for name in ("tickets.csv", "groups.csv", "agents.csv")]
PARAMS = MetricParams(as_of=dt.datetime(2024, 4, 1))


def sliced(engine, dim: str, params: MetricParams = PARAMS, where=()) -> dict:
    """{id: (shown name, tickets)} of a slice by ``dim``."""
    request = SliceRequest(by=(dim,), kpis=("ticket_volume",), where=where)
    rows = compute_slice(engine, params, request)["rows"]
    return {r[dim]: (r[f"{dim}_name"], r["kpis"]["ticket_volume"]) for r in rows}


def test_zendesk_groups_and_agent_users_name_the_ids(any_engine):
    load_paths(any_engine, ZENDESK)
    # Tickets 1 and 2 in Billing, 3 in a group no export names: its id shows.
    assert sliced(any_engine, "group") == {
        "360001000015": ("Billing", 2),
        "360001000099": ("360001000099", 1),
    }
    # The agent and the admin by name; an assignee no users export names by id.
    assert sliced(any_engine, "assignee") == {
        "900001": ("Ana Lima", 1),
        "900002": ("Ben Okafor", 1),
        "900099": ("900099", 1),
    }
    with any_engine.connect() as conn:  # the end-user's name is never kept
        names = conn.execute(sa.text("select agent_id, name from ticket_agents")).all()
    assert sorted(names) == [("900001", "Ana Lima"), ("900002", "Ben Okafor")]
    # --where takes the id, never the name
    assert sliced(any_engine, "group", where=(("group", ("360001000015",)),)) == {
        "360001000015": ("Billing", 2)
    }
    assert sliced(any_engine, "group", where=(("group", ("Billing",)),)) == {}


def test_canonical_names_files_name_the_ids(any_engine):
    report = load_paths(any_engine, CANONICAL)
    # 3 tickets, 2 groups, 3 agents; agents.csv's a-3 has no name: loaded, naming nothing
    assert report.totals()["rows_loaded"] == 8
    assert sliced(any_engine, "group") == {
        "T1": ("Tier 1", 1),
        "T2": ("Escalations", 1),
        "T9": ("T9", 1),
    }
    # an agent id that is an email is the same keyed hash in tickets.csv and agents.csv
    eli = email_customer_id("eli.novak@example.com", TEST_HASH_KEY)
    assert sliced(any_engine, "assignee") == {
        "a-1": ("Dana Park", 1),
        eli: ("Eli Novak", 1),
        "a-3": ("a-3", 1),
    }


def test_pseudonymised_agents_show_their_pseudonym_not_their_name(any_engine):
    load_paths(any_engine, ZENDESK)
    params = dataclasses.replace(PARAMS, pseudonymise_agents=True)
    ana = agent_pseudonym("zendesk", "900001", TEST_HASH_KEY)
    ben = agent_pseudonym("zendesk", "900002", TEST_HASH_KEY)
    assert ana != ben and ana.startswith("Agent ") and len(ana) == len("Agent 7f3a9c")
    assert sliced(any_engine, "assignee", params) == {
        "900001": (ana, 1),
        "900002": (ben, 1),
        "900099": ("900099", 1),
    }
    # groups are no one's personal data: still by name
    assert sliced(any_engine, "group", params)["360001000015"] == ("Billing", 2)


@pytest.mark.parametrize("who", ["900001", "ana.lima@example.com"])
def test_forget_erases_an_agents_name(any_engine, who):
    load_paths(any_engine, ZENDESK)
    erased = forget(Warehouse.for_engine(any_engine), who, LoadOptions())
    assert erased.counts["ticket_agents"] == 1
    # Ana's ticket stays, by her id; Ben keeps his name.
    assert sliced(any_engine, "assignee") == {
        "900001": ("900001", 1),
        "900002": ("Ben Okafor", 1),
        "900099": ("900099", 1),
    }
    with any_engine.connect() as conn:
        kept = conn.execute(sa.text("select name from ticket_agents")).scalars().all()
    assert kept == ["Ben Okafor"]


def test_forget_erases_a_canonical_agent_named_by_email(any_engine):
    load_paths(any_engine, CANONICAL)
    erased = forget(Warehouse.for_engine(any_engine), "Eli.Novak@example.com", LoadOptions())
    assert erased.counts["ticket_agents"] == 1
    eli = email_customer_id("eli.novak@example.com", TEST_HASH_KEY)
    assert sliced(any_engine, "assignee")[eli] == (eli, 1)
