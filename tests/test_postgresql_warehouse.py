"""The command line against a real PostgreSQL warehouse: load, read, and writers taking turns
on the server's advisory lock."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.conftest import FIXTURES
from tests.postgres_server import fresh_database
from tests.processes import cli, hold_writer_lock, json_out
from turnaround.generate import generate


@pytest.fixture
def pg_url(pg_server):
    with fresh_database(pg_server) as url:
        yield url


def test_load_and_metrics_on_postgresql_match_duckdb(pg_url, tmp_path):
    exports = tmp_path / "exports"
    generate(exports, customers=300, seed=8, fmt="canonical")
    duck = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    for url in (pg_url, duck):
        loaded = cli("load", str(exports), "--warehouse", url, "--json")
        assert loaded.returncode == 0, loaded.stderr
        assert json_out(loaded)["rows_loaded"] == json_out(loaded)["rows_read"]
    on_pg = json_out(cli("metrics", "--json", "--warehouse", pg_url))
    on_duck = json_out(cli("metrics", "--json", "--warehouse", duck))
    assert on_pg["as_of"] == on_duck["as_of"]
    assert on_pg["kpis"].keys() == on_duck["kpis"].keys()
    for name, value in on_duck["kpis"].items():
        if value is None:  # measured only by sources canonical CSV does not have
            assert on_pg["kpis"][name] is None, name
            continue
        assert on_pg["kpis"][name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    runs = json.loads(cli("runs", "--json", "--warehouse", pg_url).stdout)
    assert (
        runs[0]["status"] == "succeeded" and runs[0]["files"] == 5
    )  # with groups.csv and agents.csv


def test_the_customers_csv_loads_into_postgresql(pg_url):
    customers = FIXTURES / "canonical" / "customers.csv"
    result = cli("load", str(customers), "--warehouse", pg_url, "--quarantine-limit", "0.5")
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from customers")).scalar() == 3
    engine.dispose()


def _advisory_lock_holder(conn) -> int:
    return conn.execute(
        sa.text("select pid from pg_locks where locktype = 'advisory' and granted")
    ).scalar()


@pytest.mark.concurrency
def test_a_second_load_on_postgresql_is_refused_naming_the_first(pg_url):
    assert (
        cli(
            "load", str(FIXTURES / "real/zendesk_api_users_page.json"), "--warehouse", pg_url
        ).returncode
        == 0
    )
    tickets = FIXTURES / "real" / "zendesk_api_tickets_page_offset.json"
    with hold_writer_lock(pg_url) as holder:
        holder.wait_for("holding")  # and holds until it is let go, once the load is refused
        refused = cli("load", str(tickets), "--warehouse", pg_url, "--wait", "1", "--json")
        assert refused.returncode == 1
        assert json_out(refused)["status"] == "refused"
        assert f"another load is running (pid {holder.pid}, turnaround load);" in refused.stderr
        engine = sa.create_engine(pg_url)  # what a database administrator sees of the holder
        with engine.connect() as conn:
            named = conn.execute(
                sa.text("select application_name from pg_stat_activity where pid = :pid"),
                {"pid": _advisory_lock_holder(conn)},
            ).scalar()
        engine.dispose()
        assert named == f"turnaround load pid={holder.pid}"
        statuses = [
            r["status"] for r in json.loads(cli("runs", "--json", "--warehouse", pg_url).stdout)
        ]
        assert statuses == ["refused", "succeeded"]  # recorded at once, beside the running load
        holder.let_go()
        holder.wait_for("released")
    assert cli("load", str(tickets), "--warehouse", pg_url).returncode == 0  # its turn now
