"""The README's PostgreSQL roles, run as written: the loader loads, the reader reads and
cannot write."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import FIXTURES
from tests.processes import cli, json_out

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "-- Turnaround on PostgreSQL: a loader role and a read-only role"


def _roles_sql() -> str:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return next(b for b in blocks if b.startswith(MARKER))


def _run_as_superuser(server: str, script: str) -> None:
    """The script as psql runs it: statements end with ';', ``\\connect DB`` switches."""
    database, statements = "postgres", []

    def flush() -> None:
        engine = sa.create_engine(f"{server}/{database}", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in " ".join(statements).split(";"):
                if statement.strip() and not statement.strip().startswith("--"):
                    conn.exec_driver_sql(statement)
        engine.dispose()
        statements.clear()

    for line in script.splitlines():
        if line.startswith("\\connect"):
            flush()
            database = line.split()[1]
        elif not line.startswith("--"):
            statements.append(line)
    flush()


def _drop(server: str) -> None:
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS turnaround WITH (FORCE)")
        conn.exec_driver_sql("DROP ROLE IF EXISTS turnaround_reader")
        conn.exec_driver_sql("DROP ROLE IF EXISTS turnaround_loader")
    engine.dispose()


def test_the_readme_roles_let_the_loader_write_and_the_reader_only_read(pg_server, tmp_path):
    host = pg_server.split("@", 1)[1]
    loader = f"postgresql+psycopg://turnaround_loader@{host}/turnaround"
    reader = f"postgresql+psycopg://turnaround_reader@{host}/turnaround"
    exports = FIXTURES / "canonical"
    _drop(pg_server)
    try:
        _run_as_superuser(pg_server, _roles_sql())
        loaded = cli(
            "load", str(exports), "--warehouse", loader, "--json", "--quarantine-limit", "1"
        )
        assert loaded.returncode == 0, loaded.stderr
        tickets = json_out(cli("metrics", "--json", "--warehouse", loader))["kpis"]
        read = cli("metrics", "--json", "--warehouse", reader)
        assert read.returncode == 0, read.stderr
        assert json_out(read)["kpis"] == tickets
        runs = cli("runs", "--json", "--warehouse", reader)
        assert runs.returncode == 0 and len(json_out(runs)) == 1, runs.stderr

        refused = cli(
            "load", str(exports), "--force", "--quarantine-limit", "1", "--warehouse", reader
        )
        assert refused.returncode == 1
        assert "permission denied" in refused.stderr and "Traceback" not in refused.stderr
        after = cli("runs", "--json", "--warehouse", loader)
        assert len(json_out(after)) == 1  # the reader wrote nothing, not even a run row

        engine = sa.create_engine(reader)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from tickets")).scalar() > 0
        engine.dispose()
    finally:
        _drop(pg_server)
