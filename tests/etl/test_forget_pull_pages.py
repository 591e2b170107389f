"""``forget`` reaches the raw pages a pull keeps for replay: the person's records leave the
kept pages (each page rewritten without them), everyone else's stay, and a replay of the
pages loads everyone but the person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.admin.forget import forget
from etl.identity import email_customer_id
from etl.pipeline.load import LoadOptions, load_paths
from etl.sources.pull.erase import PagesErased, Person, _rewrite, erase_in_pages
from etl.sources.pull.run import PullSettings, pull
from tests.api_server import (
    DELIGHTED_KEY,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    Scenario,
    api_server,
    satisfaction_rating,
)
from tests.conftest import TEST_HASH_KEY
from tests.processes import cli, json_out
from warehouse import Warehouse

SANDBOX_EMAIL = "automationsqa@z3nmail.com"  # the requester of 87 of the 91 tickets
SANDBOX_USER = 6130907993114
OTHER_REQUESTER = 6130869168922  # of ticket 1


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("ZENDESK_EMAIL", ZENDESK_EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", ZENDESK_TOKEN)
    monkeypatch.setenv("DELIGHTED_API_KEY", DELIGHTED_KEY)


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"select count(*) from {table}")).scalar()


def _records(root: Path, source: str, key: str | None = None) -> list[dict]:
    """Every record of the kept pages of ``source`` (under ``key`` for Zendesk pages)."""
    found = []
    for page in sorted((root / source).rglob("*.json")):
        doc = json.loads(page.read_text())
        found += doc if key is None else doc.get(key) or []
    return found


def _ratings() -> list[dict]:
    person = {**satisfaction_rating(4, "bad", "2024-02-01T00:00:00Z", 1), "requester_id": 0}
    person["requester_id"] = SANDBOX_USER
    other = {**satisfaction_rating(1, "good", "2024-02-01T00:00:00Z", 1)}
    other["requester_id"] = OTHER_REQUESTER
    return [person, other]


def test_forget_rewrites_the_kept_zendesk_pages_without_the_person(engine, tmp_path):
    root = tmp_path / "pulls"
    with api_server(Scenario(ratings=_ratings())) as url:
        settings = PullSettings("zendesk", base_url=url, folder=root, time_limit=60)
        assert pull(engine, settings).status == "succeeded"
    person_tickets = {t["id"] for t in _records(root, "zendesk", "tickets")} - {1, 4035, 4036, 4043}
    assert len(person_tickets) == 87
    assert SANDBOX_EMAIL in {u["email"] for u in _records(root, "zendesk", "users")}
    modes = {p: p.stat().st_mode for p in (root / "zendesk").rglob("*.json")}

    erased = forget(Warehouse.for_engine(engine), SANDBOX_EMAIL, LoadOptions(), pages=root)
    assert erased.counts["tickets"] == 87
    assert erased.pages.records == 1 + 87 + 87 + 1  # the user, tickets, metric sets, rating
    assert len(erased.pages.rewritten) == 4  # two ticket pages, the users page, the ratings
    assert erased.pages.unreadable == []

    users = _records(root, "zendesk", "users")
    tickets = _records(root, "zendesk", "tickets")
    assert SANDBOX_EMAIL not in {u["email"] for u in users} and len(users) == 99
    assert {t["id"] for t in tickets} == {1, 4035, 4036, 4043}
    assert not {m["ticket_id"] for m in _records(root, "zendesk", "metric_sets")} & person_tickets
    assert [r["ticket_id"] for r in _records(root, "zendesk", "satisfaction_ratings")] == [1]
    assert len(_records(root, "zendesk", "groups")) == 1
    everything = " ".join(p.read_text() for p in (root / "zendesk").rglob("*.json"))
    assert SANDBOX_EMAIL not in everything
    assert {p: p.stat().st_mode for p in (root / "zendesk").rglob("*.json")} == modes  # 0600

    replay = sa.create_engine(f"duckdb:///{tmp_path / 'replay.duckdb'}")
    [folder] = (root / "zendesk").iterdir()
    load_paths(replay, [folder])
    assert (_count(replay, "tickets"), _count(replay, "customer_identities")) == (4, 99)
    replay.dispose()


def test_forget_by_customer_id_reaches_the_kept_delighted_pages(engine, tmp_path):
    root = tmp_path / "pulls"
    with api_server(Scenario()) as url:
        settings = PullSettings("delighted", base_url=url, folder=root, time_limit=60)
        assert pull(engine, settings).status == "succeeded"
    assert len({r["id"] for r in _records(root, "delighted")}) == 130

    erased = forget(Warehouse.for_engine(engine), "CRM-3", LoadOptions(), pages=root)
    assert erased.counts["nps_responses"] == 1
    assert erased.pages.records == 1
    by_email = forget(
        Warehouse.for_engine(engine), "Person4@Example.com", LoadOptions(), pages=root
    )
    assert by_email.customer_ids == [email_customer_id("person4@example.com", TEST_HASH_KEY)]
    assert by_email.pages.records == 1
    left = {r["id"] for r in _records(root, "delighted")}
    assert left == {str(500 + i) for i in range(1, 131)} - {"503", "504"}


def test_the_forget_command_says_what_it_did_to_the_kept_pages(tmp_path):
    root = tmp_path / "pulls"
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    config = tmp_path / "turnaround.toml"
    with api_server(Scenario()) as url:
        config.write_text(f'[pull]\nfolder = "{root}"\n\n[pull.zendesk]\nbase_url = "{url}"\n')
        pulled = cli("pull", "zendesk", "--config", str(config), "--warehouse", warehouse)
        assert pulled.returncode == 0, pulled.stderr
    kept = list(root.rglob("*.json"))
    assert SANDBOX_EMAIL in " ".join(p.read_text() for p in kept)
    done = cli("forget", SANDBOX_EMAIL, "--config", str(config), "--warehouse", warehouse)
    assert done.returncode == 0, done.stderr
    assert SANDBOX_EMAIL not in " ".join(p.read_text() for p in kept)
    assert "Kept pull pages: 3 rewritten without the person's 175 records" in done.stdout
    as_json = cli(
        "forget", SANDBOX_EMAIL, "--config", str(config), "--warehouse", warehouse, "--json"
    )
    assert json_out(as_json)["pages"] == {"rewritten": 0, "records": 0, "unreadable": []}


def test_a_kept_page_with_a_lone_surrogate_escape_is_rewritten_keeping_the_escape(tmp_path):
    # A neighbour's record with half a surrogate pair (JSON allows the escape; UTF-8 has no
    # bytes for it): the page still loses the person's records, and the escape stays as read.
    run = tmp_path / "pulls" / "zendesk" / "20250101T000000Z-0123abcd"
    run.mkdir(parents=True)
    page = run / "users-1.json"
    page.write_text(
        '{"users": [{"id": 1, "name": "Pat", "email": "pat@example.com"}, '
        '{"id": 2, "name": "Lee \\ud83d", "email": "lee\\udce9@example.com", '
        '"external_id": "lee\\ud83d@example.com"}]}'
    )
    person = Person(
        customer_ids=frozenset({email_customer_id("pat@example.com", TEST_HASH_KEY)}),
        hash_key=TEST_HASH_KEY,
    )
    erased = erase_in_pages(tmp_path / "pulls", person)
    assert (erased.records, erased.rewritten) == (1, [page])
    assert json.loads(page.read_text()) == {
        "users": [
            {
                "id": 2,
                "name": "Lee \ud83d",
                "email": "lee\udce9@example.com",
                "external_id": "lee\ud83d@example.com",
            }
        ]
    }
    assert sorted(p.name for p in run.iterdir()) == ["users-1.json"]  # no temporary left


def test_a_page_that_cannot_be_written_leaves_no_temporary_file(tmp_path):
    run = tmp_path / "pulls" / "zendesk" / "20250101T000000Z-0123abcd"
    run.mkdir(parents=True)
    page = run / "users-1.json"
    page.write_text('{"users": [{"id": 1, "name": "Pat"}, {"id": 2, "name": "Lee"}]}')
    # Something json cannot write at all stands in for a full disk.
    with pytest.raises(TypeError):
        _rewrite(page, {"users": [{1, 2}]}, 1, PagesErased())
    assert sorted(p.name for p in run.iterdir()) == ["users-1.json"]
