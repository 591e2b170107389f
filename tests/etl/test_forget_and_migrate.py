"""Erasing one person (``forget``) and upgrading a version-1 warehouse (``migrate``), on DuckDB
and PostgreSQL alike."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.admin.forget import forget
from etl.admin.migrate import migrate_warehouse
from etl.identity import HashKeyError, email_customer_id, key_fingerprint, read_secrets_file
from etl.pipeline.load import LoadError, LoadOptions, load_paths
from tests.conftest import FIXTURES, TEST_HASH_KEY
from warehouse import Warehouse, get_engine
from warehouse.migrations import (
    V2_COLUMNS,
    V3_COLUMNS,
    V3_TABLES,
    V4_COLUMNS,
    V4_TABLES,
    V6_COLUMNS,
)
from warehouse.schema import SCHEMA_VERSION, SchemaOutdated, check_schema, metadata

USERS_PAGE = FIXTURES / "real" / "zendesk_api_users_page.json"
TICKETS_PAGE = FIXTURES / "real" / "zendesk_api_tickets_page_offset.json"
# The requester of 87 of the page's 91 tickets.
SANDBOX_EMAIL = "automationsqa@z3nmail.com"


def _count(engine: sa.Engine, table: str, where: str = "true", **params) -> int:
    with engine.connect() as conn:
        sql = f"select count(*) from {table} where {where}"  # test-written SQL, bound values
        return conn.execute(sa.text(sql), params).scalar()


def test_forget_by_email_erases_the_person_everywhere(any_engine, tmp_path):
    nps = tmp_path / "nps.csv"
    nps.write_text(
        "response_id,customer_id,responded_at,score,comment\n"
        f"r1,{SANDBOX_EMAIL},2024-02-01,9,fine\n"
        f"r2,{SANDBOX_EMAIL},2024-02-02,eleven,not a score\n"
        "r3,someone-else,2024-02-03,7,ok\n"
    )
    load_paths(any_engine, [TICKETS_PAGE, USERS_PAGE, nps], LoadOptions(quarantine_limit=1.0))
    person = email_customer_id(SANDBOX_EMAIL, TEST_HASH_KEY)
    assert _count(any_engine, "tickets", "customer_id = :c", c=person) == 87
    assert _count(any_engine, "quarantine") == 1

    erased = forget(Warehouse.for_engine(any_engine), f"  {SANDBOX_EMAIL.upper()} ", LoadOptions())
    assert erased.customer_ids == [person]
    assert erased.counts["tickets"] == 87
    assert erased.counts["nps_responses"] == 1
    assert erased.counts["customer_identities"] == 1
    assert erased.counts["quarantine"] == 1  # the bad response named the person's id
    for table in ("tickets", "nps_responses", "customer_identities"):
        assert _count(any_engine, table, "customer_id = :c", c=person) == 0
    assert _count(any_engine, "quarantine") == 0
    assert _count(any_engine, "tickets") == 4  # everyone else stays
    assert _count(any_engine, "nps_responses") == 1
    assert _count(any_engine, "customer_identities") == 99
    with any_engine.connect() as conn:
        run = conn.execute(
            sa.text("select status, message from etl_runs where status = 'erased'")
        ).one()
    assert person not in run.message and SANDBOX_EMAIL not in run.message
    assert "87 tickets" in run.message


def test_forget_someone_unknown_erases_nothing(any_engine):
    load_paths(any_engine, [USERS_PAGE])
    erased = forget(Warehouse.for_engine(any_engine), "nobody@example.net", LoadOptions())
    assert not erased.found
    assert _count(any_engine, "customer_identities") == 100


def make_version_1(url: str, key: str) -> sa.Engine:
    """An empty warehouse at ``url`` as Turnaround's schema version 1 made it: the email hash
    key inside warehouse_meta, and none of version 2's columns and tables."""
    columns_added = (*V2_COLUMNS, *V3_COLUMNS, *V4_COLUMNS, *V6_COLUMNS)
    added = set(columns_added)
    version_1 = sa.MetaData()
    for table in metadata.sorted_tables:
        if table.name in ("etl_run_checks", "loaded_files", *V3_TABLES, V4_TABLES, *V4_TABLES):
            continue
        columns = [c.copy() for c in table.columns if (table.name, c.name) not in added]
        sa.Table(table.name, version_1, *columns)
    engine = get_engine(url)
    with engine.begin() as conn:
        version_1.create_all(conn)
        conn.execute(
            sa.text("INSERT INTO warehouse_meta (name, value) VALUES ('schema_version', '1')")
        )
        conn.execute(
            sa.text("INSERT INTO warehouse_meta (name, value) VALUES ('hash_key', :key)"),
            {"key": key},
        )
        # A customer the version-1 warehouse keyed by the hash of their email.
        conn.execute(
            sa.text(
                "INSERT INTO customer_identities VALUES "
                "('zendesk', '42', :customer, 'old-batch', 'users.jsonl')"
            ),
            {"customer": email_customer_id("pat@example.com", key)},
        )
    return engine


def test_migrate_moves_the_key_out_and_keeps_identities(any_warehouse_url, tmp_path, monkeypatch):
    old_key = "the-key-version-1-kept-inside"
    any_engine = make_version_1(any_warehouse_url, old_key)
    warehouse = Warehouse.for_engine(any_engine)
    users = tmp_path / "users.json"
    users.write_text('{"users": [{"id": 43, "email": "PAT@example.com", "external_id": null}]}')
    with pytest.raises(LoadError, match="run `turnaround migrate`"):
        load_paths(warehouse, [users])  # an older warehouse is not written to

    monkeypatch.delenv("TURNAROUND_HASH_KEY")
    secrets = tmp_path / "secrets.toml"
    monkeypatch.setenv("TURNAROUND_SECRETS_FILE", str(secrets))
    found, version, done = migrate_warehouse(warehouse, 30, None)
    assert (found, version) == (1, SCHEMA_VERSION)
    assert "moved the email hash key out of the warehouse" in done
    assert read_secrets_file(secrets) == old_key
    with any_engine.connect() as conn:
        meta = dict(conn.execute(sa.text("select name, value from warehouse_meta")).all())
    assert meta == {
        "schema_version": str(SCHEMA_VERSION),
        "hash_key_fingerprint": key_fingerprint(old_key),
    }
    assert "added tickets.first_resolution_minutes" in done
    assert "created ticket_groups" in done
    assert "added tickets.first_reply_bracket" in done
    with any_engine.connect() as conn:  # the migrated warehouse has every current column
        for table in metadata.sorted_tables:
            found_columns = set(
                conn.execute(
                    sa.select(sa.text("*")).select_from(sa.table(table.name)).limit(0)
                ).keys()
            )
            assert found_columns == {c.name for c in table.columns}, table.name
        kinds = dict(
            conn.execute(
                sa.text(
                    "select table_name || '.' || column_name, data_type "
                    "from information_schema.columns where column_name in ('mrr', 'compensation')"
                )
            ).all()
        )
    # Amounts are 8-byte floats on both (DuckDB's FLOAT, which version 1 had, is 4 bytes).
    assert set(kinds.values()) == {
        "DOUBLE" if "duckdb" in any_warehouse_url else "double precision"
    }
    assert {"customers.mrr", "tickets.compensation", "ticket_versions.compensation"} <= set(kinds)

    load_paths(warehouse, [users])  # the key now comes from the secrets file
    with any_engine.connect() as conn:
        customers = set(conn.execute(sa.text("select customer_id from customer_identities")))
    assert len(customers) == 1  # user 43 is the same person as user 42 was

    assert migrate_warehouse(warehouse, 30, None) == (
        SCHEMA_VERSION,
        SCHEMA_VERSION,
        [],
    )  # nothing left to do


def test_migrate_refuses_a_different_key_in_the_environment(any_warehouse_url, monkeypatch):
    any_engine = make_version_1(any_warehouse_url, "kept-inside")
    monkeypatch.setenv("TURNAROUND_HASH_KEY", "not-that-one")
    with pytest.raises(Exception, match="holds a different key"):
        migrate_warehouse(Warehouse.for_engine(any_engine), 30, None)
    with any_engine.connect() as conn:  # the failed migration changed nothing
        version = conn.execute(
            sa.text("select value from warehouse_meta where name = 'schema_version'")
        ).scalar()
    assert version == "1"


def test_an_older_schema_is_named_for_readers(any_warehouse_url):
    any_engine = make_version_1(any_warehouse_url, "kept-inside")
    with any_engine.connect() as conn, pytest.raises(SchemaOutdated, match="turnaround migrate"):
        check_schema(conn, "the warehouse")


def test_a_load_before_migrate_makes_no_new_key(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    make_version_1(url, "kept-inside").dispose()
    monkeypatch.delenv("TURNAROUND_HASH_KEY")
    secrets = tmp_path / "secrets.toml"
    monkeypatch.setenv("TURNAROUND_SECRETS_FILE", str(secrets))
    with pytest.raises(LoadError, match="run `turnaround migrate`"):
        load_paths(url, [USERS_PAGE])  # the nightly job, before anyone migrated
    assert not secrets.exists()  # so migrate can still write the warehouse's own key
    assert migrate_warehouse(Warehouse.at(url), 30, None)[1] == SCHEMA_VERSION
    assert read_secrets_file(secrets) == "kept-inside"


def test_a_warehouse_with_ids_gets_no_new_key_when_its_own_is_missing(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    load_paths(url, [USERS_PAGE])  # made with the suite's key
    monkeypatch.delenv("TURNAROUND_HASH_KEY")
    secrets = tmp_path / "elsewhere" / "secrets.toml"
    monkeypatch.setenv("TURNAROUND_SECRETS_FILE", str(secrets))
    with pytest.raises(LoadError, match="restore that key"):
        load_paths(url, [TICKETS_PAGE])
    assert not secrets.exists()


def test_forget_an_email_needs_the_warehouses_own_key(any_engine, monkeypatch):
    load_paths(any_engine, [USERS_PAGE])
    warehouse = Warehouse.for_engine(any_engine)
    monkeypatch.setenv("TURNAROUND_HASH_KEY", "another-key")
    with pytest.raises(HashKeyError, match="not the key this warehouse's customer ids"):
        forget(warehouse, SANDBOX_EMAIL, LoadOptions())
    monkeypatch.delenv("TURNAROUND_HASH_KEY")
    with pytest.raises(HashKeyError, match="give the customer id instead"):
        forget(warehouse, SANDBOX_EMAIL, LoadOptions())
    assert not Path(os.environ["TURNAROUND_SECRETS_FILE"]).exists()  # no key was made up
    assert _count(any_engine, "customer_identities") == 100


def test_forget_erases_exactly_the_person_not_lookalike_ids(any_engine, tmp_path):
    nps = tmp_path / "nps.csv"
    nps.write_text(
        "response_id,customer_id,responded_at,score,comment\n"
        "r1,c1,2024-02-01,9,\nr2,c10,2024-02-01,8,\nr3,c1,2024-02-02,x,\nr4,c10,2024-02-02,y,\n"
        "r5,c10,2024-02-03,9,one,field,too,many\n"
    )
    load_paths(any_engine, [nps], LoadOptions(quarantine_limit=1.0))
    erased = forget(Warehouse.for_engine(any_engine), "c1", LoadOptions())
    assert (erased.counts["nps_responses"], erased.counts["quarantine"]) == (1, 1)
    with any_engine.connect() as conn:
        left = set(conn.execute(sa.text("select customer_id from quarantine")).scalars())
    assert left == {"c10"}  # c10's two quarantined rows (one of them ragged) stay


def test_forget_by_email_finds_a_person_known_by_an_external_id(any_engine, tmp_path):
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps(
            {
                "users": [
                    {"id": 51, "email": "Sam.Tanaka@Example.com", "external_id": "C000001"},
                    {"id": 52, "email": "kim@example.com", "external_id": "C000002"},
                ]
            }
        )
    )
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,signup_at,churned_at,segment,plan,region,mrr\n"
        "C000001,2023-01-01,,smb,pro,EU,10\nC000002,2023-01-01,,smb,pro,EU,10\n"
    )
    load_paths(any_engine, [users, customers])
    erased = forget(Warehouse.for_engine(any_engine), "sam.tanaka@example.com", LoadOptions())
    assert "C000001" in erased.customer_ids
    assert (erased.counts["customers"], erased.counts["customer_identities"]) == (1, 1)
    with any_engine.connect() as conn:
        assert list(conn.execute(sa.text("select customer_id from customers")).scalars()) == [
            "C000002"
        ]
