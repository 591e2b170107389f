"""Zendesk tables synced by Fivetran: from CSV dumps (dbt_zendesk's public seeds, and tables
written here in the same shapes) and from a PostgreSQL and a DuckDB database; ticket metrics
as dbt_zendesk computes them, checked against values worked out by hand; nightly runs read
only what was synced since the last one."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline.load_options import LoadError
from etl.pipeline.synced_load import load_synced
from etl.sources.zendesk.synced import comment_metrics, history_metrics
from tests.conftest import FIXTURES, TEST_HASH_KEY
from tests.postgres_server import fresh_database

SEEDS = FIXTURES / "dbt_zendesk_seeds"
T = dt.datetime

COLUMNS = {
    "ticket": "id,_fivetran_synced,assignee_id,created_at,group_id,priority,requester_id,"
    "status,type,updated_at,via_channel",
    "ticket_comment": "id,_fivetran_synced,body,created,public,ticket_id,user_id",
    "ticket_field_history": "field_name,ticket_id,updated,_fivetran_synced,user_id,value",
    "user": "id,_fivetran_synced,email,external_id,name,role",
    "group": "id,_fivetran_deleted,_fivetran_synced,created_at,name,updated_at",
    "ticket_tag": "tag,ticket_id,_fivetran_synced",
}
SYNC_1 = "2024-01-10 02:00:00"
SYNC_2 = "2024-01-11 02:00:00"
TABLES = {
    "ticket": [
        [
            "100",
            SYNC_1,
            "11",
            "2024-01-01 09:00:00",
            "500",
            "high",
            "1",
            "solved",
            "incident",
            "2024-01-03 10:00:00",
            "email",
        ],
        [
            "101",
            SYNC_1,
            "10",
            "2024-01-05 07:50:00",
            "",
            "",
            "2",
            "open",
            "question",
            "2024-01-05 08:00:00",
            "web",
        ],
        [
            "102",
            SYNC_1,
            "",
            "2024-01-06 09:00:00",
            "",
            "",
            "1",
            "closed",
            "",
            "2024-01-07 10:00:00",
            "email",
        ],
    ],
    "ticket_comment": [
        # 100: the request, a private note, the first reply 30.5 minutes in, the customer,
        # an admin's second reply
        ["1", SYNC_1, "b", "2024-01-01 09:00:00", "TRUE", "100", "1"],
        ["2", SYNC_1, "b", "2024-01-01 09:10:00", "FALSE", "100", "10"],
        ["3", SYNC_1, "b", "2024-01-01 09:30:30", "TRUE", "100", "10"],
        ["4", SYNC_1, "b", "2024-01-01 10:00:00", "TRUE", "100", "1"],
        ["5", SYNC_1, "b", "2024-01-01 11:00:00", "TRUE", "100", "11"],
        # 101: an agent opened it publicly after a private note: that comment is the reply
        ["6", SYNC_1, "b", "2024-01-05 07:55:00", "FALSE", "101", "10"],
        ["7", SYNC_1, "b", "2024-01-05 08:00:00", "TRUE", "101", "10"],
        # 102: the customer wrote; no agent answered in public; a stranger's comment
        ["8", SYNC_1, "b", "2024-01-06 09:00:00", "TRUE", "102", "1"],
        ["9", SYNC_1, "b", "2024-01-06 09:05:00", "TRUE", "102", "999"],
    ],
    "ticket_field_history": [
        ["status", "100", "2024-01-01 09:00:00", SYNC_1, "", "new"],
        ["status", "100", "2024-01-01 09:30:30", SYNC_1, "", "open"],
        ["status", "100", "2024-01-02 12:00:00", SYNC_1, "", "solved"],
        ["status", "100", "2024-01-02 15:00:00", SYNC_1, "", "open"],
        ["status", "100", "2024-01-03 10:00:00", SYNC_1, "", "solved"],
        ["assignee_id", "100", "2024-01-01 09:05:00", SYNC_1, "", "10"],
        ["assignee_id", "100", "2024-01-02 15:00:00", SYNC_1, "", "11"],
        ["group_id", "100", "2024-01-01 09:00:00", SYNC_1, "", "500"],
        ["satisfaction_score", "100", "2024-01-03 12:00:00", SYNC_1, "", "good"],
        ["status", "102", "2024-01-07 10:00:00", SYNC_1, "", "closed"],
    ],
    "user": [
        ["1", SYNC_1, "Pat@Example.com", "", "Pat", "end-user"],
        ["2", SYNC_1, "lee@example.com", "CRM-2", "Lee", "end-user"],
        ["10", SYNC_1, "ana@company.example", "", "Ana", "agent"],
        ["11", SYNC_1, "bo@company.example", "", "Bo", "admin"],
    ],
    "group": [
        ["500", "FALSE", SYNC_1, "2023-01-01 00:00:00", "Billing", "2023-01-01 00:00:00"],
        ["501", "TRUE", SYNC_1, "2023-01-01 00:00:00", "Gone", "2023-01-01 00:00:00"],
    ],
    "ticket_tag": [["outage", "100", SYNC_1], ["vip", "100", SYNC_1]],
}


def _email_id(email: str) -> str:
    digest = hmac.new(TEST_HASH_KEY.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


def _dump(folder: Path, tables: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(COLUMNS[name].split(","))
            writer.writerows(rows)
    return folder


def _tickets(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from tickets")).mappings().all()
    return {r["ticket_id"]: dict(r) for r in rows}


# Worked out by hand from TABLES with dbt_zendesk's rules (docstring of
# etl/sources/zendesk/synced.py).
EXPECTED = {
    "100": {
        "customer_id": _email_id("pat@example.com"),
        "status": "solved",
        "channel": "email",
        "tags": ["outage", "vip"],
        "group_name": "500",  # the group id; its name is in ticket_groups
        "first_reply_at": T(2024, 1, 1, 9, 30),  # 30.5 minutes, kept to the whole minute
        "agent_replies": 2,  # comments 3 and 5
        "reopens": 1,  # solved twice
        "assignee_stations": 2,
        "group_stations": 1,
        "solved_at": T(2024, 1, 3, 10, 0),  # the last solve
        "first_resolution_minutes": 27 * 60,  # the first solve, 2024-01-02 12:00
        "csat": "good",
    },
    "101": {
        "customer_id": "CRM-2",
        "status": "open",
        "channel": "web",
        "first_reply_at": T(2024, 1, 5, 8, 0),  # the agent's first public comment itself
        "agent_replies": 0,
        "reopens": 0,
        "assignee_stations": 0,
        "solved_at": None,
    },
    "102": {
        "status": "closed",
        "first_reply_at": None,  # no public agent comment
        "agent_replies": 0,
        "solved_at": T(2024, 1, 7, 10, 0),  # closed without being solved: the close counts
        "reopens": 0,
    },
}


def _check(engine) -> None:
    got = _tickets(engine)
    assert set(got) == set(EXPECTED)
    for ticket_id, expected in EXPECTED.items():
        assert {k: got[ticket_id][k] for k in expected} == expected, ticket_id


def test_tables_dumped_as_csv_load_with_dbt_zendesk_metrics(any_engine, tmp_path):
    report = load_synced(any_engine, str(_dump(tmp_path / "dump", TABLES)))
    assert report.status == "succeeded"
    _check(any_engine)
    with any_engine.connect() as conn:
        groups = conn.execute(sa.text("select group_id, name from ticket_groups")).all()
        text = " ".join(
            str(row)
            for table in sa.inspect(conn).get_table_names()
            for row in conn.execute(sa.text(f"select * from {table}"))
        )
    assert groups == [("500", "Billing")]  # a group Fivetran marks deleted is not read
    assert "example" not in text.lower()  # no raw email in any table


def test_a_nightly_run_reads_only_what_was_synced_since(any_engine, tmp_path):
    folder = _dump(tmp_path / "dump", TABLES)
    load_synced(any_engine, str(folder))
    later = {name: [list(r) for r in rows] for name, rows in TABLES.items()}
    # An agent answered on ticket 101; Fivetran synced the comment and the ticket again.
    later["ticket_comment"].append(["10", SYNC_2, "b", "2024-01-05 09:00:00", "TRUE", "101", "11"])
    later["ticket"][1] = [*later["ticket"][1][:9], "2024-01-05 09:00:00", "web"]
    later["ticket"][1][1] = SYNC_2
    _dump(folder, later)
    second = load_synced(any_engine, str(folder))
    read = {s.target_table: s.rows_read for s in second.stats.values()}
    assert read["tickets"] == 1 and read["ticket_metrics"] == 1  # ticket 101 only
    assert read.get("identities", 0) == 0  # no user synced since
    assert _tickets(any_engine)["101"]["agent_replies"] == 1
    third = load_synced(any_engine, str(folder))
    assert (third.status, third.message) == ("skipped", "nothing was synced since the last run")
    with any_engine.connect() as conn:
        mark = conn.execute(
            sa.text("select value from warehouse_meta where name like 'synced:%'")
        ).scalar()
    assert json.loads(mark)["ticket_comment"] == "2024-01-11T02:00:00Z"


def test_a_crash_in_the_merge_leaves_the_sync_times_where_they_were(
    any_engine, tmp_path, monkeypatch
):
    from etl.pipeline import apply as apply_module

    folder = _dump(tmp_path / "dump", TABLES)

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply_module, "write_quarantine", crash)
    with pytest.raises(RuntimeError):
        load_synced(any_engine, str(folder))
    monkeypatch.undo()
    with any_engine.connect() as conn:
        marks = conn.execute(
            sa.text("select count(*) from warehouse_meta where name like 'synced:%'")
        ).scalar()
    assert marks == 0 and _tickets(any_engine) == {}
    load_synced(any_engine, str(folder))  # the next run reads everything again
    _check(any_engine)


KINDS = {
    **dict.fromkeys(
        ("id", "ticket_id", "user_id", "assignee_id", "group_id", "requester_id"), "BIGINT"
    ),
    **dict.fromkeys(("public", "_fivetran_deleted"), "BOOLEAN"),
    **dict.fromkeys(
        ("_fivetran_synced", "created", "created_at", "updated_at", "updated"), "TIMESTAMP"
    ),
}
CASTS = {
    "BIGINT": int,
    "BOOLEAN": lambda v: v == "TRUE",
    "TIMESTAMP": dt.datetime.fromisoformat,
    "VARCHAR": str,
}


def _typed_tables(conn, schema: str) -> None:
    """The tables as Fivetran creates them: ids as numbers, times as timestamps."""
    conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    for name, rows in TABLES.items():
        columns = COLUMNS[name].split(",")
        types = [KINDS.get(c, "VARCHAR") for c in columns]
        listed = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
        conn.execute(sa.text(f'CREATE TABLE {schema}."{name}" ({listed})'))
        insert = f'INSERT INTO {schema}."{name}" VALUES ({", ".join(f":{c}" for c in columns)})'
        for row in rows:
            values = {
                c: None if v == "" else CASTS[t](v)
                for c, t, v in zip(columns, types, row, strict=True)
            }
            conn.execute(sa.text(insert), values)


def test_tables_synced_into_postgresql_load_from_its_url(engine, pg_server):
    with fresh_database(pg_server) as url:
        source = sa.create_engine(url)
        with source.begin() as conn:
            _typed_tables(conn, "zendesk_prod")
        source.dispose()
        report = load_synced(engine, url, schema="zendesk_prod")
        assert report.status == "succeeded"
        _check(engine)


def test_tables_in_a_duckdb_database_load_from_its_url(engine, tmp_path):
    url = f"duckdb:///{tmp_path / 'fivetran.duckdb'}"
    source = sa.create_engine(url)
    with source.begin() as conn:
        _typed_tables(conn, "zendesk")
    source.dispose()
    report = load_synced(engine, url)
    assert report.status == "succeeded"
    _check(engine)


def test_a_source_without_the_tables_is_refused_naming_them(engine, tmp_path):
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "ticket.csv").write_text(COLUMNS["ticket"] + "\n")
    with pytest.raises(LoadError, match="has no ticket_comment.csv, ticket_field_history.csv"):
        load_synced(engine, str(tmp_path / "dump"))


def test_the_public_dbt_zendesk_seeds_load(engine):
    report = load_synced(engine, str(SEEDS))
    assert report.notes == [
        "zendesk_synced.jsonl: 2 ticket(s) deleted in zendesk: kept with status deleted, "
        "left out of every metric"
    ]
    got = _tickets(engine)
    # ticket_data.csv: 10 tickets; 1595 and 11013 deleted
    assert len(got) == 10
    assert {t for t, row in got.items() if row["status"] == "deleted"} == {"1595", "11013"}
    # 11071: requester 2222 (user_data: example@email.com), solved 2020-11-14 11:01:27 then
    # closed; assignee_id 1111 once in its history
    row = got["11071"]
    assert row["customer_id"] == _email_id("example@email.com")
    assert (row["solved_at"], row["reopens"], row["assignee_stations"]) == (
        T(2020, 11, 14, 11, 1, 27),
        0,
        1,
    )


def test_comment_rules_beside_a_plain_reading_of_dbt_zendesk():
    roles = {"1": "end-user", "10": "agent"}
    comments = [
        {"ticket_id": 5, "user_id": 1, "created": "2024-01-01 10:00:00", "public": True},
        {"ticket_id": 5, "user_id": 10, "created": "2024-01-01 10:00:00", "public": True},
        {"ticket_id": 5, "user_id": 10, "created": "2024-01-01 10:20:00", "public": True},
    ]
    # A reply at the same second as the request is not after it: the next one is the reply;
    # both agent comments are replies (neither is the first public comment).
    found = comment_metrics(comments, roles)["5"]
    assert (found["first_reply_at"], found["agent_replies"]) == (T(2024, 1, 1, 10, 20), 2)
    history = [
        {
            "ticket_id": 5,
            "field_name": "status",
            "updated": "2024-01-02 00:00:00",
            "value": "closed",
        },
        {
            "ticket_id": 5,
            "field_name": "assignee_id",
            "updated": "2024-01-01 00:00:00",
            "value": None,
        },
    ]
    assert history_metrics(history)["5"]["assignee_stations"] == 0  # an unassignment


def test_tables_synced_by_airbyte_are_read_by_their_extraction_time(engine, tmp_path):
    """Airbyte marks each row with _airbyte_extracted_at where Fivetran writes
    _fivetran_synced: the nightly run reads by it the same way."""
    folder = _dump(tmp_path / "dump", TABLES)
    for path in folder.glob("*.csv"):
        path.write_text(path.read_text().replace("_fivetran_synced", "_airbyte_extracted_at"))
    load_synced(engine, str(folder))
    _check(engine)
    assert load_synced(engine, str(folder)).status == "skipped"
    with engine.connect() as conn:
        mark = conn.execute(
            sa.text("select value from warehouse_meta where name like 'synced:%'")
        ).scalar()
    assert json.loads(mark)["ticket"] == "2024-01-10T02:00:00Z"


def test_a_sync_column_with_a_time_zone_is_compared_in_utc(engine, pg_server):
    """Airbyte's _airbyte_extracted_at is a timestamp with time zone; on a server whose
    sessions run west of UTC, a row synced an hour after the last run is still read."""
    with fresh_database(pg_server) as url:
        source = sa.create_engine(url)
        with source.begin() as conn:
            _typed_tables(conn, "zendesk")
            for name in TABLES:
                conn.execute(
                    sa.text(
                        f'ALTER TABLE zendesk."{name}" ALTER COLUMN _fivetran_synced '
                        "TYPE TIMESTAMPTZ USING _fivetran_synced AT TIME ZONE 'UTC'"
                    )
                )
            database = sa.engine.make_url(url).database
            conn.execute(
                sa.text(f"ALTER DATABASE \"{database}\" SET timezone = 'America/Los_Angeles'")
            )
        source.dispose()
        load_synced(engine, url)
        source = sa.create_engine(url)
        with source.begin() as conn:
            conn.execute(
                sa.text(
                    'INSERT INTO zendesk."ticket_comment" VALUES (10, '
                    "TIMESTAMPTZ '2024-01-10 03:00:00+00', 'b', '2024-01-05 09:00:00', "
                    "true, 101, 11)"
                )
            )
        source.dispose()
        second = load_synced(engine, url)
        assert second.status == "succeeded"
        assert _tickets(engine)["101"]["agent_replies"] == 1


def test_a_source_url_of_another_database_is_refused_before_anything_is_made(tmp_path):
    from tests.processes import cli, json_out

    warehouse = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    source = f"sqlite:///{tmp_path / 'x.db'}"
    done = cli("load", "--from-warehouse", source, "--warehouse", warehouse, "--json")
    assert done.returncode == 2, done.stderr
    assert json_out(done)["message"] == (
        f"--from-warehouse {source}: a sqlite database is not a source Turnaround reads; give "
        "a postgresql or duckdb URL (such as postgresql+psycopg://user@host/db or "
        "duckdb:///path.duckdb), or a folder of CSV dumps of the tables"
    )
    assert list(tmp_path.iterdir()) == []  # no x.db, no warehouse, no lock folder


def test_a_source_that_is_no_url_is_refused_showing_the_example_urls_as_written(engine):
    with pytest.raises(LoadError) as refused:
        load_synced(engine, "not a url")
    assert "such as postgresql+psycopg://user@host/db or duckdb:///path.duckdb" in str(
        refused.value
    )


def test_the_help_shows_a_source_url_whole_in_a_terminal_of_80_columns():
    import os

    from tests.processes import cli

    shown = cli("load", "--help", env={**os.environ, "COLUMNS": "80"}).stdout
    assert "postgresql+psycopg://reader@dwh/analytics" in shown
    assert "postgresql+psycopg:…" not in shown
