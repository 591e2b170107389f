"""One identity per person and no raw emails, through every reader and load order, on DuckDB
and PostgreSQL alike."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.identity import email_customer_id, key_fingerprint
from etl.pipeline.load import LoadError, LoadOptions, load_paths
from tests.conftest import FIXTURES, TEST_HASH_KEY

TICKETS_HEADER = (
    "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,type,priority,"
    "tags,group_name,assignee_id,agent_replies,reopens,assignee_stations,group_stations,csat,"
    "compensation,updated_at"
)
ALICE = email_customer_id("alice.smith@example.com", TEST_HASH_KEY)
EVERY_ROW_MAY_FAIL = LoadOptions(quarantine_limit=1.0)


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _ticket(ticket_id: str, customer_id: str, status: str = "solved") -> str:
    return (
        f"{ticket_id},{customer_id},2024-01-01T00:00:00Z,2024-01-01T00:30:00Z,"
        f"2024-01-01T05:00:00Z,{status},email,incident,normal,bug,Tier 1,a1,1,0,1,1,good,,"
        "2024-01-02T00:00:00Z"
    )


def _all_text(engine: sa.Engine) -> str:
    """Every value of every table, as one text, to search for what must not be there."""
    with engine.connect() as conn:
        return "\n".join(
            repr(row)
            for name in sa.inspect(conn).get_table_names()
            for row in conn.execute(sa.text(f"select * from {name}"))  # names from the DB
        )


def test_email_ids_in_every_canonical_file_become_one_hashed_customer(any_engine, tmp_path):
    tickets = _write(
        tmp_path / "tickets.csv",
        TICKETS_HEADER,
        [_ticket("1", "Alice.Smith@Example.com"), _ticket("2", " alice.smith@example.com ")],
    )
    nps = _write(
        tmp_path / "nps.csv",
        "response_id,customer_id,responded_at,score,comment",
        [
            "r1,ALICE.SMITH@example.com,2024-02-01,9,Reach me at alice.smith@example.com please",
            "r2,alice.smith@example.com,2024-02-02,11,score out of range",
        ],
    )
    customers = _write(
        tmp_path / "customers.csv",
        "customer_id,signup_at,churned_at,segment,plan,region,mrr",
        ["alice.smith@example.com,2023-01-01,,smb,pro,EU,10"],
    )
    load_paths(any_engine, [tickets, nps, customers], EVERY_ROW_MAY_FAIL)
    with any_engine.connect() as conn:
        ids = {
            table: set(conn.execute(sa.text(f"select customer_id from {table}")).scalars())
            for table in ("tickets", "nps_responses", "customers")
        }
        comment = conn.execute(sa.text("select comment from nps_responses")).scalar()
        raw = conn.execute(sa.text("select raw_row from quarantine")).scalar()
    assert ids == {"tickets": {ALICE}, "nps_responses": {ALICE}, "customers": {ALICE}}
    assert comment == "Reach me at <email> please"
    assert raw == "r2,<email>,2024-02-02,11,score out of range"  # the line, email redacted
    assert "@" not in _all_text(any_engine)


def test_users_that_arrive_after_their_tickets_remap_them(any_engine):
    tickets_page = FIXTURES / "real" / "zendesk_api_tickets_page_offset.json"
    users_page = FIXTURES / "real" / "zendesk_api_users_page.json"
    first = load_paths(any_engine, [tickets_page])
    assert first.rows_remapped == 0
    second = load_paths(any_engine, [users_page])
    assert second.rows_remapped == 89  # the users page has the requesters of 89 of 91 tickets

    users = {u["id"]: u for u in json.loads(users_page.read_text())["users"]}
    expected = {
        str(t["id"]): email_customer_id(users[t["requester_id"]]["email"], TEST_HASH_KEY)
        if t["requester_id"] in users
        else str(t["requester_id"])
        for t in json.loads(tickets_page.read_text())["tickets"]
    }
    with any_engine.connect() as conn:
        stored = dict(conn.execute(sa.text("select ticket_id, customer_id from tickets")).all())
    assert stored == expected

    # The other load order gives the same customers, and a re-read changes nothing.
    forced = load_paths(any_engine, [tickets_page], LoadOptions(force=True))
    assert forced.totals()["rows_duplicates"] == 91 and forced.rows_remapped == 0
    with any_engine.connect() as conn:
        assert dict(conn.execute(sa.text("select ticket_id, customer_id from tickets")).all()) == (
            expected
        )


def test_users_and_tickets_in_one_run_map_at_once(any_engine):
    report = load_paths(
        any_engine,
        [
            FIXTURES / "real" / "zendesk_api_tickets_page_offset.json",
            FIXTURES / "real" / "zendesk_api_users_page.json",
        ],
    )
    assert report.rows_remapped == 0  # mapped as they were loaded, not re-mapped
    with any_engine.connect() as conn:
        hashed = conn.execute(
            sa.text("select count(*) from tickets where customer_id like 'email:%'")
        ).scalar()
    assert hashed == 89


def test_a_load_with_another_key_is_refused(any_engine, tmp_path, monkeypatch):
    tickets = _write(tmp_path / "tickets.csv", TICKETS_HEADER, [_ticket("1", "bob@example.org")])
    load_paths(any_engine, [tickets])
    with any_engine.connect() as conn:
        meta = dict(conn.execute(sa.text("select name, value from warehouse_meta")).all())
    assert meta["hash_key_fingerprint"] == key_fingerprint(TEST_HASH_KEY)
    assert TEST_HASH_KEY not in _all_text(any_engine)  # only the fingerprint is kept

    monkeypatch.setenv("TURNAROUND_HASH_KEY", "some-other-key")
    more = _write(tmp_path / "more.csv", TICKETS_HEADER, [_ticket("2", "bob@example.org")])
    with pytest.raises(LoadError, match="is not the key this warehouse's customer ids were made"):
        load_paths(any_engine, [more])
    with any_engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from tickets")).scalar() == 1
        statuses = list(conn.execute(sa.text("select status from etl_runs")).scalars())
    assert sorted(statuses) == ["failed", "succeeded"]


def test_the_first_load_creates_a_private_secrets_file(any_engine, tmp_path, monkeypatch):
    monkeypatch.delenv("TURNAROUND_HASH_KEY")
    secrets = tmp_path / "config" / "secrets.toml"
    monkeypatch.setenv("TURNAROUND_SECRETS_FILE", str(secrets))
    tickets = _write(tmp_path / "tickets.csv", TICKETS_HEADER, [_ticket("1", "bob@example.org")])
    load_paths(any_engine, [tickets])
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    key = secrets.read_text().split('hash_key = "')[1].split('"')[0]
    with any_engine.connect() as conn:
        stored = conn.execute(sa.text("select customer_id from tickets")).scalar()
        fingerprint = conn.execute(
            sa.text("select value from warehouse_meta where name = 'hash_key_fingerprint'")
        ).scalar()
    assert stored == email_customer_id("bob@example.org", key)
    assert fingerprint == key_fingerprint(key)
    # The next load reads the same file and keeps the same identities.
    again = _write(tmp_path / "again.csv", TICKETS_HEADER, [_ticket("2", "Bob@Example.org")])
    load_paths(any_engine, [again])
    with any_engine.connect() as conn:
        assert set(conn.execute(sa.text("select customer_id from tickets")).scalars()) == {stored}


def test_a_cut_off_address_in_a_broken_row_is_kept_nowhere(engine, tmp_path):
    # The last line of a truncated export: an address cut in the middle, in a broken row.
    nps = tmp_path / "nps.csv"
    nps.write_text(
        "response_id,customer_id,responded_at,score,comment\nR1,c1,2024-02-01,9,\n,pat@examp"
    )
    load_paths(engine, [nps], LoadOptions(quarantine_limit=1.0))
    with engine.connect() as conn:
        quarantined = conn.execute(sa.text("select raw_row, customer_id from quarantine")).all()
    assert quarantined == [(",<email>", None)]


def test_a_secrets_file_others_can_read_is_used_with_a_warning(tmp_path):
    from tests.processes import cli

    secrets = tmp_path / "secrets.toml"
    secrets.write_text('hash_key = "a-key-others-can-read"\n')
    tickets = _write(tmp_path / "tickets.csv", TICKETS_HEADER, [_ticket("1", "bob@example.org")])
    env = {k: v for k, v in os.environ.items() if k != "TURNAROUND_HASH_KEY"}
    env["TURNAROUND_SECRETS_FILE"] = str(secrets)
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    warnings = {}
    for mode in (0o644, 0o600):
        secrets.chmod(mode)
        done = cli("load", str(tickets), "--warehouse", url, "--force", env=env)
        assert done.returncode == 0, done.stderr
        warnings[mode] = [line for line in done.stderr.splitlines() if " WARNING " in line]
    assert len(warnings[0o644]) == 1
    assert warnings[0o644][0].endswith(
        f"turnaround.identity: the secrets file {secrets} has mode 0644: other users can read "
        f"the email hash key in it; make it private with chmod 600 {secrets}"
    )
    assert warnings[0o600] == []
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select customer_id from tickets")).scalar()
    engine.dispose()
    assert stored == email_customer_id("bob@example.org", "a-key-others-can-read")


def test_forget_by_email_warns_once_of_an_open_secrets_file(tmp_path):
    """forget reads the key twice (to match the email, to search the kept pages): one
    warning still."""
    from tests.processes import cli

    secrets = tmp_path / "secrets.toml"
    secrets.write_text('hash_key = "a-key-others-can-read"\n')
    secrets.chmod(0o644)
    tickets = _write(tmp_path / "tickets.csv", TICKETS_HEADER, [_ticket("1", "bob@example.org")])
    env = {k: v for k, v in os.environ.items() if k != "TURNAROUND_HASH_KEY"}
    env["TURNAROUND_SECRETS_FILE"] = str(secrets)
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    assert cli("load", str(tickets), "--warehouse", url, env=env).returncode == 0
    done = cli("forget", "bob@example.org", "--warehouse", url, "--no-compact", env=env)
    assert done.returncode == 0, done.stderr
    assert "Erased: 1 tickets" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and f"the secrets file {secrets} has mode 0644" in warnings[0]
